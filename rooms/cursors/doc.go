// Package cursors shares collaborators' cursors and presence in every room
// kind (docs/protocol.md, "Cursors and presence").
//
// Cursors are ephemeral and cheap, and deliberately kept out of the room
// sequencer: a mutation never waits on a cursor, and a cursor never waits on
// a mutation or on the cursor store.
//
//   - Batching. Each room with members on this hub has a goroutine that, at
//     most once per Tick (default 50ms), sends one `cursors` frame holding
//     only the users whose cursor or presence changed since the previous
//     frame (the latest position per user wins) and the users gone since.
//     A socket that joined since the previous tick gets one frame with
//     everyone instead. So a socket receives at most 1/Tick frames a second
//     per room (20/s by default), however fast cursors move. Cursor frames
//     are droppable: a socket whose queue is half full misses them.
//   - Presence. A user is present while any of their sockets, on any hub
//     sharing the store, is in the room; they are listed once. When the last
//     one leaves or disconnects they are in `gone` at the next tick. A hub
//     that dies without saying goodbye leaves items that stop being listed
//     when their TTL passes.
//   - Store. Every (room, user, connection) is one item in a [Store] with an
//     expires_at TTL: [MemStore] (embedded, the default) or DynamoDB
//     (package dynamo). A background writer owns every store write: puts for
//     one user in one room are at most one per WriteInterval (default 1s;
//     moves in between are coalesced, the latest position wins), each item
//     is rewritten every RefreshInterval (default TTL/3) while connected,
//     and deleted on leave. At most StoreWorkers operations are in flight.
//     Rooms with members poll the store every PollInterval (default 1s, and
//     at once on a join) to show users on other hubs and notice them gone.
//   - Between hubs. With a Bus (NATS), each room publishes one batch per
//     tick holding its local users who joined or moved and those who left
//     this hub; other hubs merge it and show it at their next tick, so a
//     collaborator elsewhere moves at the tick rate, not the poll rate. A
//     user learnt from the bus stays present until the store shows them or
//     3×PollInterval passes without news (bus.go). The store stays the
//     record: a joining socket's first frame, a restarted hub.
//   - Outage. When the store fails, cursors keep flowing between sockets on
//     the same hub, failures are counted (hotrow_cursor_store_errors_total),
//     writes are retried at the same bounded rate, and everything recovers
//     when the store returns.
package cursors
