//go:build !linux

package testutil

import "syscall"

// dieWithParent does nothing where there is no parent-death signal: a test
// binary that dies without its cleanups leaves the server running.
func dieWithParent(*syscall.SysProcAttr) {}
