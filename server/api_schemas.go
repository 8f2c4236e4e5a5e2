package main

import (
	"log/slog"
	"net/http"

	"hotrow/rooms/schema"
)

// schemaAPI serves /api/schemas.
type schemaAPI struct {
	svc *schema.Service
	log *slog.Logger
}

func (a *schemaAPI) register(rt *routes) {
	rt.api("POST", "/api/schemas", needCreate(schema.Kind), a.create)
	rt.api("GET", "/api/schemas/{id}", needWatch(schema.Kind), a.get)
	rt.api("GET", "/api/schemas/{id}/ddl", needWatch(schema.Kind), a.ddl)
	rt.api("GET", "/api/schemas/{id}/audit", needWatch(schema.Kind), a.audit)
}

// fail answers a schema service error.
func (a *schemaAPI) fail(w http.ResponseWriter, id string, err error) {
	writeError(w, serviceError(a.log, err, "schema document "+id))
}

func (a *schemaAPI) create(w http.ResponseWriter, r *http.Request) {
	var req schema.CreateRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	doc, err := a.svc.Create(r.Context(), req, devUser)
	if err != nil {
		a.fail(w, req.ID, err)
		return
	}
	w.Header().Set("Location", "/api/schemas/"+doc.ID)
	writeJSON(w, http.StatusCreated, doc)
}

func (a *schemaAPI) get(w http.ResponseWriter, r *http.Request) {
	id, apiErr := roomID(r)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	doc, err := a.svc.Get(r.Context(), id)
	if err != nil {
		a.fail(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

func (a *schemaAPI) audit(w http.ResponseWriter, r *http.Request) {
	id, apiErr := roomID(r)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	entries, err := a.svc.Audit(r.Context(), id)
	if err != nil {
		a.fail(w, id, err)
		return
	}
	if entries == nil {
		entries = []schema.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, entries)
}

func (a *schemaAPI) ddl(w http.ResponseWriter, r *http.Request) {
	id, apiErr := roomID(r)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	sql, err := a.svc.DDL(r.Context(), id, r.URL.Query().Get("dialect"))
	if err != nil {
		a.fail(w, id, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(sql))
}
