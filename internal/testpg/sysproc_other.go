//go:build unix && !linux

package testpg

import "syscall"

// sysProcAttr runs the child in its own process group, as cred when non-nil.
// Only Linux has a parent-death signal; elsewhere Run must stop the server.
func sysProcAttr(cred *syscall.Credential, _ syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}
