package e2etest

import "syscall"

// daemonAttr makes the kernel kill a started daemon when the test process
// dies (a killed or timed-out go test would otherwise leave it running).
// Pdeathsig follows the thread that started the child; Start runs on an
// ordinary goroutine, whose thread the Go runtime does not end.
func daemonAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
