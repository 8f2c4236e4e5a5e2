package dsqldouble

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgproto3"
)

// The errors the double answers with. Where a real cluster's answer was
// recorded, the message is the recorded one, cited from the conformance
// golden files of the open-source dsql-emulator project
// (github.com/Dreamescaper/dsql-emulator, test/conformance/golden/*.json,
// recorded from Aurora DSQL in 2026-09; "golden F:case" below names the file
// and the case). Messages marked "documented" come from AWS's Aurora DSQL
// user guide; "extrapolated" ones follow a recorded pattern for a case that
// was not recorded.

// sqlError is a SQLSTATE and message, as an ErrorResponse.
func sqlError(code, format string, args ...any) *pgproto3.ErrorResponse {
	return &pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: code, Message: fmt.Sprintf(format, args...)}
}

const (
	codeFeatureNotSupported = "0A000"
	codeSerialization       = "40001"
	codeProgramLimit        = "54000"
	codeInFailedTxn         = "25P02"
	codeWrongObjectType     = "42809"
	codeUndefinedObject     = "42704"
	codeSyntax              = "42601"
	codeInvalidText         = "22P02"
	codeInvalidAuth         = "28000"
	codeUndefinedTable      = "42P01"
	codeDuplicateTable      = "42P07"
	codeInvalidCatalog      = "3D000"
)

// conflictData is the answer to a COMMIT that lost a write-write conflict.
// golden occ_conflict.json:occ_write_write (and every other conflicting
// case there): "change conflicts with another transaction (OC000)". The
// user guide prints it as "change conflicts with another transaction,
// please retry: (OC000)"; the recording is newer.
func conflictData() *pgproto3.ErrorResponse {
	return sqlError(codeSerialization, "change conflicts with another transaction (OC000)")
}

// conflictSchema is the answer to a transaction that ran across a schema
// change (documented: "Understanding DDL in Aurora DSQL", working-with-ddl:
// "schema has been updated by another transaction, please retry: (OC001)").
func conflictSchema() *pgproto3.ErrorResponse {
	return sqlError(codeSerialization, "schema has been updated by another transaction, please retry: (OC001)")
}

// rowLimit: golden transaction.json:row_cap, row_cap_implicit.
func rowLimit() *pgproto3.ErrorResponse {
	return sqlError(codeProgramLimit, "transaction row limit exceeded")
}

// inFailedTxn: golden transaction.json:row_cap, read_only, rejection_aborts_txn.
func inFailedTxn() *pgproto3.ErrorResponse {
	return sqlError(codeInFailedTxn, "current transaction is aborted, commands ignored until end of transaction block")
}

// twoDDL: golden transaction.json:two_ddl_one_txn, multi_statement.json:multi_two_ddl.
func twoDDL() *pgproto3.ErrorResponse {
	return sqlError(codeFeatureNotSupported, "multiple ddl statements not supported in a transaction")
}

// ddlAndDML: golden transaction.json:ddl_then_dml, multi_statement.json:multi_ddl_then_dml.
// DML after DDL was recorded; DDL after DML is refused the same way
// (extrapolated; the user guide says the two cannot share a transaction).
func ddlAndDML() *pgproto3.ErrorResponse {
	return sqlError(codeFeatureNotSupported, "ddl and dml are not supported in the same transaction")
}

// unsupportedIsolation: golden isolation.json:set_transaction_serializable,
// begin_serializable ("SERIALIZABLE"); other levels than the default
// REPEATABLE READ are extrapolated.
func unsupportedIsolation(level string) *pgproto3.ErrorResponse {
	return sqlError(codeFeatureNotSupported, "Unsupported isolation level: %s", level)
}

// settingNotSupported: golden isolation.json:set_transaction_repeatable_read
// ("TRANSACTION"), set_default_isolation ("default_transaction_isolation");
// transaction.json:read_only.
func settingNotSupported(name string) *pgproto3.ErrorResponse {
	return sqlError(codeFeatureNotSupported, "setting configuration parameter %q not supported", name)
}

// unsupportedTxnStatement: golden transaction.json:savepoint ("SAVEPOINT"),
// rollback_to_savepoint ("ROLLBACK TO"); "RELEASE" is extrapolated.
func unsupportedTxnStatement(what string) *pgproto3.ErrorResponse {
	return sqlError(codeFeatureNotSupported, "unsupported transaction statement: %s", what)
}

// unsupportedStatement: golden unsupported.json (truncate: "Truncate",
// create_extension: "CreateExtension", create_database: "Createdb",
// materialized_view and create_table_as: "CreateTableAs", composite_type:
// "CompositeType", range_type: "CreateRange", tablespace:
// "CreateTableSpace", foreign_table: "CreateForeignTable", listen, notify,
// unlisten, alter_system: "AlterSystem").
func unsupportedStatement(node string) *pgproto3.ErrorResponse {
	return sqlError(codeFeatureNotSupported, "unsupported statement: %s", node)
}

// serialType: golden unsupported.json:serial_column (42704, type "serial"
// does not exist).
func serialType(name string) *pgproto3.ErrorResponse {
	return sqlError(codeUndefinedObject, "type %q does not exist", name)
}

// syncIndex: golden index.json:create_index_sync.
func syncIndex() *pgproto3.ErrorResponse {
	return sqlError(codeFeatureNotSupported, "unsupported mode. please use CREATE INDEX ASYNC.")
}

// syntaxErrorAt: golden index.json:create_index_async_qualified.
func syntaxErrorAt(near string) *pgproto3.ErrorResponse {
	return sqlError(codeSyntax, "syntax error at or near %q", near)
}

// waitForJobIsProcedure: golden index.json:sys_wait_for_job. The user guide
// says the function returns a Boolean; the cluster says otherwise.
func waitForJobIsProcedure() *pgproto3.ErrorResponse {
	return sqlError(codeWrongObjectType, "sys.wait_for_job(text) is a procedure")
}

// subqueryInCall: golden index.json:sys_call_wait_for_job.
func subqueryInCall() *pgproto3.ErrorResponse {
	return sqlError(codeFeatureNotSupported, "cannot use subquery in CALL argument")
}

// badJobID: golden index.json:sys_call_wait_for_job_literal.
func badJobID() *pgproto3.ErrorResponse {
	return sqlError(codeInvalidText, "Unable to convert text to UUID")
}

// lockingClause: golden occ.json:occ_for_no_key_update, occ_for_share.
func lockingClause() *pgproto3.ErrorResponse {
	return sqlError(codeFeatureNotSupported, "locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported")
}

// authFailed is the answer to a password that is not a valid IAM token for
// this cluster (documented, troubleshooting: `IAM authentication failed for
// user "..."`); the detail says why, which a cluster may not.
func authFailed(user, why string) *pgproto3.ErrorResponse {
	e := sqlError(codeInvalidAuth, "IAM authentication failed for user %q", user)
	e.Severity, e.SeverityUnlocalized, e.Detail = "FATAL", "FATAL", why
	return e
}

// noSNI is the answer to a TLS connection without the endpoint as server
// name (documented, troubleshooting: "unable to accept connection, sni was
// not received").
func noSNI() *pgproto3.ErrorResponse {
	e := sqlError(codeInvalidAuth, "unable to accept connection, sni was not received")
	e.Severity, e.SeverityUnlocalized = "FATAL", "FATAL"
	return e
}
