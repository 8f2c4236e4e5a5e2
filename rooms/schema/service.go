package schema

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CreateRequest is the body of POST /api/schemas.
type CreateRequest struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidID reports whether id may name a document room (1-64 of A-Za-z0-9_-).
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Service is what the HTTP layer calls. Errors: *FieldError (400),
// rooms.ErrNotFound (404), ErrExists (409); anything else is a store
// failure (503 or 500).
type Service struct{ d Deps }

// NewService makes the service.
func NewService(d Deps) *Service {
	d.defaults()
	return &Service{d: d}
}

// Create validates req and commits a new, empty document (room version 1,
// event "created", audit entry "create") in one retried transaction.
func (s *Service) Create(ctx context.Context, req CreateRequest, by string) (Doc, error) {
	d := Doc{ID: req.ID, Name: strings.TrimSpace(req.Name), Version: 1, Tables: []Table{}, Relations: []Relation{}, CreatedBy: by}
	if d.ID == "" {
		d.ID = s.d.NewID()
	} else if !ValidID(d.ID) {
		return d, &FieldError{"id", "must be 1-64 characters of A-Z, a-z, 0-9, _ and -"}
	}
	if d.Name == "" {
		return d, &FieldError{"name", "is required"}
	}
	if !utf8.ValidString(d.Name) || utf8.RuneCountInString(d.Name) > MaxNameRunes {
		return d, &FieldError{"name", fmt.Sprintf("must be valid UTF-8 of at most %d characters", MaxNameRunes)}
	}
	if strings.IndexFunc(d.Name, unicode.IsControl) >= 0 {
		return d, &FieldError{"name", "must not contain control characters"}
	}
	_, err := s.d.Runner.Run(ctx, Kind, "create", func(ctx context.Context) error {
		return s.d.Store.Attempt(ctx, func(tx Tx) error {
			now, err := tx.Now(ctx)
			if err != nil {
				return err
			}
			d.CreatedAt = now.UTC()
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
	return s.d.Store.Get(ctx, id)
}

// Audit returns the document's audit log, oldest first.
func (s *Service) Audit(ctx context.Context, id string) ([]AuditEntry, error) {
	return s.d.Store.Audit(ctx, id)
}

// DDL exports the committed document in the dialect ("postgres", "dsql";
// "" means postgres).
func (s *Service) DDL(ctx context.Context, id, dialect string) (string, error) {
	dl, err := ParseDialect(dialect)
	if err != nil {
		return "", err
	}
	d, err := s.d.Store.Get(ctx, id)
	if err != nil {
		return "", err
	}
	return Export(d, dl)
}
