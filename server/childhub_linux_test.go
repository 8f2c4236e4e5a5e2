package main

import "syscall"

// childSysProcAttr has the kernel kill a child hub when the thread that
// started it (held by childproc until the child exits) dies with the test.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
