package schema

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"hotrow/rooms"
)

// Document limits (see the package doc): they keep every edit inside Aurora
// DSQL's 3,000 rows and 10 MiB per transaction.
const (
	MaxTables          = 200
	MaxColumnsPerTable = 250
	MaxColumns         = 2000
	MaxRelations       = 500
	// MaxRowsPerEdit is the most rows one edit writes: drop_table deletes
	// the table, its columns and every relation touching it, then writes the
	// room version, the event, the audit entry and the idempotency record.
	MaxRowsPerEdit = 1 + MaxColumnsPerTable + MaxRelations + 4
	// DSQLMaxRows is Aurora DSQL's per-transaction row limit.
	DSQLMaxRows = 3000
	// MaxNameRunes bounds a document's name (not an SQL identifier).
	MaxNameRunes = 200
	// MaxCoord bounds a table's canvas position.
	MaxCoord = 1e6
)

// A compile-time proof that the largest edit stays under DSQL's limit.
var _ [DSQLMaxRows - MaxRowsPerEdit]struct{}

// Doc is a schema document: its committed state at Version.
type Doc struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Version   int64      `json:"version"`
	Tables    []Table    `json:"tables"`
	Relations []Relation `json:"relations"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
}

// Table is one table of a document, with its columns in creation order.
type Table struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Rev     int64    `json:"rev"`
	X       float64  `json:"x"`
	Y       float64  `json:"y"`
	Columns []Column `json:"columns"`
	// Pos is the document version that created the table: the order key.
	Pos int64 `json:"-"`
}

// Column is one column of a table.
type Column struct {
	ID         string  `json:"id"`
	Table      string  `json:"table"`
	Name       string  `json:"name"`
	Type       string  `json:"type"` // canonical, see ParseType
	Nullable   bool    `json:"nullable"`
	Default    *string `json:"default"` // canonical, see Type.CheckDefault; never modified in place
	PrimaryKey bool    `json:"primary_key"`
	Unique     bool    `json:"unique"`
	Rev        int64   `json:"rev"`
	Pos        int64   `json:"-"`
}

// Relation is a foreign key from one column to another.
type Relation struct {
	ID         string `json:"id"`
	FromTable  string `json:"from_table"`
	FromColumn string `json:"from_column"`
	ToTable    string `json:"to_table"`
	ToColumn   string `json:"to_column"`
	OnDelete   string `json:"on_delete"` // one of OnDeleteActions
	Rev        int64  `json:"rev"`
	Pos        int64  `json:"-"`
}

// OnDeleteActions maps on_delete values to their SQL.
var OnDeleteActions = map[string]string{
	"no_action":   "NO ACTION",
	"restrict":    "RESTRICT",
	"cascade":     "CASCADE",
	"set_null":    "SET NULL",
	"set_default": "SET DEFAULT",
}

// Clone returns a deep copy (State hands copies to other goroutines).
func (d *Doc) Clone() Doc {
	c := *d
	c.Tables = make([]Table, len(d.Tables))
	for i, t := range d.Tables {
		t.Columns = slices.Clone(t.Columns)
		if t.Columns == nil {
			t.Columns = []Column{}
		}
		c.Tables[i] = t
	}
	c.Relations = slices.Clone(d.Relations)
	if c.Relations == nil {
		c.Relations = []Relation{}
	}
	return c
}

// Normalize sorts tables, columns and relations by creation and makes empty
// lists non-nil, as stores return them.
func (d *Doc) Normalize() {
	if d.Tables == nil {
		d.Tables = []Table{}
	}
	if d.Relations == nil {
		d.Relations = []Relation{}
	}
	slices.SortFunc(d.Tables, func(a, b Table) int { return cmpPos(a.Pos, b.Pos, a.ID, b.ID) })
	for i := range d.Tables {
		t := &d.Tables[i]
		if t.Columns == nil {
			t.Columns = []Column{}
		}
		slices.SortFunc(t.Columns, func(a, b Column) int { return cmpPos(a.Pos, b.Pos, a.ID, b.ID) })
	}
	slices.SortFunc(d.Relations, func(a, b Relation) int { return cmpPos(a.Pos, b.Pos, a.ID, b.ID) })
}

func cmpPos(a, b int64, ida, idb string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case ida < idb:
		return -1
	case ida > idb:
		return 1
	}
	return 0
}

// Table returns the table with the id, or nil.
func (d *Doc) Table(id string) *Table {
	for i := range d.Tables {
		if d.Tables[i].ID == id {
			return &d.Tables[i]
		}
	}
	return nil
}

// Column returns the column with the id in the table, or nil.
func (t *Table) Column(id string) *Column {
	for i := range t.Columns {
		if t.Columns[i].ID == id {
			return &t.Columns[i]
		}
	}
	return nil
}

// Relation returns the relation with the id, or nil.
func (d *Doc) Relation(id string) *Relation {
	for i := range d.Relations {
		if d.Relations[i].ID == id {
			return &d.Relations[i]
		}
	}
	return nil
}

func (d *Doc) columnCount() int {
	n := 0
	for _, t := range d.Tables {
		n += len(t.Columns)
	}
	return n
}

// Dropped lists the ids an edit removed.
type Dropped struct {
	Tables    []string `json:"tables,omitempty"`
	Columns   []string `json:"columns,omitempty"`
	Relations []string `json:"relations,omitempty"`
}

// Change is what one edit did, and the data of its event: the entity after
// the edit (for create_table, rename_table, move_table the table with its
// columns; for add_column and alter_column the column; for add_relation the
// relation) and, for drops, the ids removed. ID is the edit message's id, so
// every hub learns which ids are applied. A client holding the state at
// version v-1 gets the state at v by applying it (see Doc.ApplyEvent).
type Change struct {
	ID       string    `json:"id,omitempty"`
	Table    *Table    `json:"table,omitempty"`
	Column   *Column   `json:"column,omitempty"`
	Relation *Relation `json:"relation,omitempty"`
	Dropped  *Dropped  `json:"dropped,omitempty"`
}

// CreatedData is the data of a document's first event, "created".
type CreatedData struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// KindCreated is the kind of a document's first event; every other event's
// kind is its op's kind.
const KindCreated = "created"

// ApplyEvent applies a committed event (its kind, version and data) to the
// document. It is how a hub follows commits, its own and other hubs', and
// exactly what a client replaying events must do.
func (d *Doc) ApplyEvent(kind string, version int64, data json.RawMessage) error {
	if kind == KindCreated {
		var c CreatedData
		if err := json.Unmarshal(data, &c); err != nil {
			return fmt.Errorf("created event: %w", err)
		}
		*d = Doc{ID: c.ID, Name: c.Name, Version: version, Tables: []Table{}, Relations: []Relation{}}
		return nil
	}
	if version != d.Version+1 {
		return fmt.Errorf("event %d does not follow version %d", version, d.Version)
	}
	var ch Change
	if err := json.Unmarshal(data, &ch); err != nil {
		return fmt.Errorf("event %d (%s): %w", version, kind, err)
	}
	if err := d.apply(kind, version, ch); err != nil {
		return fmt.Errorf("event %d (%s): %w", version, kind, err)
	}
	return nil
}

// apply applies a change made at version.
func (d *Doc) apply(kind string, version int64, ch Change) error {
	switch kind {
	case OpCreateTable:
		if ch.Table == nil {
			return fmt.Errorf("no table")
		}
		t := *ch.Table
		t.Pos, t.Columns = version, []Column{}
		d.Tables = append(d.Tables, t)
	case OpRenameTable, OpMoveTable:
		if ch.Table == nil {
			return fmt.Errorf("no table")
		}
		t := d.Table(ch.Table.ID)
		if t == nil {
			return fmt.Errorf("no table %s", ch.Table.ID)
		}
		t.Name, t.X, t.Y, t.Rev = ch.Table.Name, ch.Table.X, ch.Table.Y, ch.Table.Rev
	case OpAddColumn, OpAlterColumn:
		if ch.Column == nil {
			return fmt.Errorf("no column")
		}
		t := d.Table(ch.Column.Table)
		if t == nil {
			return fmt.Errorf("no table %s", ch.Column.Table)
		}
		c := *ch.Column
		if kind == OpAddColumn {
			c.Pos = version
			t.Columns = append(t.Columns, c)
		} else {
			old := t.Column(c.ID)
			if old == nil {
				return fmt.Errorf("no column %s", c.ID)
			}
			c.Pos = old.Pos
			*old = c
		}
	case OpAddRelation:
		if ch.Relation == nil {
			return fmt.Errorf("no relation")
		}
		r := *ch.Relation
		r.Pos = version
		d.Relations = append(d.Relations, r)
	case OpDropTable, OpDropColumn, OpDropRelation:
		if ch.Dropped == nil {
			return fmt.Errorf("nothing dropped")
		}
		d.drop(*ch.Dropped)
	default:
		return fmt.Errorf("unknown kind %q", kind)
	}
	d.Version = version
	return nil
}

func (d *Doc) drop(x Dropped) {
	d.Tables = slices.DeleteFunc(d.Tables, func(t Table) bool { return slices.Contains(x.Tables, t.ID) })
	for i := range d.Tables {
		d.Tables[i].Columns = slices.DeleteFunc(d.Tables[i].Columns, func(c Column) bool { return slices.Contains(x.Columns, c.ID) })
	}
	d.Relations = slices.DeleteFunc(d.Relations, func(r Relation) bool { return slices.Contains(x.Relations, r.ID) })
}

func newCreatedEvent(d Doc, data json.RawMessage) rooms.Event {
	return rooms.Event{Room: Room(d.ID), Version: 1, Kind: KindCreated, By: d.CreatedBy, At: d.CreatedAt, Data: data}
}
