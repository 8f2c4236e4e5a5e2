package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotrow/internal/clock"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/rooms/cursors"
	"hotrow/rooms/cursors/dynamo"
	"hotrow/rooms/schema"
	"hotrow/txn/dsql"
	"hotrow/txn/memstore"
	"hotrow/txn/pgstore"
)

// store is what the server needs of a store: the room event log and each
// room kind's tables.
type store interface {
	rooms.Log
	auction.Provider
	schema.Provider
	Ping(ctx context.Context) error
	Close()
	Name() string
}

// openStore picks the store from the configuration: Aurora DSQL when
// DSQL_ENDPOINT is set, PostgreSQL when DATABASE_URL is, else the embedded
// store. It says which in the log.
func openStore(ctx context.Context, c config, log *slog.Logger, clk clock.Clock) (store, error) {
	switch {
	case c.DSQLEndpoint != "":
		pc, err := dsql.PoolConfig(ctx, dsql.Config{Endpoint: c.DSQLEndpoint, Region: c.AWSRegion, RegionSource: c.AWSRegionSource,
			Addr: c.DSQLDialAddr, User: c.DSQLUser, ApplicationName: "hotrow/" + version})
		if err != nil {
			return nil, fmt.Errorf("configuring Aurora DSQL: %w", err)
		}
		pool, err := pgxpool.NewWithConfig(ctx, pc)
		if err != nil {
			return nil, fmt.Errorf("connecting to Aurora DSQL at %s: %w", c.DSQLEndpoint, err)
		}
		s := pgstore.New(pool, pgstore.DSQL).WithOptions(c.storeOptions())
		log.Info("store: Aurora DSQL", "endpoint", c.DSQLEndpoint, "user", c.DSQLUser, "region", c.awsRegion(), "dial", c.DSQLDialAddr,
			"pipeline", c.DBPipeline)
		return s, migrateIfAsked(ctx, c, s, log)
	case c.DatabaseURL != "":
		s, err := pgstore.Open(ctx, c.DatabaseURL)
		if err != nil {
			return nil, err
		}
		s = s.WithOptions(c.storeOptions())
		cc := s.Pool().Config().ConnConfig
		log.Info("store: PostgreSQL", "host", cc.Host, "database", cc.Database, "pipeline", c.DBPipeline)
		return s, migrateIfAsked(ctx, c, s, log)
	default:
		log.Info("store: embedded (in memory, this process only; set DATABASE_URL for PostgreSQL)")
		return memstore.New(clk), nil
	}
}

// storeOptions are the PostgreSQL/DSQL store's settings.
func (c config) storeOptions() pgstore.Options {
	return pgstore.Options{OneStatementPerRoundTrip: !c.DBPipeline}
}

func migrateIfAsked(ctx context.Context, c config, s *pgstore.Store, log *slog.Logger) error {
	if !c.Migrate {
		return nil
	}
	if err := s.Migrate(ctx, log); err != nil {
		s.Close()
		return fmt.Errorf("migrating: %w", err)
	}
	return nil
}

// openCursorStore picks where cursors live: DynamoDB when DYNAMODB_TABLE is
// set (endpoint from DYNAMODB_ENDPOINT or the SDK's own variables,
// credentials from the default chain), else in memory.
func openCursorStore(ctx context.Context, c config, log *slog.Logger) (cursors.Store, error) {
	if c.DynamoTable == "" {
		log.Info("cursors: embedded (in memory; set DYNAMODB_TABLE to share them between hubs)")
		return cursors.NewMemStore(), nil
	}
	client, err := dynamo.NewClient(ctx, dynamo.ClientConfig{Endpoint: c.DynamoEndpoint, Region: c.awsRegion()})
	if err != nil {
		return nil, fmt.Errorf("configuring DynamoDB for cursors: %w", err)
	}
	log.Info("cursors: DynamoDB", "table", c.DynamoTable, "endpoint", c.DynamoEndpoint, "shards", c.DynamoShards)
	return dynamo.New(client, c.DynamoTable).WithShards(c.DynamoShards), nil
}

// awsRegion is the region for AWS clients other than DSQL's: -region,
// AWS_REGION or AWS_DEFAULT_REGION, else the DSQL endpoint's.
func (c config) awsRegion() string {
	if c.AWSRegion != "" {
		return c.AWSRegion
	}
	return dsql.RegionOf(c.DSQLEndpoint)
}
