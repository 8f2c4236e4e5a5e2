package schema

import (
	"encoding/json"
	"fmt"
	"hotrow/rooms"
	"strings"
	"testing"
	"time"
)

// memDoc applies ops to an in-memory document through MakePlan.
type memDoc struct {
	t    *testing.T
	d    Doc
	ids  int
	fast bool // skip checking that the event data rebuilds the plan
}

func newMemDoc(t *testing.T) *memDoc {
	return &memDoc{t: t, d: Doc{ID: "d", Name: "d", Version: 1, Tables: []Table{}, Relations: []Relation{}}}
}

func (m *memDoc) try(op string) (*Plan, *rooms.Rejection) {
	m.t.Helper()
	o, err := ParseOp(json.RawMessage(op))
	if err != nil {
		return nil, &rooms.Rejection{Reason: ReasonInvalidOp, Message: err.Error()}
	}
	p, rej := MakePlan(&m.d, o, "msg", func() string { m.ids++; return fmt.Sprintf("x%d", m.ids) })
	if rej == nil && m.fast {
		m.d = p.Next
	} else if rej == nil {
		// The plan's event data applies to the document exactly as Next.
		data, _ := json.Marshal(p.Change)
		d := m.d.Clone()
		if err := d.ApplyEvent(o.Kind, m.d.Version+1, data); err != nil {
			m.t.Fatalf("ApplyEvent: %v", err)
		}
		a, _ := json.Marshal(d)
		b, _ := json.Marshal(p.Next)
		if string(a) != string(b) {
			m.t.Fatalf("event data does not rebuild the plan:\n%s\n%s", a, b)
		}
		m.d = p.Next
	}
	return p, rej
}

func (m *memDoc) ok(op string, args ...any) string {
	m.t.Helper()
	p, rej := m.try(fmt.Sprintf(op, args...))
	if rej != nil {
		m.t.Fatalf("%s: %v", fmt.Sprintf(op, args...), rej)
	}
	switch {
	case p.Change.Table != nil:
		return p.Change.Table.ID
	case p.Change.Column != nil:
		return p.Change.Column.ID
	case p.Change.Relation != nil:
		return p.Change.Relation.ID
	}
	return ""
}

func (m *memDoc) rejected(reason, msg, op string, args ...any) *rooms.Rejection {
	m.t.Helper()
	_, rej := m.try(fmt.Sprintf(op, args...))
	if rej == nil || rej.Reason != reason || !strings.Contains(rej.Message, msg) {
		m.t.Fatalf("%s = %v, want %s containing %q", fmt.Sprintf(op, args...), rej, reason, msg)
	}
	return rej
}

