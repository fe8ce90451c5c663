package e2etest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A test process killed with SIGKILL (a go test timeout, a CI runner's
// kill) leaves no daemon behind: the child test below starts a "daemon"
// through Start and prints its pid; this test kills the child and waits
// for the daemon to be gone.
func TestDaemonDiesWithTheTestProcess(t *testing.T) {
	if os.Getenv("E2ETEST_CHILD") == "1" {
		t.Skip("run by the parent test")
	}
	child := exec.Command(os.Args[0], "-test.run", "^TestStartedDaemonChild$", "-test.v")
	child.Env = append(os.Environ(), "E2ETEST_CHILD=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Wait() //nolint:errcheck // killed below
	pid := 0
	sc := bufio.NewScanner(out)
	for pid == 0 && sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "daemon pid "); ok {
			pid, _ = strconv.Atoi(v)
		}
	}
	if pid == 0 {
		_ = child.Process.Kill()
		t.Fatal("the child test printed no daemon pid")
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("daemon %d still runs 30 s after its test process was killed", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStartedDaemonChild is the child of TestDaemonDiesWithTheTestProcess:
// it starts a process that prints a listening line and then sleeps, and
// waits to be killed.
func TestStartedDaemonChild(t *testing.T) {
	if os.Getenv("E2ETEST_CHILD") != "1" {
		t.Skip("run by TestDaemonDiesWithTheTestProcess")
	}
	d := Start(t, "/bin/sh", nil, "-c", "echo listening on http://127.0.0.1:1; exec sleep 300")
	fmt.Printf("daemon pid %d\n", d.Cmd.Process.Pid)
	time.Sleep(5 * time.Minute)
}
