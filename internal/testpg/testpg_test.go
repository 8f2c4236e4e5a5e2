package testpg

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestConnectCreateTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := connect(t, DSN(t))

	var version string
	if err := conn.QueryRow(ctx, "SHOW server_version_num").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < "150000" || version >= "160000" {
		t.Errorf("server_version_num = %s, want PostgreSQL 15", version)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE bids (id BIGINT PRIMARY KEY, cents BIGINT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO bids VALUES (1, 1050), (2, 1100)"); err != nil {
		t.Fatal(err)
	}
	var max int64
	if err := conn.QueryRow(ctx, "SELECT max(cents) FROM bids").Scan(&max); err != nil {
		t.Fatal(err)
	}
	if max != 1100 {
		t.Errorf("max(cents) = %d, want 1100", max)
	}
	if _, err := os.Stat(filepath.Join(shared.dir, ".s.PGSQL."+strconv.Itoa(shared.port))); err != nil {
		t.Errorf("unix socket missing: %v", err)
	}
	for setting, want := range map[string]string{"fsync": "off", "max_connections": "200", "listen_addresses": "127.0.0.1"} {
		var got string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
}

func TestTwoDSNsAreDifferentEmptyDatabases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn1, dsn2 := DSN(t), DSN(t)
	if dsn1 == dsn2 {
		t.Fatalf("DSN returned %q twice", dsn1)
	}
	c1, c2 := connect(t, dsn1), connect(t, dsn2)

	var db1, db2 string
	if err := c1.QueryRow(ctx, "SELECT current_database()").Scan(&db1); err != nil {
		t.Fatal(err)
	}
	if err := c2.QueryRow(ctx, "SELECT current_database()").Scan(&db2); err != nil {
		t.Fatal(err)
	}
	if db1 == db2 {
		t.Fatalf("both DSNs connect to database %q", db1)
	}

	if _, err := c1.Exec(ctx, "CREATE TABLE only_in_one (x int)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c2.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("second database has %d public tables, want 0 (not isolated from the first)", n)
	}
}

func TestDatabaseDroppedAfterTest(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		conn := connect(t, DSN(t))
		if err := conn.QueryRow(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		// conn is still open here: the cleanup's DROP ... WITH (FORCE) must cope.
	})
	if name == "" {
		t.Skip("inner test did not run")
	}
	conn := connect(t, shared.dsn("postgres"))
	var exists bool
	ctx := context.Background()
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestDBName(t *testing.T) {
	a, b := dbName("TestX/sub case-1"), dbName("TestX/sub case-1")
	if a == b {
		t.Errorf("dbName not unique: %q", a)
	}
	long := dbName(string(make([]byte, 200)) + "TestVeryLongName" + string(make([]rune, 100)))
	if len(long) > 63 {
		t.Errorf("dbName too long (%d): %q", len(long), long)
	}
}
