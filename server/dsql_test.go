package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hotrow/internal/clock"
	"hotrow/internal/dsqldouble"
	"hotrow/txn/pgstore"
)

// The DSQL path through the test double of a cluster (internal/dsqldouble):
// hubs and hotrow migrate configured as for a real cluster (DSQL_ENDPOINT,
// IAM tokens from static credentials, TLS verify-full), dialling the
// double's loopback address, which answers as a recorded cluster does.

// useDouble points this process's AWS credentials and trusted CA at d, as
// d.Env does for a child process, and returns the hub configuration.
func useDouble(t testing.TB, d *dsqldouble.Double, hubID string) config {
	t.Helper()
	for _, kv := range d.Env(t) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("DATABASE_URL", "")
	cfg, err := parseServeConfig("serve", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HubID = hubID
	cfg.MaxAttempts, cfg.PollInterval, cfg.ShutdownTimeout = 10, 50*time.Millisecond, 5*time.Second
	return cfg
}

// dsqlHub starts a hub on the double as `hotrow serve` would open its
// store, migrating first.
func dsqlHub(t *testing.T, d *dsqldouble.Double, hubID string) *testHub {
	t.Helper()
	cfg := useDouble(t, d, hubID)
	cfg.Migrate = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := openStore(ctx, cfg, testLogger(t), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if st.Name() != "dsql" {
		t.Fatalf("store %q, want dsql", st.Name())
	}
	return startHub(t, st, hubID)
}

// 300 bidders on two hubs of one DSQL cluster: conflicts between the hubs
// surface at COMMIT as OC000 and are retried, and every invariant holds.
func TestLoadTwoHubsOnTheDSQLDouble(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	a := dsqlHub(t, d, "dsql-a")
	b := dsqlHub(t, d, "dsql-b")
	rep := runLoad(t, []string{a.url, b.url}, 300)
	if rep.Accepted < 2 {
		t.Fatalf("only %d bids accepted: the test proves nothing", rep.Accepted)
	}
	oc000 := conflictsWithCode(t, a.app, "OC000") + conflictsWithCode(t, b.app, "OC000")
	all := counterSum(t, a.app, "hotrow_txn_conflicts_total") + counterSum(t, b.app, "hotrow_txn_conflicts_total")
	t.Logf("conflicts %v (OC000 %v), accepted %d, max attempts %d, round trips %d", all, oc000, rep.Accepted, rep.MaxAttempts, d.RoundTrips())
	if oc000 == 0 {
		t.Fatalf("no OC000 conflicts between the two hubs (%v conflicts in all): DSQL's race was not exercised", all)
	}
	var apps []string
	for _, s := range d.Sessions() {
		apps = append(apps, s.ApplicationName)
	}
	if !strings.HasPrefix(apps[len(apps)-1], "hotrow/") {
		t.Errorf("application_name %q, want hotrow/<version>", apps[len(apps)-1])
	}
}

func conflictsWithCode(t *testing.T, a *app, code string) float64 {
	t.Helper()
	mfs, err := a.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "hotrow_txn_conflicts_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" && l.GetValue() == code {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// Three `hotrow migrate` processes started at the same moment against one
// cluster all exit 0 and leave one schema.
func TestMigrateThreeProcessesOnTheDSQLDouble(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{SchemaSettle: 20 * time.Millisecond})
	env := childEnv(d.Env(t))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	type proc struct {
		cmd *exec.Cmd
		out bytes.Buffer
	}
	procs := make([]*proc, 3)
	for i := range procs {
		p := &proc{cmd: exec.CommandContext(ctx, os.Args[0], "migrate", "-log-level", "debug")}
		p.cmd.Env = env
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
		procs[i] = p
	}
	var wg sync.WaitGroup
	errs := make([]error, len(procs))
	for i, p := range procs {
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = p.cmd.Wait() }()
	}
	wg.Wait()
	retries := 0
	for i, p := range procs {
		retries += strings.Count(p.out.String(), "txn retry")
		if errs[i] != nil {
			t.Errorf("hotrow migrate %d: %v\n%s", i, errs[i], p.out.String())
		}
	}
	if t.Failed() {
		return
	}
	t.Logf("retries in all: %d", retries)

	cfg := useDouble(t, d, "check")
	st, err := openStore(ctx, cfg, testLogger(t), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pg := st.(*pgstore.Store)
	var tables, records, indexes int
	if err := pg.Pool().QueryRow(ctx, `SELECT
        (SELECT count(*) FROM pg_tables WHERE schemaname = 'public'),
        (SELECT count(*) FROM hotrow_migrations),
        (SELECT count(*) FROM pg_indexes WHERE indexname IN ('auctions_created_at', 'applied_room_version'))`).Scan(&tables, &records, &indexes); err != nil {
		t.Fatal(err)
	}
	if tables != 12 || records != len(pgstore.Migrations) || indexes != 2 {
		t.Fatalf("after three migrates: %d tables, %d migrations recorded, %d indexes; want 12, %d, 2", tables, records, indexes, len(pgstore.Migrations))
	}
}

// childEnv is this process's environment without what could point a child
// at another database or AWS account, plus extra and runMainEnv.
func childEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "PG") || strings.HasPrefix(k, "DSQL_") ||
			k == "DATABASE_URL" || strings.HasPrefix(k, "HOTROW_") {
			continue
		}
		env = append(env, kv)
	}
	return append(append(env, extra...), runMainEnv+"=1")
}

