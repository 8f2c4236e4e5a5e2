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
	"syscall"
	"time"
)

// Process is a started child.
type Process struct {
	// Exited is closed when the child has exited; Err is then cmd.Wait's
	// error.
	Exited chan struct{}
	Err    error

	cmd *exec.Cmd
}

// Start starts cmd. A Pdeathsig in cmd.SysProcAttr fires when the *thread*
// that forked the child exits, not the process, so the fork happens on a
// goroutine locked to its OS thread that stays alive, waiting, until the
// child exits: no other goroutine can end that thread early.
func Start(cmd *exec.Cmd) (*Process, error) {
	p := &Process{Exited: make(chan struct{}), cmd: cmd}
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

// Stop ends the child gracefully: SIGTERM, then SIGKILL (to its process
// group, when it has one of its own) if it has not exited within grace. It
// reports whether it had to kill, and returns once the child has exited.
func (p *Process) Stop(grace time.Duration) (killed bool) {
	select {
	case <-p.Exited:
		return false
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.Exited:
		return false
	case <-time.After(grace):
	}
	p.Kill()
	return true
}

// Kill sends SIGKILL (to the child's process group, when it has one of its
// own) and waits for the child to exit.
func (p *Process) Kill() {
	if a := p.cmd.SysProcAttr; a != nil && a.Setpgid {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	} else {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.Exited
}
