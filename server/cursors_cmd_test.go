package main

import (
	"bytes"
	"strings"
	"testing"

	"hotrow/internal/testdynalite"
)

// `hotrow cursors create-table` creates the table once and is safe to run
// again; without a table name it says what is missing.
func TestCursorsCreateTableCommand(t *testing.T) {
	d := testdynalite.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", "us-east-1")
	args := []string{"cursors", "create-table", "-dynamodb-table", "hotrow-cursors", "-dynamodb-endpoint", d.Endpoint()}
	for i, want := range []string{"created table hotrow-cursors", "already exists"} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 0 || !strings.Contains(out.String(), want) {
			t.Fatalf("run %d: exit %d, out %q, err %q; want %q", i+1, code, out.String(), errOut.String(), want)
		}
		// dynalite has no TTL calls: the command says so plainly and
		// still succeeds.
		if !strings.Contains(errOut.String(), "warning: TTL not turned on") || !strings.Contains(errOut.String(), "dynalite") {
			t.Fatalf("run %d: stderr %q, want the warning that this endpoint lacks TTL", i+1, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	t.Setenv("DYNAMODB_TABLE", "")
	if code := run([]string{"cursors", "create-table"}, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), "DYNAMODB_TABLE") {
		t.Fatalf("without a table: exit %d, %q", code, errOut.String())
	}
}
