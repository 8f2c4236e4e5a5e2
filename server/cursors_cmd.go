package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"hotrow/rooms/cursors/dynamo"
)

// cursorsCommand is `hotrow cursors create-table`: it creates the DynamoDB
// table named by DYNAMODB_TABLE and turns TTL on for expires_at (safe to
// run again). On an endpoint without TTL (dynalite) it says so and still
// succeeds: the table works, expired items are filtered on read.
func cursorsCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create-table" {
		return errors.New("usage: hotrow cursors create-table [-dynamodb-table T] [-dynamodb-endpoint URL]")
	}
	cfg, err := parseServeConfig("cursors create-table", args[1:])
	if err != nil {
		return err
	}
	if cfg.DynamoTable == "" {
		return errors.New("cursors create-table needs DYNAMODB_TABLE (or -dynamodb-table)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	client, err := dynamo.NewClient(ctx, dynamo.ClientConfig{Endpoint: cfg.DynamoEndpoint, Region: cfg.awsRegion()})
	if err != nil {
		return fmt.Errorf("configuring DynamoDB: %w", err)
	}
	created, err := dynamo.CreateTable(ctx, client, cfg.DynamoTable)
	if err != nil {
		return fmt.Errorf("creating table %s: %w", cfg.DynamoTable, err)
	}
	if created {
		fmt.Fprintf(stdout, "created table %s (partition key room#shard, sort key member)\n", cfg.DynamoTable)
	} else {
		fmt.Fprintf(stdout, "table %s already exists\n", cfg.DynamoTable)
	}
	switch res, err := dynamo.EnsureTTL(ctx, client, cfg.DynamoTable); {
	case errors.Is(err, dynamo.ErrTTLUnsupported):
		fmt.Fprintf(stderr, "warning: TTL not turned on: %v\n", dynamo.ErrTTLUnsupported)
	case err != nil:
		return fmt.Errorf("turning TTL on: %w", err)
	case res == dynamo.TTLTurnedOn:
		fmt.Fprintf(stdout, "turned TTL on for %s.%s (DynamoDB finishes within the hour)\n", cfg.DynamoTable, dynamo.AttrExpiresAt)
	default:
		fmt.Fprintf(stdout, "TTL already on for %s.%s\n", cfg.DynamoTable, dynamo.AttrExpiresAt)
	}
	return nil
}
