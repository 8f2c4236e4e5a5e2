package schema

import (
	"hotrow/rooms"
	"slices"
)

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
//
// It finds the entities the op names (checking expect_rev), has the op
// kind's planner (planners) work out the change, applies the change to a
// copy of d and checks the relations of the result.
func MakePlan(d *Doc, op Op, msgID string, newID func() string) (*Plan, *rooms.Rejection) {
	e := &planning{d: d, op: op, newID: newID, p: &Plan{Change: Change{ID: msgID}}}
	if r := e.findTargets(); r != nil {
		return nil, r
	}
	plan, ok := planners[op.Kind]
	if !ok {
		return nil, invalid("kind", "unknown op %q", op.Kind)
	}
	if r := plan(e); r != nil {
		return nil, r
	}
	next := d.Clone()
	if err := next.apply(op.Kind, d.Version+1, e.p.Change); err != nil {
		return nil, invalid("op", "%v", err)
	}
	if r := checkRelations(&next, op); r != nil {
		return nil, r
	}
	e.p.Next = next
	return e.p, nil
}

// planners works out each op kind's change. Every kind of opFields has one
// (TestPlannersCoverOpKinds).
var planners = map[string]func(*planning) *rooms.Rejection{
	OpCreateTable:  (*planning).createTable,
	OpRenameTable:  (*planning).renameTable,
	OpMoveTable:    (*planning).moveTable,
	OpDropTable:    (*planning).dropTable,
	OpAddColumn:    (*planning).addColumn,
	OpAlterColumn:  (*planning).alterColumn,
	OpDropColumn:   (*planning).dropColumn,
	OpAddRelation:  (*planning).addRelation,
	OpDropRelation: (*planning).dropRelation,
}

// planning is one op being planned against a document: the entities it
// names (found by findTargets) and the plan a planner fills in. A planner
// never changes d.
type planning struct {
	d     *Doc
	op    Op
	newID func() string
	tbl   *Table // the op's table (from_table for add_relation), if it names one
	col   *Column
	rel   *Relation
	p     *Plan
}

// findTargets finds the entities the op names: each must exist and, with
// expect_rev, the most specific one must be at that rev.
func (e *planning) findTargets() *rooms.Rejection {
	d, op := e.d, e.op
	tableField, tableID := "table", op.Table
	if op.Kind == OpAddRelation {
		tableField, tableID = "from_table", op.FromTable
	}
	if tableID != "" {
		if e.tbl = d.Table(tableID); e.tbl == nil {
			return reject(ReasonNotFound, "%s: no table %s in this document", tableField, tableID)
		}
	}
	if op.Column != "" {
		if e.col = e.tbl.Column(op.Column); e.col == nil {
			return reject(ReasonNotFound, "column: no column %s in table %s", op.Column, e.tbl.ID)
		}
	}
	if op.Relation != "" {
		if e.rel = d.Relation(op.Relation); e.rel == nil {
			return reject(ReasonNotFound, "relation: no relation %s in this document", op.Relation)
		}
	}
	if op.ExpectRev == nil {
		return nil
	}
	var rev int64
	var cur any
	switch {
	case e.col != nil:
		rev, cur = e.col.Rev, *e.col
	case e.rel != nil:
		rev, cur = e.rel.Rev, *e.rel
	case e.tbl != nil:
		c := d.Clone()
		rev, cur = e.tbl.Rev, *(&c).Table(e.tbl.ID)
	}
	if rev != *op.ExpectRev {
		r := reject(ReasonStale, "expect_rev: %s is at rev %d, not %d", op.target(), rev, *op.ExpectRev)
		r.Current = cur
		return r
	}
	return nil
}

func (e *planning) createTable() *rooms.Rejection {
	d, op := e.d, e.op
	if len(d.Tables) >= MaxTables {
		return invalid("op", "a document holds at most %d tables", MaxTables)
	}
	if r := tableNameFree(d, *op.Name, ""); r != nil {
		return r
	}
	t := Table{ID: e.newID(), Name: *op.Name, Rev: 1, Columns: []Column{}}
	if op.X != nil {
		t.X = *op.X
	}
	if op.Y != nil {
		t.Y = *op.Y
	}
	e.p.Change.Table = &t
	e.p.After = &Entities{Table: &t}
	e.p.InsertTable = &t
	return nil
}

func (e *planning) renameTable() *rooms.Rejection {
	if r := tableNameFree(e.d, *e.op.Name, e.tbl.ID); r != nil {
		return r
	}
	e.updateTable(func(t *Table) { t.Name = *e.op.Name })
	return nil
}

func (e *planning) moveTable() *rooms.Rejection {
	e.updateTable(func(t *Table) { t.X, t.Y = *e.op.X, *e.op.Y })
	return nil
}

