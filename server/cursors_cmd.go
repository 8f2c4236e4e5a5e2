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
// table named by DYNAMODB_TABLE (safe to run again). Turning on TTL on
// expires_at is a deploy step (see the README).
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
		fmt.Fprintf(stdout, "created table %s (partition key room, sort key member); now enable TTL on expires_at\n", cfg.DynamoTable)
	} else {
		fmt.Fprintf(stdout, "table %s already exists\n", cfg.DynamoTable)
	}
	return nil
}
