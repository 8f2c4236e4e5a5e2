package dsqldouble

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
)

// kind is what the double does with a statement.
type kind int

const (
	kRead       kind = iota + 1 // SELECT, SHOW, VALUES, ...: forwarded
	kLocking                    // SELECT ... FOR UPDATE / FOR KEY SHARE: forwarded, may conflict
	kDML                        // INSERT, UPDATE, DELETE, MERGE, data-modifying WITH
	kDDL                        // CREATE, ALTER, DROP, COMMENT, GRANT, REVOKE
	kBegin                      // BEGIN / START TRANSACTION: the double's own
	kCommit                     // COMMIT / END: the double's own
	kRollback                   // ROLLBACK / ABORT: the double's own
	kIndexAsync                 // CREATE INDEX ASYNC: answered with a job id, built after COMMIT
	kWaitForJob                 // CALL sys.wait_for_job(...): answered by the double
	kOther                      // SET, CALL, DISCARD, ...: forwarded
)

// virtual reports whether the double answers the statement itself rather
// than forwarding it.
func (k kind) virtual() bool {
	switch k {
	case kBegin, kCommit, kRollback, kIndexAsync, kWaitForJob:
		return true
	}
	return false
}

// canConflict reports whether the statement takes part in DSQL's
// optimistic concurrency check, so PostgreSQL may refuse it for a
// concurrent transaction's sake.
func (k kind) canConflict() bool { return k == kDML || k == kLocking || k == kDDL }

// stmtInfo is a classified statement.
type stmtInfo struct {
	sql    string
	toks   []token
	kind   kind
	refuse *pgproto3.ErrorResponse // answered instead of running it
	tables []string                // tables a DML statement writes ("" when unknown)
	tag    string                  // DDL: its command tag
	index  *indexAsync             // kIndexAsync
	jobArg jobArg                  // kWaitForJob
}

// indexAsync is a parsed CREATE [UNIQUE] INDEX ASYNC.
type indexAsync struct {
	name, table string // name "" when the server picks it
	ifNotExists bool
	build       string // the statement without ASYNC, run after COMMIT
}

// jobArg is sys.wait_for_job's argument: a literal or a parameter.
type jobArg struct {
	literal string
	param   int // 1-based; 0 for a literal
}

// jobIDPattern is the recorded form of a job id: 26 lowercase base32
// characters (golden index.json:create_index_async and sys_jobs_columns).
var jobIDPattern = regexp.MustCompile(`^[a-z2-7]{26}$`)

var serialTypes = map[string]bool{"SERIAL": true, "SERIAL2": true, "SERIAL4": true, "SERIAL8": true,
	"SMALLSERIAL": true, "BIGSERIAL": true}

// classify decides what a single statement is, and whether DSQL refuses it.
func classify(sql string) *stmtInfo {
	toks := lex(sql)
	s := &stmtInfo{sql: sql, toks: toks, kind: kRead}
	if len(toks) == 0 {
		return s
	}
	w := func(i int) string {
		if i < len(toks) && toks[i].kind == tWord {
			return toks[i].up
		}
		return ""
	}
	if r := waitForJobMisuse(toks); r != nil && w(0) != "CALL" {
		s.refuse = r
		return s
	}
	switch w(0) {
	case "BEGIN", "START":
		s.kind = kBegin
		s.refuse = isolationRefusal(toks)
	case "COMMIT", "END":
		s.kind = kCommit
	case "ROLLBACK", "ABORT":
		s.kind = kRollback
		for i := 1; i < len(toks); i++ {
			if toks[i].is("TO") {
				s.refuse = unsupportedTxnStatement("ROLLBACK TO")
			}
		}
	case "SAVEPOINT":
		s.refuse = unsupportedTxnStatement("SAVEPOINT")
	case "RELEASE":
		s.refuse = unsupportedTxnStatement("RELEASE")
	case "SET":
		s.kind = kOther
		s.refuse = setRefusal(toks)
	case "TRUNCATE":
		s.refuse = unsupportedStatement("Truncate")
	case "VACUUM":
		s.refuse = sqlError(codeFeatureNotSupported, "unsupported VACUUM statement") // golden unsupported.json:vacuum
	case "LISTEN":
		s.refuse = unsupportedStatement("Listen")
	case "NOTIFY":
		s.refuse = unsupportedStatement("Notify")
	case "UNLISTEN":
		s.refuse = unsupportedStatement("Unlisten")
	case "INSERT", "UPDATE", "DELETE", "MERGE":
		s.kind = kDML
		s.tables = writtenTables(toks)
	case "WITH":
		if t := writtenTables(toks); len(t) > 0 {
			s.kind, s.tables = kDML, t
		} else {
			s.kind, s.refuse = lockingKind(toks)
		}
	case "SELECT", "TABLE", "VALUES":
		s.kind, s.refuse = lockingKind(toks)
	case "CALL":
		s.kind = kOther
		if isWaitForJob(toks, 1) {
			s.kind = kWaitForJob
			s.jobArg, s.refuse = parseJobArg(toks)
		}
	case "CREATE":
		s.kind = kDDL
		s.tag = ddlTag(toks)
		s.refuse = createRefusal(s, toks)
	case "ALTER":
		s.kind = kDDL
		s.tag = ddlTag(toks)
		if w(1) == "SYSTEM" {
			s.refuse = unsupportedStatement("AlterSystem")
		} else if w(1) == "TABLE" {
			s.refuse = serialRefusal(toks)
		}
	case "DROP", "COMMENT", "GRANT", "REVOKE":
		s.kind = kDDL
		s.tag = ddlTag(toks)
	case "SHOW", "EXPLAIN":
		s.kind = kRead
	default:
		s.kind = kOther
	}
	return s
}

