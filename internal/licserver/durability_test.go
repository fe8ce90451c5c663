package licserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/licensehost/licensehost/internal/licapi"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/internal/licserver/store"
)

const crashChildEnv = "LICSERVER_CRASH_CHILD_DIR"

// TestKill9Durability re-executes the test binary as a child that issues a
// key, prints it once the call returned, and then waits; the parent kills
// it with SIGKILL, reopens the store and must find the key and its audit
// entry: an admin call returns only after its write is durable.
func TestKill9Durability(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	dir := DataDir(t.TempDir())
	if _, err := Init(dir, "", time.Now(), store.Options{}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Durability$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(dir))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var key string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if k, ok := strings.CutPrefix(sc.Text(), "ISSUED "); ok {
			key = k
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred Close, no flush
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if key == "" {
		t.Fatal("child printed no key")
	}

	st, err := store.Open(dir.DB(), store.Options{})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer st.Close()
	svc, err := NewService(Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ops := svc.AdminAs("test")
	l, err := ops.GetKey(context.Background(), key)
	if err != nil {
		t.Fatalf("key issued before kill -9 is lost: %v", err)
	}
	if l.Type != "crash" || len(l.Devices) != 1 {
		t.Fatalf("license after kill -9: %+v", l)
	}
	audit, err := ops.AuditLog(context.Background(), 10, key)
	if err != nil || len(audit) != 2 {
		t.Fatalf("audit after kill -9: %d entries, %v", len(audit), err)
	}
	// The sequence continues after the highest surviving entry.
	if _, err := ops.SetKeyStatus(context.Background(), key, ActionSuspend); err != nil {
		t.Fatal(err)
	}
	audit, _ = ops.AuditLog(context.Background(), 1, "")
	if audit[0].Seq <= 3 {
		t.Fatalf("audit sequence restarted: %d", audit[0].Seq)
	}
}

func crashChild(dir string) {
	d := DataDir(dir)
	st, err := store.Open(d.DB(), store.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	svc, err := NewService(Config{Store: st})
	if err != nil {
		os.Exit(1)
	}
	ops := svc.AdminAs("crash-child")
	ctx := context.Background()
	if _, err := ops.AddType(ctx, store.LicenseType{Name: "crash"}); err != nil && !errors.Is(err, ErrTypeExists) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	l, err := ops.IssueKey(ctx, IssueRequest{Type: "crash"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	if a := svc.Verify(ctx, licapi.VerifyRequest{LicenseKey: l.Key, MachineID: "server_cccccccccccccccc"}, "127.0.0.1"); !a.Success.V {
		fmt.Fprintln(os.Stderr, "child: verify:", a.Message)
		os.Exit(1)
	}
	fmt.Println("ISSUED " + l.Key)
	time.Sleep(time.Hour) // wait for SIGKILL
}
