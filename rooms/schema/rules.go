package schema

import (
	"fmt"
	"slices"

	"hotrow/rooms"
)

// Edit reject reasons (docs/protocol.md), besides the shared
// rooms.ReasonNotFound and rooms.ReasonUnavailable.
const (
	ReasonNotFound      = rooms.ReasonNotFound
	ReasonUnavailable   = rooms.ReasonUnavailable
	ReasonStale         = "stale"
	ReasonInvalidOp     = "invalid_op"
	ReasonDuplicateName = "duplicate_name"
)

var reject = rooms.Reject

func invalid(field, format string, args ...any) *rooms.Rejection {
	return reject(ReasonInvalidOp, "%s: %s", field, fmt.Sprintf(format, args...))
}

// Entities is the before or after of an audit entry: the entities an edit
// touched.
type Entities struct {
	Table     *Table     `json:"table,omitempty"`
	Column    *Column    `json:"column,omitempty"`
	Relation  *Relation  `json:"relation,omitempty"`
	Relations []Relation `json:"relations,omitempty"` // dropped with a table or column
}

// Plan is an edit worked out against a document.
type Plan struct {
	Change Change
	Before *Entities // nil for creations
	After  *Entities // nil for drops
	// Next is the document after the edit, at version d.Version+1.
	Next Doc
	// Write lists the rows to write.
	InsertTable, UpdateTable   *Table
	InsertColumn, UpdateColumn *Column
	InsertRelation             *Relation
}