// waitForJobMisuse refuses sys.wait_for_job anywhere but as CALL's
// procedure.
func waitForJobMisuse(toks []token) *pgproto3.ErrorResponse {
	for i := range toks {
		if isWaitForJob(toks, i) && (i == 0 || !toks[i-1].is("CALL")) {
			return waitForJobIsProcedure()
		}
	}
	return nil
}

// isWaitForJob reports whether toks[i:] starts with sys.wait_for_job(.
func isWaitForJob(toks []token, i int) bool {
	return i+3 < len(toks) && toks[i].is("SYS") && toks[i+1].text == "." &&
		toks[i+2].is("WAIT_FOR_JOB") && toks[i+3].text == "("
}

// parseJobArg reads CALL sys.wait_for_job(<arg>).
func parseJobArg(toks []token) (jobArg, *pgproto3.ErrorResponse) {
	var args []token
	for _, t := range toks[5:] {
		if t.text == ")" && t.depth == 0 {
			break
		}
		args = append(args, t)
	}
	for _, t := range args {
		if t.is("SELECT") {
			return jobArg{}, subqueryInCall()
		}
	}
	if len(args) == 1 && args[0].kind == tParam {
		n, _ := strconv.Atoi(args[0].text[1:])
		return jobArg{param: n}, nil
	}
	if len(args) == 1 && args[0].kind == tString {
		return jobArg{literal: args[0].up}, nil
	}
	// Anything else is not text a job id can be read from.
	return jobArg{}, badJobID()
}

// isolationRefusal refuses BEGIN with an isolation level other than the
// default REPEATABLE READ (golden isolation.json:begin_serializable refused,
// begin_repeatable_read accepted).
func isolationRefusal(toks []token) *pgproto3.ErrorResponse {
	for i := 0; i+2 < len(toks); i++ {
		if toks[i].is("ISOLATION") && toks[i+1].is("LEVEL") {
			lvl := toks[i+2].up
			if i+3 < len(toks) && toks[i+3].kind == tWord && (lvl == "READ" || lvl == "REPEATABLE") {
				lvl += " " + toks[i+3].up
			}
			if lvl != "REPEATABLE READ" {
				return unsupportedIsolation(lvl)
			}
		}
	}
	return nil
}

// setRefusal refuses SET TRANSACTION and the isolation settings (golden
// isolation.json, transaction.json:read_only).
func setRefusal(toks []token) *pgproto3.ErrorResponse {
	i := 1
	if i < len(toks) && (toks[i].is("SESSION") || toks[i].is("LOCAL")) {
		i++
	}
	if i >= len(toks) {
		return nil
	}
	switch {
	case toks[i].is("TRANSACTION"), toks[i].is("CHARACTERISTICS"):
		for j := i; j+2 < len(toks); j++ {
			if toks[j].is("ISOLATION") && toks[j+1].is("LEVEL") && toks[j+2].is("SERIALIZABLE") {
				return unsupportedIsolation("SERIALIZABLE")
			}
		}
		return settingNotSupported("TRANSACTION")
	case toks[i].is("DEFAULT_TRANSACTION_ISOLATION"), toks[i].is("TRANSACTION_ISOLATION"):
		return settingNotSupported(strings.ToLower(toks[i].text))
	}
	return nil
}

