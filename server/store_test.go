package main

import (
	"context"
	"testing"
	"time"

	"hotrow/internal/clock"
	"hotrow/txn/pgstore"
)

// DSQL_ENDPOINT selects Aurora DSQL with the DSQL dialect; nothing connects
// until the first query, so this runs without a cluster. No endpoint and no
// DATABASE_URL selects the embedded store.
func TestOpenStoreSelection(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("DATABASE_URL", "")
	t.Setenv("DSQL_ENDPOINT", "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := parseServeConfig("serve", []string{"-dsql-endpoint", "abc123.dsql.us-east-1.on.aws", "-dsql-user", "hotrow"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(ctx, cfg, testLogger(t), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pg, ok := st.(*pgstore.Store)
	if !ok || st.Name() != "dsql" {
		t.Fatalf("store %T named %q, want the DSQL store", st, st.Name())
	}
	cc := pg.Pool().Config().ConnConfig
	if cc.Host != "abc123.dsql.us-east-1.on.aws" || cc.User != "hotrow" || cc.TLSConfig == nil || cc.TLSConfig.ServerName != cc.Host {
		t.Fatalf("DSQL connection config: host %q user %q tls %+v", cc.Host, cc.User, cc.TLSConfig)
	}

	if _, err := parseServeConfig("serve", []string{"-dsql-endpoint", "x.dsql.us-east-1.on.aws", "-database-url", "postgres://localhost/db"}); err == nil {
		t.Fatal("DATABASE_URL and DSQL_ENDPOINT together were accepted")
	}
	cfg, _ = parseServeConfig("serve", nil)
	st, err = openStore(ctx, cfg, testLogger(t), clock.Real{})
	if err != nil || st.Name() != "embedded" {
		t.Fatalf("default store %v %v, want embedded", st, err)
	}
}

// Pipelining is on unless HOTROW_DB_PIPELINE or -db-pipeline turns it off,
// for a database that refuses pipelines.
func TestDBPipelineSetting(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("DATABASE_URL", "")
	t.Setenv("DSQL_ENDPOINT", "abc123.dsql.us-east-1.on.aws")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		env  string
		args []string
		one  bool
	}{{"", nil, false}, {"false", nil, true}, {"", []string{"-db-pipeline=false"}, true}, {"false", []string{"-db-pipeline=true"}, false}} {
		t.Setenv("HOTROW_DB_PIPELINE", tc.env)
		cfg, err := parseServeConfig("serve", tc.args)
		if err != nil {
			t.Fatal(err)
		}
		st, err := openStore(ctx, cfg, testLogger(t), clock.Real{})
		if err != nil {
			t.Fatal(err)
		}
		if got := st.(*pgstore.Store).Options().OneStatementPerRoundTrip; got != tc.one {
			t.Errorf("HOTROW_DB_PIPELINE=%q %q: one statement per round trip %v, want %v", tc.env, tc.args, got, tc.one)
		}
		st.Close()
	}
	t.Setenv("HOTROW_DB_PIPELINE", "sometimes")
	if _, err := parseServeConfig("serve", nil); err == nil {
		t.Error("HOTROW_DB_PIPELINE=sometimes was accepted")
	}
}
