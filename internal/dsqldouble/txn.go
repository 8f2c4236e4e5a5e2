package dsqldouble

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// txn is a session's transaction as DSQL sees it.
//
// How conflicts surface at COMMIT. Upstream, every transaction runs at
// REPEATABLE READ, which gives it the snapshot a DSQL transaction has and
// detects the same write-write conflicts; but PostgreSQL reports them at the
// second write (after waiting for the first writer's row lock), where DSQL
// lets both writes run and fails the later COMMIT. So before each statement
// that can conflict (DML, SELECT ... FOR UPDATE / FOR KEY SHARE, DDL) the
// double sets a savepoint of its own. When PostgreSQL refuses the statement
// for a concurrent transaction's sake (40001; 40P01; 23505 on a table
// another transaction wrote since this one started), the double rolls back
// to the savepoint, marks the transaction doomed and answers the statement
// as it would have run on the transaction's snapshot; the COMMIT then fails
// with 40001 OC000, and nothing of the transaction is kept. PostgreSQL only
// refuses the later statement once the earlier writer has committed, so the
// earlier transaction is the one that committed first: first committer wins,
// as on DSQL. What differs: a writer may wait for another's row lock before
// its answer (DSQL never waits), and a doomed statement's answer is computed
// on the snapshot only for the forms the double can rewrite (see
// synthesize); for the others the conflict is reported at the statement.
type txn struct {
	explicit bool   // the client said BEGIN
	beginSQL string // the client's BEGIN, sent upstream when the transaction first needs it
	upOpen   bool   // an upstream transaction is open
	failed   bool   // an error: 25P02 until the end
	doomed   *pgproto3.ErrorResponse

	started  bool      // a statement ran upstream
	startSeq int64     // the commit number when it did (see cluster)
	began    time.Time // and the time

	ddl    int
	dml    bool
	schema bool // a DDL that changed the schema (not one IF [NOT] EXISTS skipped)
	rows   int
	tables map[string]bool
	jobs   []*job
	sp     bool // the double's savepoint exists
}

const savepointName = "dsqldouble_w"

func commandComplete(tag string) *pgproto3.CommandComplete {
	return &pgproto3.CommandComplete{CommandTag: []byte(tag)}
}

func warning(code, msg string) *pgproto3.NoticeResponse {
	return &pgproto3.NoticeResponse{Severity: "WARNING", SeverityUnlocalized: "WARNING", Code: code, Message: msg}
}

// openUpstream opens the upstream transaction if none is.
func (s *session) openUpstream() error {
	if s.tx.upOpen {
		return nil
	}
	begin := "BEGIN"
	if s.tx.beginSQL != "" {
		begin = s.tx.beginSQL
	}
	if err := s.mustExec(begin); err != nil {
		return err
	}
	s.tx.upOpen = true
	return nil
}

// mustExec runs the double's own statements; an error from them is a fault
// of the double, and ends the session.
func (s *session) mustExec(sqls ...string) error {
	r, err := s.up.execSQL(sqls...)
	if err != nil {
		return err
	}
	if r.err != nil {
		return fmt.Errorf("upstream %q: %s (%s)", sqls, r.err.Message, r.err.Code)
	}
	return nil
}

func (s *session) markStarted() {
	if !s.tx.started {
		s.tx.started = true
		s.tx.startSeq = s.d.cluster.current()
		s.tx.began = s.d.now()
	}
}