// lockingKind sorts a query by its locking clauses: FOR UPDATE and FOR KEY
// SHARE take part in the conflict check; FOR SHARE and FOR NO KEY UPDATE
// are refused (golden occ.json).
func lockingKind(toks []token) (kind, *pgproto3.ErrorResponse) {
	k := kRead
	for i := 0; i+1 < len(toks); i++ {
		if !toks[i].is("FOR") {
			continue
		}
		switch n := toks[i+1]; {
		case n.is("UPDATE"):
			k = kLocking
		case n.is("KEY") && i+2 < len(toks) && toks[i+2].is("SHARE"):
			k = kLocking
		case n.is("SHARE"), n.is("NO") && i+2 < len(toks) && toks[i+2].is("KEY"):
			return k, lockingClause()
		}
	}
	return k, nil
}

// writtenTables lists the tables a statement inserts into, updates or
// deletes from, lower-cased and without schema; nil when it writes none.
func writtenTables(toks []token) []string {
	var out []string
	for i, t := range toks {
		var at int
		switch {
		case t.is("INSERT") && i+1 < len(toks) && toks[i+1].is("INTO"):
			at = i + 2
		case t.is("MERGE") && i+1 < len(toks) && toks[i+1].is("INTO"):
			at = i + 2
		case t.is("DELETE") && i+1 < len(toks) && toks[i+1].is("FROM"):
			at = i + 2
		case t.is("UPDATE") && (i == 0 || !(toks[i-1].is("FOR") || toks[i-1].is("KEY") || toks[i-1].is("DO"))):
			at = i + 1
		default:
			continue
		}
		if at < len(toks) && toks[at].is("ONLY") {
			at++
		}
		out = append(out, tableName(toks, at))
	}
	return out
}

// tableName reads a possibly qualified name at toks[i] and returns its last
// part, lower-cased unless quoted; "" when there is none.
func tableName(toks []token, i int) string {
	name := ""
	for i < len(toks) && (toks[i].kind == tWord || toks[i].kind == tIdent) {
		if toks[i].kind == tWord {
			name = strings.ToLower(toks[i].text)
		} else {
			name = toks[i].up
		}
		if i+1 < len(toks) && toks[i+1].text == "." {
			i += 2
			continue
		}
		break
	}
	return name
}

// ddlTag is the command tag PostgreSQL answers a DDL statement with: the
// verb and the kind of object (CREATE TABLE, CREATE INDEX, ALTER TABLE, ...).
func ddlTag(toks []token) string {
	verb := toks[0].up
	if verb == "COMMENT" || verb == "GRANT" || verb == "REVOKE" {
		return verb
	}
	for i := 1; i < len(toks) && toks[i].kind == tWord; i++ {
		switch toks[i].up {
		case "OR", "REPLACE", "UNIQUE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL", "CONSTRAINT":
			continue
		case "MATERIALIZED", "FOREIGN":
			if i+1 < len(toks) {
				return verb + " " + toks[i].up + " " + toks[i+1].up
			}
		}
		return verb + " " + toks[i].up
	}
	return verb
}

