// Package soak is hotrow's soak benchmark, run by make soak (its test,
// TestSoak, skips unless HOTROW_SOAK=1): a million messages in one room on
// PostgreSQL, imported as hubs would have committed them
// (pgstore.ImportBids); the hub restarted and timed on its first join of
// the room; resends of any age; a sustained mix of bids, edits, joins,
// leaves and resends while the hub's RSS is sampled; then hotrow compact.
// It prints its figures; the README quotes them.
package soak
