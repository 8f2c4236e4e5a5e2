// Package childproc starts the helper processes of tests (PostgreSQL,
// dynalite) so that they die with the test binary.
package childproc

import (
	"os/exec"
	"runtime"
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
