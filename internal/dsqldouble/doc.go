// Package dsqldouble is a test double of an Amazon Aurora DSQL cluster: a
// PostgreSQL wire-protocol proxy (pgx's pgproto3) in front of a real
// PostgreSQL 15 database that answers as a DSQL cluster does, so hotrow's
// DSQL path (txn/dsql, the DSQL dialect of txn/pgstore, the retry runner,
// hotrow migrate) runs in `make test` against something that behaves like
// the product's database, not only like PostgreSQL.
//
// Its answers come from two sources, cited where used (answers.go): AWS's
// Aurora DSQL user guide, and the public recordings of a real cluster's
// answers to a few hundred probe statements (the conformance golden files
// of the open-source dsql-emulator project, github.com/Dreamescaper/
// dsql-emulator, test/conformance/golden, recorded 2026-09). Each
// behaviour is tested against its recorded answer (recorded_test.go).
//
// What it does:
//
//   - Connections: TLS only, with a certificate for the cluster's endpoint
//     name signed by a throwaway CA the tests trust (CertPool, CAPEM), so
//     clients keep sslmode=verify-full; the server name (SNI) must be the
//     endpoint; the password must be an IAM token: a presigned DbConnect
//     (DbConnectAdmin for the admin role) URL for the endpoint and region,
//     not expired, its signature checked when the double knows the key;
//     the only database is postgres.
//   - Optimistic concurrency: write-write conflicts surface at COMMIT as
//     40001 "change conflicts with another transaction (OC000)", not at the
//     conflicting write, first committer winning (see txn.go for how a
//     locking database is made to behave so); a writing transaction that
//     ran across another session's schema change fails its COMMIT with
//     40001 (OC001), as does one beginning within Options.SchemaSettle of it.
//   - Limits: 54000 "transaction row limit exceeded" from the statement
//     that takes a transaction past 3,000 written rows; the transaction is
//     then aborted (25P02, and COMMIT answers ROLLBACK).
//   - DDL: one DDL statement per transaction and never beside DML (0A000);
//     CREATE INDEX only as CREATE INDEX ASYNC, answered at once with a
//     job_id and built after COMMIT by a background job recorded in
//     sys.jobs (job_id, status, details, ...); CALL sys.wait_for_job(id)
//     waits for it; SELECT sys.wait_for_job(...) is refused with 42809 as
//     recorded (the guide says it returns a Boolean).
//   - Refused statements, with the recorded SQLSTATE and message: isolation
//     levels other than the default (BEGIN ... SERIALIZABLE, SET
//     TRANSACTION, SET default_transaction_isolation), TRUNCATE, SAVEPOINT
//     and ROLLBACK TO, temporary and unlogged tables, serial types, FOR
//     SHARE / FOR NO KEY UPDATE, extensions, triggers, LISTEN/NOTIFY, ...
//   - Pipelines: an extended-protocol pipeline (several statements, one
//     Sync; a pgx batch) is answered statement by statement as each would
//     be alone, a BEGIN in it opening a transaction that outlives the Sync
//     and a COMMIT in it checked for conflicts as any COMMIT; an error
//     skips the rest up to the Sync (pipeline_test.go). No recording shows
//     a cluster's answer to a pipeline either way.
//   - An injectable delay per round trip (Options.RoundTripDelay,
//     SetRoundTripDelay; default 0) standing in for the network between a
//     hub and a cluster, and a count of round trips (RoundTrips, Sessions).
//   - Fault injection: CutNextCommit commits and drops the connection
//     before the answer, leaving the outcome unknown to the client.
//
// A double is not a cluster. It does not reproduce DSQL's latency, its
// conflict rates across regions or at scale, its connection limits and
// rates (53300, 53400), its other limits (10 MiB and 5 minutes per
// transaction, key, row and column sizes), its query planner, which of
// PostgreSQL's features it lacks beyond those listed above, or what a
// cluster answers where nothing was recorded (marked "extrapolated" in
// answers.go). Where it knowingly differs: writers may wait for each
// other's row locks where DSQL never waits; a doomed write whose answer it
// cannot recompute on the snapshot (RETURNING, INSERT ... SELECT, a
// data-modifying WITH) gets its OC000 at the statement, not at COMMIT; a
// SELECT ... FOR UPDATE that commits first does not fail a later writer as
// a cluster's may; current_database() and server_version are PostgreSQL's.
//
// Use it from a test like testpg: New(t, Options{}) starts one in front of
// a fresh test database.
package dsqldouble