// MakePlan applies op (from ParseOp) to d, without changing d. msgID goes
// into the event data; newID makes the ids of created entities. A rule the
// op breaks is returned as a *rooms.Rejection.
func MakePlan(d *Doc, op Op, msgID string, newID func() string) (*Plan, *rooms.Rejection) {
	p := &Plan{Change: Change{ID: msgID}}
	version := d.Version + 1

	// The target must exist and, with expect_rev, be at that rev.
	var (
		tbl *Table
		col *Column
		rel *Relation
	)
	tableField := "table"
	tableID := op.Table
	if op.Kind == OpAddRelation {
		tableField, tableID = "from_table", op.FromTable
	}
	if tableID != "" {
		if tbl = d.Table(tableID); tbl == nil {
			return nil, reject(ReasonNotFound, "%s: no table %s in this document", tableField, tableID)
		}
	}
	if op.Column != "" {
		if col = tbl.Column(op.Column); col == nil {
			return nil, reject(ReasonNotFound, "column: no column %s in table %s", op.Column, tbl.ID)
		}
	}
	if op.Relation != "" {
		if rel = d.Relation(op.Relation); rel == nil {
			return nil, reject(ReasonNotFound, "relation: no relation %s in this document", op.Relation)
		}
	}
	if op.ExpectRev != nil {
		var rev int64
		var cur any
		switch {
		case col != nil:
			rev, cur = col.Rev, *col
		case rel != nil:
			rev, cur = rel.Rev, *rel
		case tbl != nil:
			c := d.Clone()
			rev, cur = tbl.Rev, *(&c).Table(tbl.ID)
		}
		if rev != *op.ExpectRev {
			r := reject(ReasonStale, "expect_rev: %s is at rev %d, not %d", op.target(), rev, *op.ExpectRev)
			r.Current = cur
			return nil, r
		}
	}

	next := d.Clone()
	switch op.Kind {
	case OpCreateTable:
		if len(d.Tables) >= MaxTables {
			return nil, invalid("op", "a document holds at most %d tables", MaxTables)
		}
		if r := tableNameFree(d, *op.Name, ""); r != nil {
			return nil, r
		}
		t := Table{ID: newID(), Name: *op.Name, Rev: 1, Columns: []Column{}}
		if op.X != nil {
			t.X = *op.X
		}
		if op.Y != nil {
			t.Y = *op.Y
		}
		p.Change.Table = &t
		p.After = &Entities{Table: &t}
		p.InsertTable = &t
	case OpRenameTable, OpMoveTable:
		t := *tbl
		t.Columns = slices.Clone(t.Columns)
		if op.Kind == OpRenameTable {
			if r := tableNameFree(d, *op.Name, t.ID); r != nil {
				return nil, r
			}
			t.Name = *op.Name
		} else {
			t.X, t.Y = *op.X, *op.Y
		}
		t.Rev++
		c := d.Clone()
		before := (&c).Table(t.ID)
		p.Change.Table = &t
		p.Before, p.After = &Entities{Table: before}, &Entities{Table: &t}
		p.UpdateTable = &t
	case OpDropTable:
		before := *tbl
		before.Columns = slices.Clone(tbl.Columns)
		x := Dropped{Tables: []string{tbl.ID}, Columns: []string{}}
		for _, c := range tbl.Columns {
			x.Columns = append(x.Columns, c.ID)
		}
		var rels []Relation
		x.Relations, rels = d.relationsTouching(func(r Relation) bool { return r.FromTable == tbl.ID || r.ToTable == tbl.ID })
		p.Change.Dropped = &x
		p.Before = &Entities{Table: &before, Relations: rels}
	case OpAddColumn:
		if len(tbl.Columns) >= MaxColumnsPerTable {
			return nil, invalid("table", "a table holds at most %d columns", MaxColumnsPerTable)
		}
		if d.columnCount() >= MaxColumns {
			return nil, invalid("op", "a document holds at most %d columns", MaxColumns)
		}
		if r := columnNameFree(tbl, *op.Name, ""); r != nil {
			return nil, r
		}
		c := Column{ID: newID(), Table: tbl.ID, Name: *op.Name, Type: *op.Type, Rev: 1}
		if op.PrimaryKey != nil {
			c.PrimaryKey = *op.PrimaryKey
		}
		if op.Unique != nil {
			c.Unique = *op.Unique
		}
		c.Nullable = !c.PrimaryKey
		if op.Nullable != nil {
			c.Nullable = *op.Nullable
		}
		if op.Default != nil {
			c.Default = op.Default.Value
		}
		if r := checkColumn(&c, op); r != nil {
			return nil, r
		}
		p.Change.Column = &c
		p.After = &Entities{Column: &c}
		p.InsertColumn = &c
	case OpAlterColumn:
		c := *col
		if op.Name != nil {
			if r := columnNameFree(tbl, *op.Name, c.ID); r != nil {
				return nil, r
			}
			c.Name = *op.Name
		}
		if op.Type != nil {
			c.Type = *op.Type
		}
		if op.PrimaryKey != nil {
			c.PrimaryKey = *op.PrimaryKey
			if c.PrimaryKey && op.Nullable == nil {
				c.Nullable = false // as PostgreSQL does when a primary key is added
			}
		}
		if op.Unique != nil {
			c.Unique = *op.Unique
		}
		if op.Nullable != nil {
			c.Nullable = *op.Nullable
		}
		if op.Default != nil {
			c.Default = op.Default.Value
		}
		if r := checkColumn(&c, op); r != nil {
			return nil, r
		}
		c.Rev++
		before := *col
		p.Change.Column = &c
		p.Before, p.After = &Entities{Column: &before}, &Entities{Column: &c}
		p.UpdateColumn = &c
	case OpDropColumn:
		before := *col
		x := Dropped{Columns: []string{col.ID}}
		var rels []Relation
		x.Relations, rels = d.relationsTouching(func(r Relation) bool { return r.FromColumn == col.ID || r.ToColumn == col.ID })
		p.Change.Dropped = &x
		p.Before = &Entities{Column: &before, Relations: rels}
	case OpAddRelation:
		if len(d.Relations) >= MaxRelations {
			return nil, invalid("op", "a document holds at most %d relations", MaxRelations)
		}
		fc := tbl.Column(op.FromColumn)
		if fc == nil {
			return nil, reject(ReasonNotFound, "from_column: no column %s in table %s", op.FromColumn, tbl.ID)
		}
		tt := d.Table(op.ToTable)
		if tt == nil {
			return nil, reject(ReasonNotFound, "to_table: no table %s in this document", op.ToTable)
		}
		if tt.Column(op.ToColumn) == nil {
			return nil, reject(ReasonNotFound, "to_column: no column %s in table %s", op.ToColumn, tt.ID)
		}
		if op.FromColumn == op.ToColumn {
			return nil, invalid("to_column", "a relation cannot reference its own column")
		}
		for _, r := range d.Relations {
			if r.FromColumn == op.FromColumn && r.ToColumn == op.ToColumn {
				return nil, invalid("to_column", "relation %s already joins these columns", r.ID)
			}
		}
		r := Relation{ID: newID(), FromTable: tbl.ID, FromColumn: fc.ID, ToTable: tt.ID, ToColumn: op.ToColumn,
			OnDelete: "no_action", Rev: 1}
		if op.OnDelete != nil {
			r.OnDelete = *op.OnDelete
		}
		p.Change.Relation = &r
		p.After = &Entities{Relation: &r}
		p.InsertRelation = &r
	case OpDropRelation:
		before := *rel
		p.Change.Dropped = &Dropped{Relations: []string{rel.ID}}
		p.Before = &Entities{Relation: &before}
	default:
		return nil, invalid("kind", "unknown op %q", op.Kind)
	}
	if err := next.apply(op.Kind, version, p.Change); err != nil {
		return nil, invalid("op", "%v", err)
	}
	if r := checkRelations(&next, op); r != nil {
		return nil, r
	}
	p.Next = next
	return p, nil
}

