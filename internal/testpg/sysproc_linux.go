package testpg

import "syscall"

// sysProcAttr runs the child in its own process group, as cred when non-nil,
// and has the kernel send it deathSig when the thread that started it dies.
func sysProcAttr(cred *syscall.Credential, deathSig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred, Pdeathsig: deathSig}
}
