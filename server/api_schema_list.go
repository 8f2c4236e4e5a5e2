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

func (a *schemaListAPI) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/schemas", a.list)
}

func (a *schemaListAPI) list(w http.ResponseWriter, r *http.Request) {
	all, err := a.store.List(r.Context())
	if err != nil {
		a.log.Warn("listing schema documents failed", "err", err)
		writeError(w, &apiError{http.StatusServiceUnavailable, wire.CodeUnavailable, "schema documents could not be listed; try again"})
		return
	}
	writeJSON(w, http.StatusOK, all)
}