func tableNameFree(d *Doc, name, self string) *rooms.Rejection {
	for _, t := range d.Tables {
		if t.Name == name && t.ID != self {
			return reject(ReasonDuplicateName, "name: table %s is already named %q", t.ID, name)
		}
	}
	return nil
}

func columnNameFree(t *Table, name, self string) *rooms.Rejection {
	for _, c := range t.Columns {
		if c.Name == name && c.ID != self {
			return reject(ReasonDuplicateName, "name: column %s of this table is already named %q", c.ID, name)
		}
	}
	return nil
}

// checkColumn checks a column's own rules: a primary key is not nullable,
// and the default suits the type (canonicalising it).
func checkColumn(c *Column, op Op) *rooms.Rejection {
	if c.PrimaryKey && c.Nullable {
		field := "nullable"
		if op.Nullable == nil {
			field = "primary_key"
		}
		return invalid(field, "a primary key column cannot be nullable")
	}
	t, err := ParseType(c.Type)
	if err != nil {
		return invalid("type", "%v", err)
	}
	if c.Default != nil {
		v, err := t.CheckDefault(*c.Default)
		if err != nil {
			if op.Default == nil {
				return invalid("type", "the column's default is not valid for %s (%v); give a new default or null", t, err)
			}
			return invalid("default", "%v", err)
		}
		c.Default = &v
	}
	return nil
}

// checkRelations checks that every relation of d can be a PostgreSQL
// foreign key: the referenced column is unique on its own (unique, or the
// table's only primary key column), both columns' types compare, and a
// set_null relation's column is nullable.
func checkRelations(d *Doc, op Op) *rooms.Rejection {
	uniqueField, typeField, nullField := "unique", "type", "nullable"
	switch {
	case op.Kind == OpAddRelation:
		uniqueField, typeField, nullField = "to_column", "to_column", "on_delete"
	case op.PrimaryKey != nil:
		uniqueField = "primary_key"
	}
	if len(d.Relations) == 0 {
		return nil
	}
	// Linear in the document: columns by id, primary keys per table, and
	// each type's family parsed once.
	cols := map[string]*Column{}
	tables := map[string]*Table{}
	pks := map[string]int{}
	for i := range d.Tables {
		t := &d.Tables[i]
		tables[t.ID] = t
		for j := range t.Columns {
			c := &t.Columns[j]
			cols[c.ID] = c
			if c.PrimaryKey {
				pks[t.ID]++
			}
		}
	}
	families := map[string]string{}
	family := func(typ string) string {
		f, ok := families[typ]
		if !ok {
			t, _ := ParseType(typ)
			f = t.Family()
			families[typ] = f
		}
		return f
	}
	for _, r := range d.Relations {
		ft, tt := tables[r.FromTable], tables[r.ToTable]
		fc, tc := cols[r.FromColumn], cols[r.ToColumn]
		if ft == nil || tt == nil || fc == nil || tc == nil || fc.Table != ft.ID || tc.Table != tt.ID {
			return invalid("op", "relation %s lost a table or column", r.ID)
		}
		if !tc.Unique && !(tc.PrimaryKey && pks[tt.ID] == 1) {
			return invalid(uniqueField, "relation %s needs column %q of table %q to be unique or the table's only primary key column", r.ID, tc.Name, tt.Name)
		}
		if family(fc.Type) != family(tc.Type) {
			return invalid(typeField, "relation %s joins %q (%s) to %q (%s): the types do not compare", r.ID, fc.Name, fc.Type, tc.Name, tc.Type)
		}
		if r.OnDelete == "set_null" && !fc.Nullable {
			return invalid(nullField, "relation %s sets %q to null on delete, so it must stay nullable", r.ID, fc.Name)
		}
	}
	return nil
}

// relationsTouching is the cascade of a drop: the relations for which touches
// holds, as ids (never nil) and as entities for the audit's before.
func (d *Doc) relationsTouching(touches func(Relation) bool) ([]string, []Relation) {
	ids := []string{}
	var rels []Relation
	for _, r := range d.Relations {
		if touches(r) {
			ids = append(ids, r.ID)
			rels = append(rels, r)
		}
	}
	return ids, rels
}
