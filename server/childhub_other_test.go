//go:build unix && !linux

package main

import "syscall"

// childSysProcAttr: only Linux has a parent-death signal; elsewhere the
// test's cleanup stops its child hubs.
func childSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
