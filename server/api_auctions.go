package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"hotrow/internal/clock"
	"hotrow/rooms"
	"hotrow/rooms/auction"
)

// auctionAPI serves /api/auctions.
type auctionAPI struct {
	svc   *auction.Service
	rooms *rooms.Registry
	clock clock.Clock
	log   *slog.Logger
}

func (a *auctionAPI) register(rt *routes) {
	rt.api("POST", "/api/auctions", needCreate(auction.Kind), a.create)
	rt.api("GET", "/api/auctions", needNothing, a.list)
	rt.api("GET", "/api/auctions/{id}", needWatch(auction.Kind), a.get)
	rt.api("GET", "/api/auctions/{id}/bids", needWatch(auction.Kind), a.bids)
}

func (a *auctionAPI) create(w http.ResponseWriter, r *http.Request) {
	var req auction.CreateRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	created, err := a.svc.Create(r.Context(), req, devUser)
	if err != nil {
		writeError(w, serviceError(a.log, err, "auction "+created.ID))
		return
	}
	w.Header().Set("Location", "/api/auctions/"+created.ID)
	writeJSON(w, http.StatusCreated, created.StateAt(a.clock.Now()))
}

// get answers with the auction's committed state, read from the store: a
// read starts no room worker. An auction past its end is closed first
// (close-on-read) through its room, so the answer never shows a stale open
// auction.
func (a *auctionAPI) get(w http.ResponseWriter, r *http.Request) {
	id, apiErr := roomID(r)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	got, _, err := a.svc.Get(r.Context(), id)
	if err != nil {
		writeError(w, serviceError(a.log, err, "auction "+id))
		return
	}
	now := a.clock.Now()
	if !got.Due(now) {
		writeJSON(w, http.StatusOK, got.StateAt(now))
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
	if err != nil {
		return nil, serviceError(a.log, err, "auction "+id)
	}
	return state, nil
}

// maxCloseOnList bounds how many due auctions one list request closes.
const maxCloseOnList = 20

func (a *auctionAPI) list(w http.ResponseWriter, r *http.Request) {
	all, err := a.svc.List(r.Context())
	if err != nil {
		writeError(w, serviceError(a.log, err, "the auction list"))
		return
	}
	now := a.clock.Now()
	rights := identityOf(r.Context()).Rights
	out := make([]any, 0, len(all))
	closed := 0
	for i := range all {
		if !rights.CanWatch(auction.Room(all[i].ID)) {
			continue
		}
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
	id, apiErr := roomID(r)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	bids, err := a.svc.Bids(r.Context(), id)
	if err != nil {
		writeError(w, serviceError(a.log, err, "auction "+id))
		return
	}
	out := make([]bidJSON, len(bids))
	for i, b := range bids {
		out[i] = bidJSON{Amount: b.Amount, Bidder: b.Bidder, At: b.At.UTC(), Version: b.Version}
	}
	writeJSON(w, http.StatusOK, out)
}
