package hub

import (
	"context"
	"fmt"
	"io"
	"testing"
)

// A failed write is counted as an error, unless the client had gone first;
// a write that ran out of time is always one.
func TestWriteFailure(t *testing.T) {
	deadline := fmt.Errorf("failed to write msg: %w", fmt.Errorf("failed to write frame: %w", context.DeadlineExceeded))
	for _, tc := range []struct {
		err       error
		readEnded bool
		want      disconnect
	}{
		{io.ErrClosedPipe, false, disconnectError},
		{io.ErrClosedPipe, true, disconnectClient},
		{deadline, false, disconnectError},
		{deadline, true, disconnectError},
	} {
		if got := writeFailure(tc.err, tc.readEnded); got != tc.want {
			t.Errorf("writeFailure(%v, %v) = %s, want %s", tc.err, tc.readEnded, got.label, tc.want.label)
		}
	}
}
