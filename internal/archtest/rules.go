// Package archtest keeps hotrow's architecture true: who may import whom.
// The rules are the table below (README, "How it is built"); the test in
// this package reads the module's package graph with `go list` and fails on
// any import that breaks one, naming the import and the rule.
//
// Run it alone with `go test ./internal/archtest/`.
package archtest

// Stores are the adapters behind the interfaces rooms defines: the
// transaction stores, for cursors the DynamoDB adapter, and the NATS event
// bus between hubs. Only server wires them in.
var (
	txnStores = []string{"hotrow/txn/memstore", "hotrow/txn/pgstore", "hotrow/txn/dsql"}
	stores    = []string{"hotrow/txn/memstore", "hotrow/txn/pgstore", "hotrow/txn/dsql", "hotrow/rooms/cursors/dynamo",
		"hotrow/rooms/bus/natsbus"}
)

// Rule forbids some packages to depend on others. Patterns are import
// paths; a path ending in "/..." also matches every package below it.
type Rule struct {
	Name   string   // what the rule says, for the failure message
	From   []string // the packages it holds for
	Except []string // of From, the packages it does not hold for
	Forbid []string // what they must not depend on
	Allow  []string // of Forbid, what they may depend on after all
	// AllowIndirect lists what, of Forbid, they may depend on through
	// another package but not import themselves.
	AllowIndirect []string
	// TestsMay lists what, of Forbid, a package's _test.go files may import
	// all the same: test kits that run the code against a real store.
	TestsMay []string
}

// Rules is hotrow's architecture (README, "How it is built"). A package's own code is checked with everything it depends on,
// directly or not; its _test.go files are checked on their direct imports
// only, since a test kit may pull in anything.
var Rules = []Rule{
	{
		Name:   "the retry runner (txn) imports no room, hub or store",
		From:   []string{"hotrow/txn"},
		Forbid: append([]string{"hotrow/rooms/...", "hotrow/hub/..."}, stores...),
	},
	{
		Name:   "rooms import no store, and of hub only the wire contract (hub/wire)",
		From:   []string{"hotrow/rooms/..."},
		Forbid: append([]string{"hotrow/hub/..."}, stores...),
		Allow:  []string{"hotrow/hub/wire"},
		// Tests of the rules and of the sequencer run on the embedded store.
		TestsMay: stores,
	},
	{
		Name:   "hub (sockets) never touches a store",
		From:   []string{"hotrow/hub/..."},
		Forbid: stores,
		// Tests of the hub run real rooms on the embedded store.
		TestsMay: stores,
	},
	{
		Name:   "stores are adapters: they may import rooms and txn, never hub",
		From:   append(txnStores, "hotrow/rooms/bus/natsbus"),
		Forbid: []string{"hotrow/hub/..."},
		// rooms, which stores implement, imports the wire contract.
		AllowIndirect: []string{"hotrow/hub/wire"},
	},
	{
		Name:   "server wires everything, and nothing imports it",
		From:   []string{"hotrow/..."},
		Except: []string{"hotrow/server/..."},
		Forbid: []string{"hotrow/server/..."},
	},
}
