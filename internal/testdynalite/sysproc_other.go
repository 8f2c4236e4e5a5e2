//go:build unix && !linux

package testdynalite

import "syscall"

// sysProcAttr runs dynalite in its own process group. Only Linux has a
// parent-death signal; elsewhere t.Cleanup must stop it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
