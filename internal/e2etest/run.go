package e2etest

import (
	"os/exec"
	"testing"
	"time"
)

// RunFor runs cmd to its end, for at most limit: a command still running
// then is killed, and finished is false. err is how it ended (nil: exit
// status 0). A command that cannot start fails t.
func RunFor(t testing.TB, cmd *exec.Cmd, limit time.Duration) (finished bool, err error) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return true, err
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		return false, <-done
	}
}
