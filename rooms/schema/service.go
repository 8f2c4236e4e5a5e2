package schema

import (
	"context"
	"encoding/json"
	"hotrow/rooms"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CreateRequest is the body of POST /api/schemas.
type CreateRequest struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

// Service is what the HTTP layer calls. Errors: *rooms.FieldError (400),
// rooms.ErrNotFound (404), rooms.ErrExists (409); anything else is a store
// failure (503 or 500).
type Service struct {
	store Store
	d     rooms.Deps
}

// NewService makes the schema document service on st.
func NewService(st Store, d rooms.Deps) *Service {
	return &Service{store: st, d: d.WithDefaults()}
}

// Create validates req and commits a new, empty document (room version 1,
// event "created", audit entry "create") in one retried transaction.
func (s *Service) Create(ctx context.Context, req CreateRequest, by string) (Doc, error) {
	d := Doc{ID: req.ID, Name: strings.TrimSpace(req.Name), Version: 1, Tables: []Table{}, Relations: []Relation{}, CreatedBy: by}
	if d.ID == "" {
		d.ID = s.d.NewID()
	} else if !rooms.ValidID(d.ID) {
		return d, rooms.FieldErr("id", rooms.IDRule)
	}
	if d.Name == "" {
		return d, rooms.FieldErr("name", "is required")
	}
	if !utf8.ValidString(d.Name) || utf8.RuneCountInString(d.Name) > MaxNameRunes {
		return d, rooms.FieldErr("name", "must be valid UTF-8 of at most %d characters", MaxNameRunes)
	}
	if strings.IndexFunc(d.Name, unicode.IsControl) >= 0 {
		return d, rooms.FieldErr("name", "must not contain control characters")
	}
	_, err := s.d.Runner.Run(ctx, Kind, "create", func(ctx context.Context) error {
		return s.store.Attempt(ctx, d.ID, rooms.Key{}, func(tx Tx) error {
			d.CreatedAt = tx.Now().UTC()
			data, _ := json.Marshal(CreatedData{ID: d.ID, Name: d.Name})
			ev := newCreatedEvent(d, data)
			op, _ := json.Marshal(map[string]string{"kind": "create", "name": d.Name})
			after, _ := json.Marshal(map[string]string{"id": d.ID, "name": d.Name})
			a := AuditEntry{Doc: d.ID, Version: 1, By: by, At: d.CreatedAt, Kind: KindCreated,
				Op: op, Before: json.RawMessage("null"), After: after}
			return tx.Create(ctx, d, ev, a)
		})
	})
	return d, err
}

// Get reads the committed document with its version.
func (s *Service) Get(ctx context.Context, id string) (Doc, error) {
	return s.store.Get(ctx, id)
}

// Audit returns the document's audit log, oldest first.
func (s *Service) Audit(ctx context.Context, id string) ([]AuditEntry, error) {
	return s.store.Audit(ctx, id)
}

// DDL exports the committed document in the dialect ("postgres", "dsql";
// "" means postgres).
func (s *Service) DDL(ctx context.Context, id, dialect string) (string, error) {
	dl, err := ParseDialect(dialect)
	if err != nil {
		return "", err
	}
	d, err := s.store.Get(ctx, id)
	if err != nil {
		return "", err
	}
	return Export(d, dl)
}