// createRefusal sorts out CREATE: what DSQL refuses, and CREATE INDEX ASYNC.
func createRefusal(s *stmtInfo, toks []token) *pgproto3.ErrorResponse {
	i := 1
	words := func(j int) string {
		if j < len(toks) && toks[j].kind == tWord {
			return toks[j].up
		}
		return ""
	}
	if words(i) == "OR" && words(i+1) == "REPLACE" {
		i += 2
	}
	switch words(i) {
	case "TEMP", "TEMPORARY":
		return sqlError(codeFeatureNotSupported, "TEMPORARY or TEMP table not supported for CREATE TABLE") // golden unsupported.json:temporary_table
	case "GLOBAL", "LOCAL":
		if w := words(i + 1); w == "TEMP" || w == "TEMPORARY" {
			return sqlError(codeFeatureNotSupported, "TEMPORARY or TEMP table not supported for CREATE TABLE")
		}
	case "UNLOGGED":
		return sqlError(codeFeatureNotSupported, "UNLOGGED table not supported for CREATE TABLE") // golden unsupported.json:unlogged_table
	case "EXTENSION":
		return unsupportedStatement("CreateExtension")
	case "TRIGGER", "CONSTRAINT":
		return sqlError(codeFeatureNotSupported, "CREATE TRIGGER not supported") // golden unsupported.json:create_trigger
	case "DATABASE":
		return unsupportedStatement("Createdb")
	case "TABLESPACE":
		return unsupportedStatement("CreateTableSpace")
	case "FOREIGN":
		return unsupportedStatement("CreateForeignTable")
	case "MATERIALIZED":
		return unsupportedStatement("CreateTableAs")
	case "TYPE":
		return typeRefusal(toks, i)
	case "FUNCTION", "PROCEDURE":
		for j := i; j+1 < len(toks); j++ {
			if toks[j].is("LANGUAGE") && strings.EqualFold(toks[j+1].up, "PLPGSQL") {
				return sqlError(codeFeatureNotSupported, "CREATE FUNCTION with language plpgsql not supported") // golden unsupported.json:create_function_plpgsql
			}
		}
	case "TABLE":
		for j := i + 1; j+1 < len(toks); j++ {
			if toks[j].depth == 0 && toks[j].is("AS") {
				if n := toks[j+1]; n.is("SELECT") || n.is("WITH") || n.is("VALUES") || n.is("TABLE") || n.text == "(" {
					return unsupportedStatement("CreateTableAs")
				}
			}
		}
		return serialRefusal(toks)
	case "UNIQUE", "INDEX":
		return indexRefusal(s, toks, i)
	}
	return nil
}

// typeRefusal: golden unsupported.json:enum_type, composite_type, range_type.
func typeRefusal(toks []token, i int) *pgproto3.ErrorResponse {
	for j := i; j+1 < len(toks); j++ {
		if toks[j].is("AS") {
			switch n := toks[j+1]; {
			case n.is("ENUM"):
				return sqlError(codeFeatureNotSupported, "CREATE TYPE not supported")
			case n.is("RANGE"):
				return unsupportedStatement("CreateRange")
			case n.text == "(":
				return unsupportedStatement("CompositeType")
			}
		}
	}
	return sqlError(codeFeatureNotSupported, "CREATE TYPE not supported")
}

// serialRefusal finds a serial column type in CREATE TABLE or ALTER TABLE
// ... ADD [COLUMN] (golden unsupported.json:serial_column).
func serialRefusal(toks []token) *pgproto3.ErrorResponse {
	for j := 2; j < len(toks); j++ {
		t := toks[j]
		if t.kind != tWord || !serialTypes[t.up] {
			continue
		}
		prev, before := toks[j-1], toks[j-2]
		if prev.kind != tWord && prev.kind != tIdent {
			continue
		}
		if before.text == "(" || before.text == "," || before.is("ADD") || before.is("COLUMN") || before.is("EXISTS") {
			return serialType(strings.ToLower(t.text))
		}
	}
	return nil
}

// indexRefusal parses CREATE [UNIQUE] INDEX: only ASYNC is accepted (golden
// index.json:create_index_sync), and its name may not be schema-qualified
// (create_index_async_qualified).
func indexRefusal(s *stmtInfo, toks []token, i int) *pgproto3.ErrorResponse {
	if toks[i].is("UNIQUE") {
		i++
	}
	if i >= len(toks) || !toks[i].is("INDEX") {
		return nil
	}
	i++
	if i >= len(toks) || !toks[i].is("ASYNC") {
		return syncIndex()
	}
	asyncTok := toks[i]
	i++
	ix := &indexAsync{}
	if i+2 < len(toks) && toks[i].is("IF") && toks[i+1].is("NOT") && toks[i+2].is("EXISTS") {
		ix.ifNotExists = true
		i += 3
	}
	if i < len(toks) && !toks[i].is("ON") && (toks[i].kind == tWord || toks[i].kind == tIdent) {
		if i+1 < len(toks) && toks[i+1].text == "." {
			return syntaxErrorAt(".")
		}
		ix.name = tableName(toks, i)
		i++
	}
	if i < len(toks) && toks[i].is("ON") {
		i++
		if i < len(toks) && toks[i].is("ONLY") {
			i++
		}
		ix.table = tableName(toks, i)
	}
	ix.build = strings.TrimSpace(s.sql[:asyncTok.pos]) + " " + strings.TrimSpace(s.sql[asyncTok.end:])
	s.kind, s.index, s.tag = kIndexAsync, ix, "CREATE INDEX"
	return nil
}