// run runs one classified statement; exec sends it upstream.
func (s *session) run(info *stmtInfo, pt *portal, exec func() (result, error)) error {
	if s.tx.failed && info.kind != kCommit && info.kind != kRollback {
		// golden transaction.json:aborted_txn_prefers_25P02
		s.fail(inFailedTxn())
		return nil
	}
	if info.refuse != nil {
		s.fail(info.refuse)
		return nil
	}
	switch info.kind {
	case kBegin:
		s.begin(info)
		return nil
	case kCommit:
		return s.end(true)
	case kRollback:
		return s.end(false)
	case kWaitForJob:
		return s.waitForJob(info, pt)
	case kIndexAsync:
		return s.indexAsync(info)
	}
	if e := s.mixRefusal(info.kind); e != nil {
		s.fail(e)
		return nil
	}
	if info.kind == kOther && s.simple && !s.tx.explicit && !s.tx.upOpen {
		// SET, DISCARD, ... outside a transaction: as they are, since some
		// cannot run inside a transaction block.
		r, err := exec()
		if err != nil {
			return err
		}
		s.out = append(s.out, r.msgs...)
		if r.err != nil {
			s.failed()
		}
		return nil
	}
	if err := s.openUpstream(); err != nil {
		return err
	}
	s.markStarted()
	conflicts := info.kind.canConflict()
	if conflicts {
		if err := s.savepoint(); err != nil {
			return err
		}
	}
	r, err := exec()
	if err != nil {
		return err
	}
	if r.err != nil {
		if conflicts && s.isConflict(info, r.err) {
			return s.doom(info, pt)
		}
		s.out = append(s.out, r.msgs...)
		s.failed()
		return nil
	}
	s.succeeded(info, r.msgs)
	return nil
}

// mixRefusal enforces one DDL statement per transaction, never beside DML.
func (s *session) mixRefusal(k kind) *pgproto3.ErrorResponse {
	ddl := k == kDDL || k == kIndexAsync
	switch {
	case ddl && s.tx.dml:
		return ddlAndDML()
	case ddl && s.tx.ddl > 0:
		return twoDDL()
	case k == kDML && s.tx.ddl > 0:
		return ddlAndDML()
	}
	return nil
}

// succeeded answers a statement that ran, counting what DSQL counts.
func (s *session) succeeded(info *stmtInfo, msgs []pgproto3.BackendMessage) {
	switch info.kind {
	case kDML:
		s.tx.dml = true
		if s.tx.tables == nil {
			s.tx.tables = map[string]bool{}
		}
		for _, t := range info.tables {
			s.tx.tables[t] = true
		}
		s.tx.rows += rowsOf(result{msgs: msgs}.tag())
		if s.tx.rows > s.d.maxRows {
			// The statement that crosses the limit fails, and with it the
			// transaction (golden transaction.json:row_cap; exactly 3,000
			// is fine: row_cap_boundary).
			s.fail(rowLimit())
			return
		}
	case kDDL:
		s.tx.ddl++
		if !skipped(msgs) {
			s.tx.schema = true
		}
	}
	s.out = append(s.out, msgs...)
}

// rowsOf reads the row count of a DML command tag.
func rowsOf(tag string) int {
	f := strings.Fields(tag)
	if len(f) == 0 {
		return 0
	}
	var n string
	switch f[0] {
	case "INSERT":
		if len(f) == 3 {
			n = f[2]
		}
	case "UPDATE", "DELETE", "MERGE", "COPY":
		if len(f) == 2 {
			n = f[1]
		}
	}
	v, _ := strconv.Atoi(n)
	return v
}

// skipped reports whether PostgreSQL skipped a DDL statement because of IF
// [NOT] EXISTS.
func skipped(msgs []pgproto3.BackendMessage) bool {
	for _, m := range msgs {
		if n, ok := m.(*pgproto3.NoticeResponse); ok && strings.HasSuffix(n.Message, "skipping") {
			return true
		}
	}
	return false
}

func (s *session) savepoint() error {
	if s.tx.sp {
		return s.mustExec("RELEASE SAVEPOINT "+savepointName, "SAVEPOINT "+savepointName)
	}
	if err := s.mustExec("SAVEPOINT " + savepointName); err != nil {
		return err
	}
	s.tx.sp = true
	return nil
}

