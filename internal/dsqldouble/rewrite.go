package dsqldouble

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
)

// synthesize answers a statement PostgreSQL refused for a concurrent
// transaction's sake with what it would have answered on the transaction's
// own snapshot, which DSQL does before it fails the COMMIT. PostgreSQL
// cannot run the write itself (that is why it refused), so the answer is
// computed without it, after the double has rolled back to its savepoint:
//
//   - INSERT ... VALUES (n rows) without RETURNING: "INSERT 0 n" (with ON
//     CONFLICT only for one row: PostgreSQL refuses it only when the
//     conflicting row is invisible to the snapshot, so on the snapshot the
//     row goes in);
//   - UPDATE or DELETE of one table with a WHERE clause and no FROM, USING
//     or RETURNING: the rows that SELECT count(*) FROM it WHERE the same
//     condition finds, with the same parameters;
//   - SELECT ... FOR UPDATE / FOR KEY SHARE: the same query without its
//     locking clause.
//
// Other forms report ok = false, and the conflict is then reported at the
// statement. The transaction does not see its own doomed write afterwards;
// it cannot commit anyway.
func (s *session) synthesize(info *stmtInfo, pt *portal) (msgs []pgproto3.BackendMessage, ok bool, err error) {
	switch info.kind {
	case kDML:
		if n, ok := insertRows(info.toks); ok {
			return []pgproto3.BackendMessage{commandComplete(fmt.Sprintf("INSERT 0 %d", n))}, true, nil
		}
		sql, verb, ok := countRewrite(info)
		if !ok {
			return nil, false, nil
		}
		st, err := s.withParams(internal{sql: sql}, pt, false)
		if err != nil {
			return nil, false, err
		}
		r, err := s.up.exec(st)
		if err != nil || r.err != nil {
			return nil, false, err
		}
		for _, m := range r.msgs {
			if dr, ok := m.(*pgproto3.DataRow); ok && len(dr.Values) == 1 {
				return []pgproto3.BackendMessage{commandComplete(verb + " " + string(dr.Values[0]))}, true, nil
			}
		}
	case kLocking:
		st, err := s.withParams(internal{sql: stripLocking(info), describe: s.simple}, pt, true)
		if err != nil {
			return nil, false, err
		}
		r, err := s.up.exec(st)
		if err != nil || r.err != nil {
			return nil, false, err
		}
		return r.msgs, true, nil
	}
	return nil, false, nil
}

// withParams gives a rewritten statement the client's parameters (and,
// when results, its result formats).
func (s *session) withParams(st internal, pt *portal, results bool) (internal, error) {
	if pt == nil {
		return st, nil
	}
	oids := pt.stmt.oids
	if len(oids) < len(pt.bind.Parameters) {
		r, err := s.up.roundTrip(&pgproto3.Describe{ObjectType: 'S', Name: pt.stmt.name})
		if err != nil {
			return st, err
		}
		for _, m := range r.msgs {
			if pd, ok := m.(*pgproto3.ParameterDescription); ok {
				oids = pd.ParameterOIDs
			}
		}
	}
	st.oids, st.params, st.paramFormats = oids, pt.bind.Parameters, pt.bind.ParameterFormatCodes
	if results {
		st.resultFormats = pt.bind.ResultFormatCodes
	}
	return st, nil
}

// insertRows counts the rows of INSERT ... VALUES (...), (...) or DEFAULT
// VALUES; ok is false for other forms, RETURNING, and ON CONFLICT with more
// than one row.
func insertRows(toks []token) (n int, ok bool) {
	if len(toks) < 3 || !toks[0].is("INSERT") {
		return 0, false
	}
	values, onConflict := false, false
	for i, t := range toks {
		if t.depth != 0 {
			continue
		}
		switch {
		case t.is("RETURNING"), t.is("SELECT"), t.is("WITH"):
			return 0, false
		case t.is("DEFAULT") && i+1 < len(toks) && toks[i+1].is("VALUES"):
			n, values = 1, true
		case t.is("VALUES") && !values:
			values = true
		case t.is("ON") && i+1 < len(toks) && toks[i+1].is("CONFLICT"):
			onConflict = true
		case t.text == "(" && values && !onConflict:
			n++
		}
	}
	if !values || n == 0 || onConflict && n != 1 {
		return 0, false
	}
	return n, true
}

// countRewrite turns a simple UPDATE or DELETE into the SELECT count(*)
// that finds the rows it would change.
func countRewrite(info *stmtInfo) (sql, verb string, ok bool) {
	toks := info.toks
	var from, where int = -1, -1
	switch {
	case len(toks) > 1 && toks[0].is("UPDATE"):
		verb = "UPDATE"
		set := -1
		for i, t := range toks {
			if t.depth != 0 {
				continue
			}
			switch {
			case t.is("SET") && set < 0:
				set = i
			case set < 0:
			case t.is("FROM"), t.is("RETURNING"):
				return "", "", false
			case t.is("WHERE") && where < 0:
				where = i
			}
		}
		if set < 0 {
			return "", "", false
		}
		sql = "SELECT count(*) FROM " + info.sql[toks[0].end:toks[set].pos]
	case len(toks) > 2 && toks[0].is("DELETE") && toks[1].is("FROM"):
		verb = "DELETE"
		from = 1
		for i, t := range toks {
			if t.depth != 0 || i <= from {
				continue
			}
			switch {
			case t.is("USING"), t.is("RETURNING"):
				return "", "", false
			case t.is("WHERE") && where < 0:
				where = i
			}
		}
		end := len(info.sql)
		if where >= 0 {
			end = toks[where].pos
		}
		sql = "SELECT count(*) FROM " + info.sql[toks[from].end:end]
	default:
		return "", "", false
	}
	if where >= 0 {
		if where+1 < len(toks) && toks[where+1].is("CURRENT") {
			return "", "", false
		}
		sql += " WHERE " + info.sql[toks[where].end:]
	}
	return sql, verb, true
}

// stripLocking removes FOR UPDATE / FOR KEY SHARE clauses (with OF,
// NOWAIT, SKIP LOCKED) from a query.
func stripLocking(info *stmtInfo) string {
	toks := info.toks
	var b strings.Builder
	last := 0
	for i := 0; i < len(toks); i++ {
		if !toks[i].is("FOR") || i+1 >= len(toks) {
			continue
		}
		j := i + 1
		switch {
		case toks[j].is("UPDATE"):
			j++
		case toks[j].is("KEY") && j+1 < len(toks) && toks[j+1].is("SHARE"):
			j += 2
		default:
			continue
		}
		if j < len(toks) && toks[j].is("OF") {
			j++
			for j < len(toks) && (toks[j].kind == tIdent || toks[j].text == "." || toks[j].text == "," ||
				toks[j].kind == tWord && !toks[j].is("NOWAIT") && !toks[j].is("SKIP") && !toks[j].is("FOR")) {
				j++
			}
		}
		if j < len(toks) && toks[j].is("NOWAIT") {
			j++
		} else if j+1 < len(toks) && toks[j].is("SKIP") && toks[j+1].is("LOCKED") {
			j += 2
		}
		b.WriteString(info.sql[last:toks[i].pos])
		last = toks[j-1].end
		i = j - 1
	}
	b.WriteString(info.sql[last:])
	return b.String()
}
