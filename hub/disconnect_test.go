package hub

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
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

// A write that ran past its deadline on the connection is an error too.
func TestWriteFailureDeadline(t *testing.T) {
	err := &net.OpError{Op: "write", Net: "tcp", Err: os.ErrDeadlineExceeded}
	if got := writeFailure(err, true); got != disconnectError {
		t.Errorf("writeFailure(%v, true) = %s, want error", err, got.label)
	}
}