func TestRules(t *testing.T) {
	m := newMemDoc(t)
	u := m.ok(`{"kind":"create_table","name":"users"}`)
	uid := m.ok(`{"kind":"add_column","table":%q,"name":"id","type":"bigint","primary_key":true}`, u)
	if c := m.d.Table(u).Column(uid); c.Nullable || !c.PrimaryKey || c.Rev != 1 {
		t.Fatalf("pk column = %+v", c)
	}
	m.rejected(ReasonInvalidOp, "nullable: a primary key column cannot be nullable",
		`{"kind":"add_column","table":%q,"name":"k","type":"bigint","primary_key":true,"nullable":true}`, u)
	m.rejected(ReasonDuplicateName, "name:", `{"kind":"add_column","table":%q,"name":"id","type":"text"}`, u)
	m.rejected(ReasonDuplicateName, "name:", `{"kind":"create_table","name":"users"}`)
	m.ok(`{"kind":"create_table","name":"Users"}`) // case-sensitive names
	m.rejected(ReasonNotFound, "table:", `{"kind":"add_column","table":"nope","name":"a","type":"text"}`)
	m.rejected(ReasonNotFound, "column:", `{"kind":"alter_column","table":%q,"column":"nope","name":"a"}`, u)
	m.rejected(ReasonInvalidOp, "default:", `{"kind":"add_column","table":%q,"name":"n","type":"smallint","default":"70000"}`, u)

	o := m.ok(`{"kind":"create_table","name":"orders"}`)
	ouid := m.ok(`{"kind":"add_column","table":%q,"name":"user_id","type":"integer","nullable":false}`, o)
	note := m.ok(`{"kind":"add_column","table":%q,"name":"note","type":"text"}`, o)
	// Relations: the referenced column must be unique on its own, types compare.
	m.rejected(ReasonInvalidOp, "to_column: relation", `{"kind":"add_relation","from_table":%q,"from_column":%q,"to_table":%q,"to_column":%q}`, u, uid, o, ouid)
	m.rejected(ReasonInvalidOp, "do not compare", `{"kind":"add_relation","from_table":%q,"from_column":%q,"to_table":%q,"to_column":%q}`, o, note, u, uid)
	m.rejected(ReasonInvalidOp, "on_delete: relation", `{"kind":"add_relation","from_table":%q,"from_column":%q,"to_table":%q,"to_column":%q,"on_delete":"set_null"}`, o, ouid, u, uid)
	m.rejected(ReasonNotFound, "to_column:", `{"kind":"add_relation","from_table":%q,"from_column":%q,"to_table":%q,"to_column":"zz"}`, o, ouid, u)
	rel := m.ok(`{"kind":"add_relation","from_table":%q,"from_column":%q,"to_table":%q,"to_column":%q,"on_delete":"cascade"}`, o, ouid, u, uid)
	m.rejected(ReasonInvalidOp, "already joins", `{"kind":"add_relation","from_table":%q,"from_column":%q,"to_table":%q,"to_column":%q}`, o, ouid, u, uid)
	// Edits that would break the relation are rejected, naming the field.
	m.rejected(ReasonInvalidOp, "primary_key: relation", `{"kind":"add_column","table":%q,"name":"k2","type":"text","primary_key":true}`, u)
	m.rejected(ReasonInvalidOp, "primary_key: relation", `{"kind":"alter_column","table":%q,"column":%q,"primary_key":false}`, u, uid)
	m.rejected(ReasonInvalidOp, "type: relation", `{"kind":"alter_column","table":%q,"column":%q,"type":"text"}`, o, ouid)
	m.ok(`{"kind":"alter_column","table":%q,"column":%q,"type":"bigint"}`, o, ouid) // same family
	// Changing the type re-checks the default.
	m.ok(`{"kind":"alter_column","table":%q,"column":%q,"default":"hello"}`, o, note)
	m.rejected(ReasonInvalidOp, "type: the column's default", `{"kind":"alter_column","table":%q,"column":%q,"type":"varchar(3)"}`, o, note)
	m.ok(`{"kind":"alter_column","table":%q,"column":%q,"type":"varchar(3)","default":null}`, o, note)
	if c := m.d.Table(o).Column(note); c.Rev != 3 || c.Default != nil || c.Type != "varchar(3)" {
		t.Fatalf("note = %+v", c)
	}
	// expect_rev: stale carries the current entity.
	rej := m.rejected(ReasonStale, "rev 3", `{"kind":"alter_column","table":%q,"column":%q,"name":"n","expect_rev":2}`, o, note)
	if c, ok := rej.Current.(Column); !ok || c.ID != note || c.Rev != 3 {
		t.Fatalf("current = %#v", rej.Current)
	}
	rej = m.rejected(ReasonStale, "rev 1", `{"kind":"drop_relation","relation":%q,"expect_rev":5}`, rel)
	if r, ok := rej.Current.(Relation); !ok || r.ID != rel {
		t.Fatalf("current = %#v", rej.Current)
	}
	// alter_column primary_key:true makes the column NOT NULL, as PostgreSQL does.
	m.ok(`{"kind":"alter_column","table":%q,"column":%q,"primary_key":true}`, o, note)
	if c := m.d.Table(o).Column(note); c.Nullable {
		t.Fatal("primary key column stayed nullable")
	}
	// drop_column removes the relations touching the column.
	p, _ := m.try(fmt.Sprintf(`{"kind":"drop_column","table":%q,"column":%q}`, u, uid))
	if p == nil || len(p.Change.Dropped.Relations) != 1 || len(m.d.Relations) != 0 {
		t.Fatalf("drop_column = %+v", p)
	}
	// Table revs count renames and moves only.
	m.ok(`{"kind":"rename_table","table":%q,"name":"customers"}`, u)
	m.ok(`{"kind":"move_table","table":%q,"x":1,"y":2,"expect_rev":2}`, u)
	if tb := m.d.Table(u); tb.Rev != 3 || tb.Name != "customers" || tb.X != 1 {
		t.Fatalf("table = %+v", tb)
	}
}

func TestLimits(t *testing.T) {
	if MaxRowsPerEdit >= DSQLMaxRows {
		t.Fatalf("MaxRowsPerEdit %d reaches DSQL's %d", MaxRowsPerEdit, DSQLMaxRows)
	}
	m := newMemDoc(t)
	m.fast = true
	a := m.ok(`{"kind":"create_table","name":"a"}`)
	id := m.ok(`{"kind":"add_column","table":%q,"name":"id","type":"bigint","primary_key":true}`, a)
	for i := 1; i < MaxColumnsPerTable; i++ {
		m.ok(`{"kind":"add_column","table":%q,"name":"c%d","type":"bigint"}`, a, i)
	}
	m.rejected(ReasonInvalidOp, fmt.Sprintf("at most %d columns", MaxColumnsPerTable), `{"kind":"add_column","table":%q,"name":"more","type":"text"}`, a)
	// The most relations, all touching a: then drop a and count its rows.
	for i := 1; i < MaxColumnsPerTable; i++ {
		m.ok(`{"kind":"add_relation","from_table":%q,"from_column":%q,"to_table":%q,"to_column":%q}`, a, m.d.Table(a).Columns[i].ID, a, id)
	}
	for k := 0; len(m.d.Relations) < MaxRelations; k++ {
		b := m.ok(`{"kind":"create_table","name":"b%d"}`, k)
		for j := 0; j < 100 && len(m.d.Relations) < MaxRelations; j++ {
			c := m.ok(`{"kind":"add_column","table":%q,"name":"c%d","type":"bigint"}`, b, j)
			m.ok(`{"kind":"add_relation","from_table":%q,"from_column":%q,"to_table":%q,"to_column":%q}`, b, c, a, id)
		}
	}
	m.rejected(ReasonInvalidOp, fmt.Sprintf("at most %d relations", MaxRelations),
		`{"kind":"add_relation","from_table":%q,"from_column":%q,"to_table":%q,"to_column":%q}`, a, m.d.Table(a).Columns[1].ID, a, id)
	p, rej := m.try(fmt.Sprintf(`{"kind":"drop_table","table":%q}`, a))
	if rej != nil {
		t.Fatal(rej)
	}
	w := p.write("d", "schema:d", OpDropTable, "u", "m", time.Now(), []byte(`{}`))
	if w.Rows() != MaxRowsPerEdit {
		t.Fatalf("drop_table writes %d rows, want the bound %d", w.Rows(), MaxRowsPerEdit)
	}
	if n := len(w.Audit.Before); n > 1<<20 {
		t.Fatalf("audit before is %d bytes", n)
	}
}
