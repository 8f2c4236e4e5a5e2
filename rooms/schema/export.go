package schema

import (
	"fmt"
	"hotrow/internal/textutil"
	"strconv"
	"strings"
)

// Dialect is the SQL dialect of an export.
type Dialect string

// Export dialects.
const (
	Postgres Dialect = "postgres"
	DSQL     Dialect = "dsql"
)

// ParseDialect reads a dialect name; "" means postgres.
func ParseDialect(s string) (Dialect, error) {
	switch strings.ToLower(s) {
	case "", "postgres", "postgresql":
		return Postgres, nil
	case "dsql":
		return DSQL, nil
	}
	return "", fieldErr("dialect", "must be postgres or dsql")
}

// Export renders the document as SQL DDL. It is deterministic: the same
// document gives the same text. Every identifier is double-quoted with
// embedded quotes doubled, and defaults are rendered from their validated
// canonical form as quoted literals, so no name or value can inject SQL.
// Tables come in dependency order (a referenced table before the tables
// referencing it, otherwise creation order).
//
// postgres: one transaction (BEGIN ... COMMIT). Primary keys and unique
// constraints are declared in CREATE TABLE; a foreign key is declared inline
// when its referenced table was created before, else (cycles) added with
// ALTER TABLE ... ADD CONSTRAINT after every table exists.
//
// dsql: Aurora DSQL runs one DDL statement per transaction, so every
// statement is wrapped in a BEGIN/COMMIT of its own; unique columns get a
// CREATE UNIQUE INDEX ASYNC each; numeric columns carry NUMERIC(p,s);
// there is no SERIAL; and because DSQL has no foreign keys, relations are
// written as comments for the application to enforce. A document DSQL
// would refuse (see dsqlProblems) is not exported: the error names every
// column at fault.
//
// Constraint and index names are chosen as PostgreSQL would
// (<table>_pkey, <table>_<column>_key, <table>_<column>_fkey), truncated
// to 63 bytes and numbered where they would collide with a table or
// another constraint's name.
func Export(d Doc, dialect Dialect) (string, error) {
	if dialect != Postgres && dialect != DSQL {
		return "", fieldErr("dialect", "must be postgres or dsql")
	}
	d = d.Clone()
	d.Normalize()
	var notes []string
	if dialect == DSQL {
		problems, n := dsqlProblems(&d)
		if len(problems) > 0 {
			return "", fieldErr("dialect", "Aurora DSQL would refuse this document: %s", strings.Join(problems, "; "))
		}
		notes = n
	}
	order := dependencyOrder(&d)
	names := newNamer(&d)

	var b strings.Builder
	fmt.Fprintf(&b, "-- hotrow schema document %s %s, version %d\n", d.ID, strconv.Quote(d.Name), d.Version)
	fmt.Fprintf(&b, "-- dialect: %s\n", dialect)
	if dialect == DSQL {
		b.WriteString("-- Aurora DSQL runs one DDL statement per transaction: each statement below is its own transaction.\n")
		for _, n := range notes {
			b.WriteString("-- " + n + "\n")
		}
	}
	b.WriteString("\n")
	if dialect == Postgres {
		b.WriteString("BEGIN;\n\n")
	}

	created := map[string]bool{}
	var deferred []string
	var indexes []string
	for _, t := range order {
		var lines []string
		var pk []string
		for _, c := range t.Columns {
			lines = append(lines, "    "+columnSQL(c))
			if c.PrimaryKey {
				pk = append(pk, QuoteIdent(c.Name))
			}
		}
		if len(pk) > 0 {
			lines = append(lines, fmt.Sprintf("    CONSTRAINT %s PRIMARY KEY (%s)",
				QuoteIdent(names.pick(t.Name, "pkey")), strings.Join(pk, ", ")))
		}
		for _, c := range t.Columns {
			if !c.Unique {
				continue
			}
			n := QuoteIdent(names.pick(t.Name+"_"+c.Name, "key"))
			if dialect == DSQL {
				indexes = append(indexes, fmt.Sprintf("CREATE UNIQUE INDEX ASYNC %s ON %s (%s);",
					n, QuoteIdent(t.Name), QuoteIdent(c.Name)))
			} else {
				lines = append(lines, fmt.Sprintf("    CONSTRAINT %s UNIQUE (%s)", n, QuoteIdent(c.Name)))
			}
		}
		created[t.ID] = true
		if dialect == Postgres {
			for _, r := range d.Relations {
				if r.FromTable != t.ID {
					continue
				}
				fk := fkSQL(&d, r, names)
				if created[r.ToTable] {
					lines = append(lines, "    "+fk)
				} else {
					deferred = append(deferred, fmt.Sprintf("ALTER TABLE %s ADD %s;", QuoteIdent(t.Name), fk))
				}
			}
		}
		stmt := fmt.Sprintf("CREATE TABLE %s (\n%s\n);", QuoteIdent(t.Name), strings.Join(lines, ",\n"))
		if len(lines) == 0 {
			stmt = fmt.Sprintf("CREATE TABLE %s ();", QuoteIdent(t.Name))
		}
		writeStmt(&b, dialect, stmt)
	}
	for _, s := range deferred {
		writeStmt(&b, dialect, s)
	}
	for _, s := range indexes {
		writeStmt(&b, dialect, s)
	}
	if dialect == Postgres {
		b.WriteString("COMMIT;\n")
	} else if len(d.Relations) > 0 {
		b.WriteString("-- Aurora DSQL does not support foreign keys; enforce these relations in the application:\n")
		for _, t := range order {
			for _, r := range d.Relations {
				if r.FromTable == t.ID {
					fmt.Fprintf(&b, "-- %s: %s\n", QuoteIdent(t.Name), fkSQL(&d, r, names))
				}
			}
		}
	}
	return b.String(), nil
}

