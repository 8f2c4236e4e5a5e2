// Package schema holds the collaborative schema-document room: the document
// model (tables, columns, relations), the validation of edit ops, the rules
// that apply an op to a document (plain Go, testable without a socket or a
// database), the DDL export, the transaction that commits one edit, and the
// engine that plugs into a room sequencer.
//
// # Documents, ids and revs
//
// A document (room "schema:<id>") holds tables, each with columns, and
// relations from one column to another. Every table, column and relation has
// a server-assigned stable id (a rename breaks no reference) and a rev that
// starts at 1 and grows by one with each change to that entity's own
// attributes: a table's rev counts renames and moves, not changes to its
// columns; a column's rev counts alter_column ops. Tables, columns and
// relations keep the order in which they were created.
//
// The target of an op's expect_rev is the most specific entity the op names:
// its column if it names one, else its relation, else its table (from_table
// for add_relation). create_table has no target and takes no expect_rev.
//
// # Identifiers
//
// Table and column names are PostgreSQL identifiers and are always exported
// double-quoted, so they are case-sensitive and may be reserved words. A name
// must be valid UTF-8, 1 to 63 bytes long (PostgreSQL would silently truncate
// a longer one), contain no control characters (U+0000-U+001F, U+007F-U+009F:
// no NUL, no newline), and neither begin nor end with white space. Quotes,
// semicolons, backslashes and any other printable Unicode are allowed. Table
// names are unique within a document and column names within a table, by
// exact byte comparison ("a" and "A" are different names).
//
// # Types
//
// Column types are a documented set of PostgreSQL types that Aurora DSQL also
// stores, written case-insensitively and stored in canonical form:
//
//	smallint (int2), integer (int, int4), bigint (int8),
//	real (float4), double precision (float8),
//	numeric(p,s) or numeric(p) (decimal): 1 <= p <= 38, 0 <= s <= p,
//	boolean (bool), text, varchar(n) (character varying(n)),
//	char(n) (character(n)): 1 <= n <= 10485760,
//	bytea, uuid, date, time, timestamp, timestamptz (timestamp with time zone).
//
// json and jsonb are not offered (DSQL has no such column types), nor serial
// types (DSQL has no sequences). numeric needs an explicit precision.
//
// # Defaults
//
// A default is a literal of the column's type, parsed and range-checked here
// and stored in canonical form; the export renders it as a properly quoted
// SQL literal, never as given. Integers: decimal digits within the type's
// range. real and double precision: decimal or exponent notation, finite.
// numeric(p,s): at most p-s integer digits and s decimal places. boolean:
// true or false. text, varchar(n), char(n): any text without NUL of at most
// n characters (and at most 256 bytes). bytea: \x followed by hex digit
// pairs. uuid: 8-4-4-4-12 hex digits. date: YYYY-MM-DD. time: HH:MM[:SS[.f]].
// timestamp: YYYY-MM-DD HH:MM[:SS[.f]] (or with T). timestamptz: the same
// with an offset (Z or +hh:mm), stored in UTC. Besides literals, now() is
// accepted for date, time, timestamp and timestamptz, current_date for date,
// and gen_random_uuid() for uuid. JSON numbers and booleans are accepted as
// defaults and stored as their text.
//
// # Limits
//
// Aurora DSQL commits at most 3,000 rows and 10 MiB per transaction, and
// every edit is one transaction, so a document is bounded: at most MaxTables
// tables, MaxColumnsPerTable columns per table, MaxColumns columns in all and
// MaxRelations relations. The largest edit, drop_table, writes at most
// MaxRowsPerEdit = 1 + MaxColumnsPerTable + MaxRelations + 4 rows (the table,
// its columns, every relation touching it, then the room version, the event,
// the audit entry and the idempotency record), 755 rows; its audit entry,
// the largest value, stays under 1 MiB. An op that would pass a limit is
// rejected with invalid_op naming the limit.
package schema
