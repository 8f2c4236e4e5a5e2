package rooms

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// An event received from another hub keeps that hub's frame bytes; a
// socket that opted out of event state still gets it without the state.
func TestBusEventWithoutState(t *testing.T) {
	ev := Event{Room: "auction:a", Version: 7, Kind: "bid", By: "ann", At: time.Unix(0, 0).UTC(),
		Data: json.RawMessage(`{"amount":"5.00"}`), State: json.RawMessage(`{"current_bid":"5.00"}`)}
	got, err := decodeBusEvent(BusEvent{Room: ev.Room, Version: ev.Version, Frame: ev.Frame()})
	if err != nil {
		t.Fatal(err)
	}
	f := NewEventFrame(got)
	if !strings.Contains(string(f.Full), `"state"`) {
		t.Fatalf("full frame %s lost its state", f.Full)
	}
	if s := string(f.NoState()); strings.Contains(s, `"state"`) || !strings.Contains(s, `"amount":"5.00"`) {
		t.Fatalf("frame without state = %s", s)
	}
}
