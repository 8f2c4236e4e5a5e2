// Package dsql connects hotrow to Amazon Aurora DSQL through pgx.
//
// DSQL has no passwords: a client presigns a short-lived IAM token locally
// (no network call) and sends it as the password of each new connection.
// [PoolConfig] builds a pgxpool configuration that does that in BeforeConnect,
// requires TLS with full verification (sslmode=verify-full), keeps every
// connection's lifetime under DSQL's 60-minute limit (55 minutes with jitter
// by default), and sets no session parameters or isolation levels (DSQL
// rejects SET TRANSACTION; its transactions are snapshot isolated already).
//
// Transactions on a pool from here must begin with default options, hold at
// most 3,000 rows and 10 MiB of changes, finish within 5 minutes, and be run
// through a txn.Runner, which retries DSQL's optimistic-concurrency conflicts
// (40001 with OC000 or OC001).
package dsql