// The DSQL connection settings: the region comes from the endpoint; a
// region set elsewhere that disagrees is a start-up error naming where it
// was set; AWS_DEFAULT_REGION is honoured; application_name says
// hotrow/<version>; DynamoDB gets the region too.
func TestDSQLConnectionSettings(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": filepath.Join(dir, "c"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "s"), "DATABASE_URL": "", "DSQL_ENDPOINT": "",
		"AWS_REGION": "", "AWS_DEFAULT_REGION": ""} {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open := func(args ...string) (*pgstore.Store, error) {
		cfg, err := parseServeConfig("serve", args)
		if err != nil {
			return nil, err
		}
		st, err := openStore(ctx, cfg, testLogger(t), clock.Real{})
		if err != nil {
			return nil, err
		}
		t.Cleanup(st.Close)
		return st.(*pgstore.Store), nil
	}
	const ep = "abc123.dsql.us-east-1.on.aws"
	for _, tc := range []struct{ env, value, flag, source string }{
		{"AWS_REGION", "eu-west-1", "", "AWS_REGION"},
		{"AWS_DEFAULT_REGION", "eu-west-1", "", "AWS_DEFAULT_REGION"},
		{"", "", "eu-west-1", "-region"},
	} {
		if tc.env != "" {
			t.Setenv(tc.env, tc.value)
		}
		args := []string{"-dsql-endpoint", ep}
		if tc.flag != "" {
			args = append(args, "-region", tc.flag)
		}
		_, err := open(args...)
		if err == nil || !strings.Contains(err.Error(), tc.source) || !strings.Contains(err.Error(), "us-east-1") {
			t.Errorf("%s disagreeing with the endpoint: %v, want an error naming it", tc.source, err)
		}
		if tc.env != "" {
			t.Setenv(tc.env, "")
		}
	}

	t.Setenv("AWS_REGION", "us-east-1") // agrees: fine
	st, err := open("-dsql-endpoint", ep)
	if err != nil {
		t.Fatal(err)
	}
	cc := st.Pool().Config().ConnConfig
	if got := cc.RuntimeParams["application_name"]; got != "hotrow/"+version {
		t.Errorf("application_name %q, want hotrow/%s", got, version)
	}
	if st.Pool().Config().MaxConnIdleTime <= 0 {
		t.Error("no idle timeout")
	}

	// An endpoint that does not name its region takes AWS_DEFAULT_REGION.
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "eu-west-2")
	st, err = open("-dsql-endpoint", "db.example.internal", "-dsql-dial-addr", "127.0.0.1:15432")
	if err != nil {
		t.Fatal(err)
	}
	c := st.Pool().Config().ConnConfig.Copy()
	if err := st.Pool().Config().BeforeConnect(ctx, c); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Password, "%2Feu-west-2%2Fdsql%2F") || c.Host != "127.0.0.1" || c.Port != 15432 {
		t.Errorf("token %q dialling %s:%d, want one signed for eu-west-2 dialling 127.0.0.1:15432", c.Password, c.Host, c.Port)
	}
	cfg, _ := parseServeConfig("serve", []string{"-dsql-endpoint", "x.dsql.ap-south-1.on.aws"})
	if got := cfg.awsRegion(); got != "eu-west-2" {
		t.Errorf("DynamoDB region %q, want AWS_DEFAULT_REGION's eu-west-2", got)
	}
	t.Setenv("AWS_DEFAULT_REGION", "")
	cfg, _ = parseServeConfig("serve", []string{"-dsql-endpoint", "x.dsql.ap-south-1.on.aws"})
	if got := cfg.awsRegion(); got != "ap-south-1" {
		t.Errorf("DynamoDB region %q, want the DSQL endpoint's ap-south-1", got)
	}
}