// isConflict reports whether PostgreSQL refused a statement because of a
// concurrent transaction, where DSQL would have run it and checked at
// COMMIT.
func (s *session) isConflict(info *stmtInfo, e *pgproto3.ErrorResponse) bool {
	switch e.Code {
	case "40001", "40P01":
		return true
	case "23505":
		if info.kind == kDDL {
			// Two sessions creating one object race on the catalog.
			return strings.HasPrefix(e.ConstraintName, "pg_")
		}
		// A duplicate of a row this transaction cannot see is a
		// write-write conflict on DSQL; one it can see is a real 23505.
		// Any commit to the table since this transaction started counts
		// as the former (the retry then sees the row and gets the 23505).
		return s.d.cluster.tableWrittenSince(e.TableName, s.tx.startSeq)
	case "42P07", "42710":
		return info.kind == kDDL && s.d.cluster.schemaChangedSince(s.id, s.tx.startSeq, s.tx.began, 0)
	case "XX000":
		return info.kind == kDDL && strings.Contains(e.Message, "concurrently")
	}
	return false
}

// doom takes a conflicting statement back and answers it as DSQL would
// have, leaving the failure to COMMIT.
func (s *session) doom(info *stmtInfo, pt *portal) error {
	if err := s.mustExec("ROLLBACK TO SAVEPOINT " + savepointName); err != nil {
		return err
	}
	if info.kind == kDDL {
		s.tx.ddl++
		s.tx.doomed = conflictSchema()
		s.out = append(s.out, commandComplete(info.tag))
		return nil
	}
	if s.tx.doomed == nil {
		s.tx.doomed = conflictData()
	}
	msgs, ok, err := s.synthesize(info, pt)
	if err != nil {
		return err
	}
	if !ok {
		s.fail(conflictData())
		return nil
	}
	s.succeeded(info, msgs)
	return nil
}

// begin answers BEGIN. The upstream transaction starts with the first
// statement that needs it, as DSQL's snapshot does.
func (s *session) begin(info *stmtInfo) {
	switch {
	case s.tx.explicit:
		s.out = append(s.out, warning("25001", "there is already a transaction in progress"))
	case s.tx.upOpen:
		s.tx.explicit = true // an implicit block of a simple query becomes explicit
	default:
		s.tx = txn{explicit: true, beginSQL: info.sql}
	}
	s.out = append(s.out, commandComplete("BEGIN"))
}

// end answers COMMIT (commit) or ROLLBACK.
func (s *session) end(commit bool) error {
	tag := "ROLLBACK"
	if commit {
		tag = "COMMIT"
	}
	if !s.tx.explicit && !s.tx.upOpen {
		s.out = append(s.out, warning("25P01", "there is no transaction in progress"), commandComplete(tag))
		return nil
	}
	tag, e, err := s.finish(commit)
	if err != nil {
		return err
	}
	if s.cut {
		return nil
	}
	if e != nil {
		s.out = append(s.out, e)
		s.errored = true
		if !s.simple {
			s.skip = true
		}
		return nil
	}
	s.out = append(s.out, commandComplete(tag))
	return nil
}

var errCommitRefused = errors.New("upstream refused COMMIT")

