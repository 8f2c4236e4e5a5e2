package main

import (
	"context"
	"log/slog"
	"net/http"

	"hotrow/hub/wire"
	"hotrow/rooms/schema"
)

// schemaListAPI serves GET /api/schemas: every document's summary, newest
// first (the lobby's list).
type schemaListAPI struct {
	store interface {
		List(ctx context.Context) ([]schema.Summary, error)
	}
	log *slog.Logger
}

func (a *schemaListAPI) register(rt *routes) {
	rt.api("GET", "/api/schemas", needNothing, a.list)
}

func (a *schemaListAPI) list(w http.ResponseWriter, r *http.Request) {
	all, err := a.store.List(r.Context())
	if err != nil {
		a.log.Warn("listing schema documents failed", "err", err)
		writeError(w, &apiError{http.StatusServiceUnavailable, wire.CodeUnavailable, "schema documents could not be listed; try again"})
		return
	}
	rights := identityOf(r.Context()).Rights
	out := make([]schema.Summary, 0, len(all))
	for _, d := range all {
		if rights.CanWatch(schema.Room(d.ID)) {
			out = append(out, d)
		}
	}
	writeJSON(w, http.StatusOK, out)
}
