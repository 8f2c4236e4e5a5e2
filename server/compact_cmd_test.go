package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"hotrow/internal/dsqldouble"
	"hotrow/internal/testkit"
	"hotrow/internal/testpg"
	"hotrow/rooms"
)

// hotrow compact against PostgreSQL, beside a live hub: old events go,
// the newest stay, and the hub's resend of the first bid still gets its ack.
func TestCompactCommandPostgres(t *testing.T) {
	dsn := testpg.DSN(t)
	st := pgStore(t, dsn)
	compactBesideAHub(t, startHub(t, st, "pg-a"), st, "-database-url", dsn)
}

// The same through the DSQL test double, configured as for a cluster: the
// deletes, reads and summary saves are what DSQL accepts, within its
// limits.
func TestCompactCommandOnTheDSQLDouble(t *testing.T) {
	d := dsqldouble.New(t, dsqldouble.Options{})
	h := dsqlHub(t, d, "dsql-a")
	compactBesideAHub(t, h, h.app.store)
}

func compactBesideAHub(t *testing.T, h *testHub, log rooms.Log, store ...string) {
	t.Helper()
	createAuction(t, h.url, `{"id":"c","title":"Compact","starting_price":"1.00","increment":"1.00"}`)
	c := testkit.Dial(t, h.url, "alice")
	var first map[string]any
	for i := 0; i < 12; i++ {
		c.Send(map[string]any{"type": "bid", "room": "auction:c", "id": fmt.Sprint("b", i), "amount": fmt.Sprintf("%d.00", i+1)})
		ack := c.Until("ack")
		if i == 0 {
			first = ack
		}
	} // version 13

	var out, errw bytes.Buffer
	args := append([]string{"compact", "-keep-events", "3", "-keep-for", "0", "-batch", "4", "-log-level", "error"}, store...)
	if code := run(args, &out, &errw); code != 0 {
		t.Fatalf("hotrow compact exited %d: %s %s", code, out.String(), errw.String())
	}
	if !strings.Contains(out.String(), "10 events deleted in 3 transactions (at most 4 rows each)") {
		t.Fatalf("hotrow compact said %q", out.String())
	}
	evs, err := log.EventsAfter(context.Background(), "auction:c", 0, 13)
	if err != nil || len(evs) != 3 || evs[0].Version != 11 {
		t.Fatalf("events left: %d (%v), want 11..13", len(evs), err)
	}
	c.Send(map[string]any{"type": "bid", "room": "auction:c", "id": "b0", "amount": "1.00"})
	if again := c.Until("ack"); again["version"] != first["version"] || again["attempts"] != first["attempts"] {
		t.Fatalf("resend after compaction = %v, first ack %v", again, first)
	}
	out.Reset()
	if code := run(args, &out, &errw); code != 0 || !strings.Contains(out.String(), " 0 events deleted") {
		t.Fatalf("second run: exit %d, %q", code, out.String())
	}
	if code := run([]string{"compact", "-batch", "3001", "-database-url", "", "-dsql-endpoint", ""}, &out, &errw); code == 0 {
		t.Fatal("compact without a database succeeded")
	}
}
