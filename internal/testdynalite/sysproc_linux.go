package testdynalite

import "syscall"

// sysProcAttr runs dynalite in its own process group and has the kernel
// SIGKILL it when the thread that started it dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
