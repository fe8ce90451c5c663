package plugin

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/licensehost/licensehost/sdk"
)

// The direct channel end to end in one process: the plugin's side
// (RPCServer.Listen and its connections) and the host's (Dial, Conn.Call).
func TestDirectChannel(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(goplugin.EnvUnixSocketDir, dir)
	s := &RPCServer{decide: func(in sdk.Input) sdk.Output {
		switch in.Resource {
		case "panic":
			panic("boom")
		case "big":
			return sdk.Output{Allowed: true, Message: strings.Repeat("x", 4096)}
		}
		return sdk.Builtin(in)
	}}
	var path string
	if err := s.Listen(DirectVersion+1, &path); err == nil {
		t.Fatal("an unknown version was accepted")
	}
	if err := s.Listen(DirectVersion, &path); err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != dir {
		t.Fatalf("socket %s outside %s", path, dir)
	}
	var again string
	if err := s.Listen(DirectVersion, &again); err != nil || again != path {
		t.Fatalf("second Listen: %q, %v", again, err)
	}
	c, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	in := sdk.Input{Limits: sdk.Limits{Total: sdk.Max(10)}, Used: 8, Batch: 5}
	for range 3 { // one connection, many calls
		out, err := c.Call(OpDecide, sdk.AppendInput(c.Request(), in), deadline, 1024)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sdk.DecodeOutput(out)
		if err != nil || got != sdk.Builtin(in) {
			t.Fatalf("decision %+v, %v; want %+v", got, err, sdk.Builtin(in))
		}
	}
	if out, err := c.Call(OpEcho, append(c.Request(), "abc"...), deadline, 1024); err != nil || string(out) != "abc" {
		t.Errorf("echo %q, %v", out, err)
	}
	var remote RemoteError
	in.Resource = "panic"
	if _, err := c.Call(OpDecide, sdk.AppendInput(c.Request(), in), deadline, 1024); !errors.As(err, &remote) || !strings.Contains(err.Error(), "policy panicked: boom") {
		t.Errorf("panic: %v", err)
	}
	if _, err := c.Call(OpDecide, append(c.Request(), 1, 2, 3), deadline, 1024); !errors.As(err, &remote) || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("malformed input: %v", err)
	}
	if _, err := c.Call(9, c.Request(), deadline, 1024); !errors.As(err, &remote) {
		t.Errorf("unknown op: %v", err)
	}
	// After error answers the connection is still in step.
	in.Resource = ""
	if _, err := c.Call(OpDecide, sdk.AppendInput(c.Request(), in), deadline, 1024); err != nil {
		t.Errorf("after error answers: %v", err)
	}
	in.Resource = "big"
	if _, err := c.Call(OpDecide, sdk.AppendInput(c.Request(), in), deadline, 1024); !errors.Is(err, ErrTooLarge) {
		t.Errorf("answer over the limit: %v", err)
	}
	// A deadline passed ends the call with os.ErrDeadlineExceeded.
	c2, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Call(OpEcho, c2.Request(), time.Now().Add(-time.Second), 1024); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("past deadline: %v", err)
	}
}