// updateTable plans a change to the table's own fields (not its columns).
func (e *planning) updateTable(change func(*Table)) {
	t := *e.tbl
	t.Columns = slices.Clone(t.Columns)
	change(&t)
	t.Rev++
	c := e.d.Clone()
	before := (&c).Table(t.ID)
	e.p.Change.Table = &t
	e.p.Before, e.p.After = &Entities{Table: before}, &Entities{Table: &t}
	e.p.UpdateTable = &t
}

func (e *planning) dropTable() *rooms.Rejection {
	tbl := e.tbl
	before := *tbl
	before.Columns = slices.Clone(tbl.Columns)
	x := Dropped{Tables: []string{tbl.ID}, Columns: []string{}}
	for _, c := range tbl.Columns {
		x.Columns = append(x.Columns, c.ID)
	}
	var rels []Relation
	x.Relations, rels = e.d.relationsTouching(func(r Relation) bool { return r.FromTable == tbl.ID || r.ToTable == tbl.ID })
	e.p.Change.Dropped = &x
	e.p.Before = &Entities{Table: &before, Relations: rels}
	return nil
}

func (e *planning) addColumn() *rooms.Rejection {
	d, op, tbl := e.d, e.op, e.tbl
	if len(tbl.Columns) >= MaxColumnsPerTable {
		return invalid("table", "a table holds at most %d columns", MaxColumnsPerTable)
	}
	if d.columnCount() >= MaxColumns {
		return invalid("op", "a document holds at most %d columns", MaxColumns)
	}
	if r := columnNameFree(tbl, *op.Name, ""); r != nil {
		return r
	}
	c := Column{ID: e.newID(), Table: tbl.ID, Name: *op.Name, Type: *op.Type, Rev: 1}
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
		return r
	}
	e.p.Change.Column = &c
	e.p.After = &Entities{Column: &c}
	e.p.InsertColumn = &c
	return nil
}

func (e *planning) alterColumn() *rooms.Rejection {
	op := e.op
	c := *e.col
	if op.Name != nil {
		if r := columnNameFree(e.tbl, *op.Name, c.ID); r != nil {
			return r
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
		return r
	}
	c.Rev++
	before := *e.col
	e.p.Change.Column = &c
	e.p.Before, e.p.After = &Entities{Column: &before}, &Entities{Column: &c}
	e.p.UpdateColumn = &c
	return nil
}

func (e *planning) dropColumn() *rooms.Rejection {
	col := e.col
	before := *col
	x := Dropped{Columns: []string{col.ID}}
	var rels []Relation
	x.Relations, rels = e.d.relationsTouching(func(r Relation) bool { return r.FromColumn == col.ID || r.ToColumn == col.ID })
	e.p.Change.Dropped = &x
	e.p.Before = &Entities{Column: &before, Relations: rels}
	return nil
}

func (e *planning) addRelation() *rooms.Rejection {
	d, op, tbl := e.d, e.op, e.tbl
	if len(d.Relations) >= MaxRelations {
		return invalid("op", "a document holds at most %d relations", MaxRelations)
	}
	fc := tbl.Column(op.FromColumn)
	if fc == nil {
		return reject(ReasonNotFound, "from_column: no column %s in table %s", op.FromColumn, tbl.ID)
	}
	tt := d.Table(op.ToTable)
	if tt == nil {
		return reject(ReasonNotFound, "to_table: no table %s in this document", op.ToTable)
	}
	if tt.Column(op.ToColumn) == nil {
		return reject(ReasonNotFound, "to_column: no column %s in table %s", op.ToColumn, tt.ID)
	}
	if op.FromColumn == op.ToColumn {
		return invalid("to_column", "a relation cannot reference its own column")
	}
	for _, r := range d.Relations {
		if r.FromColumn == op.FromColumn && r.ToColumn == op.ToColumn {
			return invalid("to_column", "relation %s already joins these columns", r.ID)
		}
	}
	r := Relation{ID: e.newID(), FromTable: tbl.ID, FromColumn: fc.ID, ToTable: tt.ID, ToColumn: op.ToColumn,
		OnDelete: "no_action", Rev: 1}
	if op.OnDelete != nil {
		r.OnDelete = *op.OnDelete
	}
	e.p.Change.Relation = &r
	e.p.After = &Entities{Relation: &r}
	e.p.InsertRelation = &r
	return nil
}

func (e *planning) dropRelation() *rooms.Rejection {
	before := *e.rel
	e.p.Change.Dropped = &Dropped{Relations: []string{e.rel.ID}}
	e.p.Before = &Entities{Relation: &before}
	return nil
}
