package schema

import (
	"fmt"

	"hotrow/rooms"
)

// Edit reject reasons (docs/protocol.md, "Schema documents"), besides the
// shared rooms.ReasonNotFound and rooms.ReasonUnavailable.
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