// finish ends the transaction: tag on success, e when the COMMIT fails.
// A failed transaction's COMMIT answers ROLLBACK (golden
// transaction.json:read_only, rejection_aborts_txn).
func (s *session) finish(commit bool) (tag string, e *pgproto3.ErrorResponse, err error) {
	tx := s.tx
	s.tx = txn{}
	clear(s.portals)
	if !tx.upOpen {
		if commit && !tx.failed {
			return "COMMIT", nil, nil
		}
		return "ROLLBACK", nil, nil
	}
	rollback := func() error { return s.mustExec("ROLLBACK") }
	switch {
	case !commit || tx.failed:
		return "ROLLBACK", nil, rollback()
	case tx.doomed != nil:
		return "", tx.doomed, rollback()
	case (tx.dml || tx.ddl > 0) && s.d.cluster.schemaChangedSince(s.id, tx.startSeq, tx.began, s.d.settle):
		return "", conflictSchema(), rollback()
	}
	var refused *pgproto3.ErrorResponse
	upCommit := func() error {
		r, err := s.up.execSQL("COMMIT")
		if err != nil {
			return err
		}
		if r.err != nil {
			refused = r.err
			return errCommitRefused
		}
		return nil
	}
	if tx.dml || tx.ddl > 0 {
		err = s.d.cluster.commit(s.id, tx.tables, tx.schema, s.d.now, upCommit)
	} else {
		err = upCommit() // a reader: nothing for the others to know
	}
	if refused != nil {
		return "", refused, nil
	}
	if err != nil {
		return "", nil, err
	}
	if len(tx.jobs) > 0 {
		if err := s.d.jobs.submit(s.ctx, tx.jobs); err != nil {
			return "", nil, err
		}
	}
	if s.d.cutNextCommit.CompareAndSwap(true, false) {
		s.cut = true // committed; the answer is lost with the connection
	}
	return "COMMIT", nil, nil
}

// waitForJob answers CALL sys.wait_for_job(id): it returns once the job is
// done. A malformed id is refused as recorded (golden
// index.json:sys_call_wait_for_job_literal).
func (s *session) waitForJob(info *stmtInfo, pt *portal) error {
	id := info.jobArg.literal
	if n := info.jobArg.param; n > 0 {
		if pt == nil || n > len(pt.bind.Parameters) {
			s.fail(sqlError("08P01", "bind message supplies too few parameters for sys.wait_for_job"))
			return nil
		}
		id = string(pt.bind.Parameters[n-1])
	}
	if !jobIDPattern.MatchString(id) {
		s.fail(badJobID())
		return nil
	}
	if err := s.d.jobs.wait(s.ctx, id); err != nil {
		return err
	}
	s.out = append(s.out, commandComplete("CALL"))
	return nil
}

// indexAsync answers CREATE INDEX ASYNC with a job id at once (golden
// index.json:create_index_async: tag CREATE INDEX, one row, column job_id);
// the index is built after the transaction commits.
func (s *session) indexAsync(info *stmtInfo) error {
	if e := s.mixRefusal(kIndexAsync); e != nil {
		s.fail(e)
		return nil
	}
	if err := s.openUpstream(); err != nil {
		return err
	}
	s.markStarted()
	ix := info.index
	exists := false
	if ix.table != "" {
		name := ix.name
		if name == "" {
			name = ix.table
		}
		r, err := s.up.exec(internal{
			sql:    `SELECT to_regclass(quote_ident($1)) IS NOT NULL, to_regclass(quote_ident($2)) IS NOT NULL`,
			oids:   []uint32{25, 25},
			params: [][]byte{[]byte(ix.table), []byte(name)},
		})
		if err != nil {
			return err
		}
		if r.err != nil {
			s.out = append(s.out, r.err)
			s.failed()
			return nil
		}
		var row []string
		for _, m := range r.msgs {
			if dr, ok := m.(*pgproto3.DataRow); ok {
				for _, v := range dr.Values {
					row = append(row, string(v))
				}
			}
		}
		if len(row) != 2 || row[0] != "t" {
			s.fail(sqlError(codeUndefinedTable, "relation %q does not exist", ix.table))
			return nil
		}
		exists = ix.name != "" && row[1] == "t"
		if exists && !ix.ifNotExists {
			s.fail(sqlError(codeDuplicateTable, "relation %q already exists", ix.name))
			return nil
		}
	}
	jb := s.d.jobs.newJob(ix, exists)
	s.tx.jobs = append(s.tx.jobs, jb)
	s.tx.ddl++
	if !exists {
		s.tx.schema = true
	}
	if s.simple {
		s.out = append(s.out, &pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{jobIDField(0)}})
	}
	s.out = append(s.out, &pgproto3.DataRow{Values: [][]byte{[]byte(jb.id)}}, commandComplete("CREATE INDEX"))
	return nil
}
