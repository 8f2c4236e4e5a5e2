// Package childproc starts the helper processes of tests and benchmarks
// (PostgreSQL, dynalite, hubs) so that they die with the test binary, and
// waits for them to be ready.
package childproc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"runtime"
	"time"
)

// Process is a started child.
type Process struct {
	// Exited is closed when the child has exited; Err is then cmd.Wait's
	// error.
	Exited chan struct{}
	Err    error
}

// Start starts cmd. A Pdeathsig in cmd.SysProcAttr fires when the *thread*
// that forked the child exits, not the process, so the fork happens on a
// goroutine locked to its OS thread that stays alive, waiting, until the
// child exits: no other goroutine can end that thread early.
func Start(cmd *exec.Cmd) (*Process, error) {
	p := &Process{Exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			runtime.UnlockOSThread()
			return
		}
		started <- nil
		p.Err = cmd.Wait()
		close(p.Exited)
		// Exits still locked: the runtime retires this thread.
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// ErrExited is WaitReady's error when the child exited before it was ready.
var ErrExited = errors.New("exited during start-up")

// WaitReady polls GET url until it answers 200 (or, with anyStatus, answers
// at all): it returns nil then, an error wrapping ErrExited (with the
// child's exit error) if the child exits first, and an error once timeout
// has passed or ctx ended.
func (p *Process) WaitReady(ctx context.Context, url string, timeout time.Duration, anyStatus bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || anyStatus {
				return nil
			}
		}
		select {
		case <-p.Exited:
			return fmt.Errorf("%w (%v)", ErrExited, p.Err)
		case <-ctx.Done():
			return fmt.Errorf("not ready at %s after %v: %w", url, timeout, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
