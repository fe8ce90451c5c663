package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTrayIdleRSS measures the tray's resident memory when idle, tray only
// and with the status window open, under X and a D-Bus session with the
// test watcher (the tray registered, as on a desktop).
//
//	LICENSEHOST_TRAY_RSS=1 xvfb-run -a dbus-run-session -- go test -run TrayIdleRSS -v ./cmd/tray
//
// (make bench-tray; figures in docs/benchmarks-tray.md.) The idle time is
// LICENSEHOST_TRAY_RSS_IDLE (default 60s).
func TestTrayIdleRSS(t *testing.T) {
	if os.Getenv("LICENSEHOST_TRAY_RSS") != "1" {
		t.Skip("set LICENSEHOST_TRAY_RSS=1 and run under xvfb-run and dbus-run-session (make bench-tray)")
	}
	idle := 60 * time.Second
	if v := os.Getenv("LICENSEHOST_TRAY_RSS_IDLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		idle = d
	}
	w := startWatcher(t)
	host := newFakeHost(t)
	dir := t.TempDir()
	bin := buildTray(t)
	t.Logf("| state | idle | VmRSS | VmHWM |")
	t.Logf("| --- | --- | --- | --- |")
	for _, show := range []string{"", "status"} {
		args := []string{"--host", host.srv.URL, "--token-file", host.tokenFile}
		state := "tray only (window hidden)"
		if show != "" {
			args = append(args, "--show", show)
			state = "status window open"
		}
		ctx, cancel := context.WithTimeout(context.Background(), idle+2*time.Minute)
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), "LANGUAGE=en_US", "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-w.registered:
		case <-time.After(90 * time.Second):
			t.Fatal("the tray did not register")
		}
		time.Sleep(idle)
		st := procStatus(t, cmd.Process.Pid)
		t.Logf("| %s | %v | %s | %s |", state, idle, st["VmRSS"], st["VmHWM"])
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		cancel()
	}
}

func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}
