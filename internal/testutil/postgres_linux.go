package testutil

import "syscall"

// dieWithParent has the kernel stop the server if the test binary dies
// without running its cleanups (a panic, a timeout, a kill): SIGQUIT is
// PostgreSQL's immediate shutdown.
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGQUIT }
