package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"hotrow/hub/wire"
	"hotrow/internal/clock"
	"hotrow/rooms"
	"hotrow/rooms/auction"
	"hotrow/txn"
)

// auctionAPI serves /api/auctions.
type auctionAPI struct {
	store  auction.Store
	rooms  *rooms.Registry
	runner *txn.Runner
	clock  clock.Clock
	log    *slog.Logger
	newID  func() string
}

func (a *auctionAPI) register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/auctions", a.create)
	mux.HandleFunc("GET /api/auctions", a.list)
	mux.HandleFunc("GET /api/auctions/{id}", a.get)
	mux.HandleFunc("GET /api/auctions/{id}/bids", a.bids)
}

func (a *auctionAPI) create(w http.ResponseWriter, r *http.Request) {
	var req auction.CreateRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	now := a.clock.Now()
	created, err := auction.Create(r.Context(), a.store, a.runner, req, "http", now, a.newID)
	var fe *auction.FieldError
	switch {
	case errors.As(err, &fe):
		writeError(w, badRequest("%s", fe.Error()))
	case errors.Is(err, auction.ErrExists):
		writeError(w, &apiError{http.StatusConflict, "conflict", "an auction with id " + created.ID + " already exists"})
	case err != nil:
		a.log.Error("creating auction failed", "err", err)
		writeError(w, &apiError{http.StatusServiceUnavailable, wire.CodeUnavailable, "the auction could not be stored; try again"})
	default:
		w.Header().Set("Location", "/api/auctions/"+created.ID)
		writeJSON(w, http.StatusCreated, created.StateAt(now))
	}
}

// get answers with the room's state; an auction past its end is closed
// first (close-on-read), so the answer never shows a stale open auction.
func (a *auctionAPI) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !auction.ValidID(id) {
		writeError(w, badRequest("auction id must be 1-64 characters of A-Z, a-z, 0-9, _ and -"))
		return
	}
	state, apiErr := a.snapshot(r.Context(), id)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, state)
}

func (a *auctionAPI) snapshot(ctx context.Context, id string) (any, *apiError) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, state, err := a.rooms.Snapshot(ctx, auction.Room(id))
	switch {
	case errors.Is(err, rooms.ErrNotFound):
		return nil, notFound("auction %s does not exist", id)
	case err != nil:
		a.log.Warn("reading auction failed", "auction", id, "err", err)
		return nil, &apiError{http.StatusServiceUnavailable, wire.CodeUnavailable, "the auction could not be read; try again"}
	}
	return state, nil
}

// maxCloseOnList bounds how many due auctions one list request closes.
const maxCloseOnList = 20

func (a *auctionAPI) list(w http.ResponseWriter, r *http.Request) {
	all, err := a.store.List(r.Context())
	if err != nil {
		a.log.Warn("listing auctions failed", "err", err)
		writeError(w, &apiError{http.StatusServiceUnavailable, wire.CodeUnavailable, "auctions could not be listed; try again"})
		return
	}
	now := a.clock.Now()
	out := make([]any, 0, len(all))
	closed := 0
	for i := range all {
		if all[i].Due(now) && closed < maxCloseOnList {
			closed++
			if s, apiErr := a.snapshot(r.Context(), all[i].ID); apiErr == nil {
				out = append(out, s)
				continue
			}
		}
		out = append(out, all[i].StateAt(now))
	}
	writeJSON(w, http.StatusOK, out)
}

type bidJSON struct {
	Amount  auction.Cents `json:"amount"`
	Bidder  string        `json:"bidder"`
	At      time.Time     `json:"at"`
	Version int64         `json:"version"`
}

func (a *auctionAPI) bids(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !auction.ValidID(id) {
		writeError(w, badRequest("auction id must be 1-64 characters of A-Z, a-z, 0-9, _ and -"))
		return
	}
	if _, _, err := a.store.Get(r.Context(), id); err != nil {
		if errors.Is(err, rooms.ErrNotFound) {
			writeError(w, notFound("auction %s does not exist", id))
			return
		}
		writeError(w, &apiError{http.StatusServiceUnavailable, wire.CodeUnavailable, "the bids could not be read; try again"})
		return
	}
	bids, err := a.store.Bids(r.Context(), id)
	if err != nil {
		writeError(w, &apiError{http.StatusServiceUnavailable, wire.CodeUnavailable, "the bids could not be read; try again"})
		return
	}
	out := make([]bidJSON, len(bids))
	for i, b := range bids {
		out[i] = bidJSON{Amount: b.Amount, Bidder: b.Bidder, At: b.At.UTC(), Version: b.Version}
	}
	writeJSON(w, http.StatusOK, out)
}