func writeStmt(b *strings.Builder, dialect Dialect, stmt string) {
	if dialect == DSQL {
		b.WriteString("BEGIN;\n")
		b.WriteString(stmt)
		b.WriteString("\nCOMMIT;\n\n")
		return
	}
	b.WriteString(stmt)
	b.WriteString("\n\n")
}

func columnSQL(c Column) string {
	t, _ := ParseType(c.Type)
	s := QuoteIdent(c.Name) + " " + t.String()
	if !c.Nullable {
		s += " NOT NULL"
	}
	if c.Default != nil {
		s += " DEFAULT " + t.DefaultSQL(*c.Default)
	}
	return s
}

func fkSQL(d *Doc, r Relation, names *namer) string {
	ft, tt := d.Table(r.FromTable), d.Table(r.ToTable)
	fc, tc := ft.Column(r.FromColumn), tt.Column(r.ToColumn)
	n := names.fk(r.ID, ft.Name+"_"+fc.Name)
	return fmt.Sprintf("CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s) ON DELETE %s",
		QuoteIdent(n), QuoteIdent(fc.Name), QuoteIdent(tt.Name), QuoteIdent(tc.Name), OnDeleteActions[r.OnDelete])
}

// dependencyOrder sorts tables so that a referenced table comes before the
// tables that reference it, breaking ties (and cycles) by creation order.
func dependencyOrder(d *Doc) []*Table {
	deps := map[string]map[string]bool{}
	for _, r := range d.Relations {
		if r.FromTable == r.ToTable {
			continue
		}
		if deps[r.FromTable] == nil {
			deps[r.FromTable] = map[string]bool{}
		}
		deps[r.FromTable][r.ToTable] = true
	}
	done := map[string]bool{}
	var out []*Table
	for len(out) < len(d.Tables) {
		progressed := false
		for i := range d.Tables {
			t := &d.Tables[i]
			if done[t.ID] {
				continue
			}
			ready := true
			for dep := range deps[t.ID] {
				if !done[dep] {
					ready = false
					break
				}
			}
			if ready {
				done[t.ID] = true
				out = append(out, t)
				progressed = true
				break // restart: keep creation order among ready tables
			}
		}
		if !progressed { // a cycle: take the oldest remaining table
			for i := range d.Tables {
				if t := &d.Tables[i]; !done[t.ID] {
					done[t.ID] = true
					out = append(out, t)
					break
				}
			}
		}
	}
	return out
}

// namer picks constraint and index names that collide with no table and
// with no other chosen name, as PostgreSQL's ChooseRelationName does.
type namer struct {
	taken map[string]bool
	fks   map[string]string
}

func newNamer(d *Doc) *namer {
	n := &namer{taken: map[string]bool{}, fks: map[string]string{}}
	for _, t := range d.Tables {
		n.taken[t.Name] = true
	}
	return n
}

func (n *namer) pick(base, suffix string) string {
	for i := 0; ; i++ {
		s := suffix
		if i > 0 {
			s += strconv.Itoa(i)
		}
		name := textutil.CutBytes(base, MaxIdentBytes-len(s)-1) + "_" + s
		if !n.taken[name] {
			n.taken[name] = true
			return name
		}
	}
}

// fk names a relation's constraint once, so the postgres and comment forms
// agree.
func (n *namer) fk(id, base string) string {
	if s, ok := n.fks[id]; ok {
		return s
	}
	s := n.pick(base, "fkey")
	n.fks[id] = s
	return s
}
