package pgstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/txn"
	"hotrow/txn/pgstore"
)

// ImportBids writes exactly what the real path commits: bids through the
// auction engine on one database, the same bids (with the times the real
// transactions read) imported into another, and every row of events,
// bids, applied, auctions and rooms compared.
func TestImportBidsWritesWhatHubsCommit(t *testing.T) {
	ctx := context.Background()
	real, bulk := openStore(t), openStore(t)
	deps := rooms.Deps{Runner: &txn.Runner{Policy: txn.Policy{MaxAttempts: 5, BaseDelay: time.Millisecond}}}
	created := time.Now().UTC().Truncate(time.Microsecond).Add(-time.Minute)
	ends := created.Add(time.Hour)
	for _, st := range []*pgstore.Store{real, bulk} {
		if _, err := auction.NewService(st.Auctions(), deps).Create(ctx, auction.CreateRequest{ID: "eq", Title: "Equivalence",
			StartingPrice: "1.00", Increment: "0.01", StartsAt: &created, EndsAt: &ends, AntiSnipeWindowS: new(int), AntiSnipeExtendS: new(int)}, "seller"); err != nil {
			t.Fatal(err)
		}
	}
	// The created rows differ only in their clock: make them the same.
	for _, q := range []string{`UPDATE auctions SET created_at = $1`, `UPDATE rooms SET created_at = $1`, `UPDATE events SET at = $1`} {
		for _, st := range []*pgstore.Store{real, bulk} {
			if _, err := st.Pool().Exec(ctx, q, created); err != nil {
				t.Fatal(err)
			}
		}
	}
	const n = 150
	input := func(i int) pgstore.BidInput {
		return pgstore.BidInput{Bidder: fmt.Sprintf("u%d", i%7), MsgID: fmt.Sprintf("m%d", i), Amount: auction.Cents(100 + 3*i)}
	}
	eng := auction.RoomKind(real.Auctions(), deps).New("eq")
	if _, err := eng.Load(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		in := input(i)
		amount, _ := json.Marshal(in.Amount.String())
		out := eng.Apply(ctx, &rooms.Mutation{Op: "bid", ID: in.MsgID, User: in.Bidder, Payload: amount})
		if out.Reject != nil || out.Attempts != 1 {
			t.Fatalf("bid %d: %+v %v", i, out, out.Reject)
		}
		eng.Observe(*out.Event)
	}
	bids, err := real.Auctions().Bids(ctx, "eq")
	if err != nil || len(bids) != n {
		t.Fatalf("%d bids %v", len(bids), err)
	}
	a, v, err := bulk.ImportBids(ctx, "eq", n, func(i int) pgstore.BidInput {
		in := input(i)
		in.At = bids[i].At // the database's clock in the real transaction
		return in
	})
	if err != nil || v != n+1 {
		t.Fatalf("import: v%d %v", v, err)
	}
	if want, _, _ := real.Auctions().Get(ctx, "eq"); a != want {
		t.Fatalf("import returned %+v, the real path left %+v", a, want)
	}
	for _, q := range []string{
		`SELECT room, version, kind, by_user, at, data, state FROM events ORDER BY room, version`,
		`SELECT auction_id, version, amount, bidder, at, msg_id FROM bids ORDER BY auction_id, version`,
		`SELECT room, user_id, msg_id, version, attempts FROM applied ORDER BY room, version`,
		`SELECT * FROM auctions ORDER BY id`,
		`SELECT * FROM rooms ORDER BY room`,
	} {
		want, got := rows(t, real, q), rows(t, bulk, q)
		if len(want) == 0 || !reflect.DeepEqual(got, want) {
			for i := range min(len(got), len(want)) {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("%s\nrow %d imported: %v\n     committed: %v", q, i, got[i], want[i])
				}
			}
			t.Fatalf("%s: %d rows imported, %d committed", q, len(got), len(want))
		}
	}
	// A rule's refusal imports nothing.
	if _, _, err := bulk.ImportBids(ctx, "eq", 1, func(int) pgstore.BidInput {
		return pgstore.BidInput{Bidder: "x", MsgID: "low", Amount: 1, At: time.Now()}
	}); err == nil {
		t.Fatal("a bid below the minimum was imported")
	}
	if _, v, _ := bulk.Auctions().Get(ctx, "eq"); v != n+1 {
		t.Fatalf("version %d after a refused import", v)
	}
}

func rows(t *testing.T, st *pgstore.Store, q string) [][]any {
	t.Helper()
	r, err := st.Pool().Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(r, func(row pgx.CollectableRow) ([]any, error) { return row.Values() })
	if err != nil {
		t.Fatal(err)
	}
	return out
}
