package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"hotrow/rooms"
	"hotrow/rooms/auction"
)

// Auctions returns the store as auction.Store.
func (s *Store) Auctions() auction.Store { return auctionStore{s, s} }

// auctionStore is the store as auction.Store; the idempotency records are
// the Store's own.
type auctionStore struct {
	rooms.AppliedStore
	s *Store
}

// auctionTx is a transaction of one auction.
type auctionTx struct {
	baseTx
	r *auctionRead
}

// Attempt implements auction.Store: BEGIN, key's idempotency record, the
// auction with its room version and the database's clock in the first
// round trip; the writes and COMMIT in the second.
func (a auctionStore) Attempt(ctx context.Context, id string, key rooms.Key, fn func(auction.Tx) error) error {
	tx := &auctionTx{r: &auctionRead{}}
	reads := []*pgx.Batch{appliedRead(key, &tx.prior), tx.r.batch(id)}
	return a.s.transact(ctx, reads, func(w *writes) error {
		tx.w, tx.now = w, tx.r.now
		return fn(tx)
	})
}

// auctionRead is an auction, its room version and the database's clock,
// read in one statement.
type auctionRead struct {
	a   auction.Auction
	v   int64
	now time.Time
	err error // rooms.ErrNotFound when there is no such auction
}

func (r *auctionRead) batch(id string) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(`SELECT `+auctionColumns+`, r.version, clock_timestamp()
        FROM auctions a JOIN rooms r ON r.room = $2 WHERE a.id = $1`, id, auction.Room(id)).
		QueryRow(func(row pgx.Row) error {
			a, err := scanAuction(row, &r.v, &r.now)
			if errors.Is(err, pgx.ErrNoRows) {
				r.err = fmt.Errorf("auction %s: %w", id, rooms.ErrNotFound)
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading auction %s: %w", id, err)
			}
			r.a, r.now = a, r.now.UTC()
			return nil
		})
	return b
}

const auctionColumns = `a.id, a.title, a.starting_price, a.increment, a.current_bid, a.leader, a.bids,
    a.starts_at, a.ends_at, a.anti_snipe_window_s, a.anti_snipe_extend_s, a.closed, a.winner, a.final_price, a.created_at`

func scanAuction(row pgx.Row, extra ...any) (auction.Auction, error) {
	var a auction.Auction
	var win, ext int
	dest := append([]any{&a.ID, &a.Title, &a.StartingPrice, &a.Increment, &a.CurrentBid, &a.Leader, &a.Bids,
		&a.StartsAt, &a.EndsAt, &win, &ext, &a.Closed, &a.Winner, &a.FinalPrice, &a.CreatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return a, err
	}
	a.AntiSnipeWindow, a.AntiSnipeExtend = time.Duration(win)*time.Second, time.Duration(ext)*time.Second
	a.StartsAt, a.EndsAt, a.CreatedAt = a.StartsAt.UTC(), a.EndsAt.UTC(), a.CreatedAt.UTC()
	return a, nil
}

func (a auctionStore) Get(ctx context.Context, id string) (auction.Auction, int64, error) {
	var (
		out auction.Auction
		v   int64
	)
	// One statement: a snapshot of its own.
	r := &auctionRead{}
	if err := a.s.pool.SendBatch(ctx, r.batch(id)).Close(); err != nil {
		return out, v, err
	}
	return r.a, r.v, r.err
}

func (a auctionStore) List(ctx context.Context) ([]auction.Auction, error) {
	rows, err := a.s.pool.Query(ctx, `SELECT `+auctionColumns+` FROM auctions a ORDER BY a.created_at DESC, a.id`)
	if err != nil {
		return nil, fmt.Errorf("listing auctions: %w", err)
	}
	defer rows.Close()
	var out []auction.Auction
	for rows.Next() {
		x, err := scanAuction(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

func (a auctionStore) Bids(ctx context.Context, id string) ([]auction.Bid, error) {
	rows, err := a.s.pool.Query(ctx, `SELECT version, amount, bidder, at, msg_id FROM bids WHERE auction_id = $1 ORDER BY version`, id)
	if err != nil {
		return nil, fmt.Errorf("listing bids of %s: %w", id, err)
	}
	defer rows.Close()
	var out []auction.Bid
	for rows.Next() {
		b := auction.Bid{AuctionID: id}
		if err := rows.Scan(&b.Version, &b.Amount, &b.Bidder, &b.At, &b.MsgID); err != nil {
			return nil, err
		}
		b.At = b.At.UTC()
		out = append(out, b)
	}
	return out, rows.Err()
}

// Load implements auction.Tx.
func (t *auctionTx) Load() (auction.Auction, int64, error) { return t.r.a, t.r.v, t.r.err }

// SaveBid implements auction.Tx: queued for the COMMIT's round trip.
func (t *auctionTx) SaveBid(_ context.Context, a auction.Auction, b auction.Bid, ev rooms.Event, applied rooms.Applied) error {
	queueAppend(t.w, ev)
	t.w.queue(writeStmt{check: expectOne("updating auction " + a.ID)},
		`UPDATE auctions SET current_bid = $2, leader = $3, bids = $4, ends_at = $5 WHERE id = $1`,
		a.ID, int64(a.CurrentBid), a.Leader, a.Bids, a.EndsAt)
	t.w.queue(writeStmt{}, `INSERT INTO bids (auction_id, version, amount, bidder, at, msg_id) VALUES ($1, $2, $3, $4, $5, $6)`,
		a.ID, b.Version, int64(b.Amount), b.Bidder, b.At, b.MsgID)
	queueApplied(t.w, ev.Room, b.Bidder, b.MsgID, applied)
	return nil
}

// SaveClose implements auction.Tx: queued for the COMMIT's round trip.
func (t *auctionTx) SaveClose(_ context.Context, a auction.Auction, ev rooms.Event) error {
	queueAppend(t.w, ev)
	t.w.queue(writeStmt{check: expectOne("closing auction " + a.ID)},
		`UPDATE auctions SET closed = $2, winner = $3, final_price = $4 WHERE id = $1`,
		a.ID, a.Closed, a.Winner, int64(a.FinalPrice))
	return nil
}

// Create implements auction.Tx: queued for the COMMIT's round trip; a
// taken id fails it with rooms.ErrExists.
func (t *auctionTx) Create(_ context.Context, a auction.Auction, ev rooms.Event) error {
	exists := writeStmt{refused: created("auction", a.ID)}
	t.w.queue(exists, `INSERT INTO rooms (room, kind, version, created_at) VALUES ($1, 'auction', 1, $2)`, ev.Room, a.CreatedAt)
	t.w.queue(exists, `INSERT INTO events (room, version, kind, by_user, at, data, state) VALUES ($1, 1, $2, $3, $4, $5, $6)`,
		ev.Room, ev.Kind, ev.By, ev.At, string(ev.Data), nullable(ev.State))
	t.w.queue(exists, `INSERT INTO auctions (id, title, starting_price, increment, current_bid, leader, bids, starts_at, ends_at,
        anti_snipe_window_s, anti_snipe_extend_s, closed, winner, final_price, created_at)
        VALUES ($1, $2, $3, $4, 0, '', 0, $5, $6, $7, $8, false, '', 0, $9)`,
		a.ID, a.Title, int64(a.StartingPrice), int64(a.Increment), a.StartsAt, a.EndsAt,
		int(a.AntiSnipeWindow/time.Second), int(a.AntiSnipeExtend/time.Second), a.CreatedAt)
	return nil
}
