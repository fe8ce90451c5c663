// Command licensehost is the license host: with no arguments it runs the
// daemon and its local HTTP API; with a subcommand it is the CLI that talks
// to a running daemon (machine-id works without one).
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
)

// version is set with -ldflags "-X main.version=…".
var version = "dev"

type ed25519Key = ed25519.PublicKey

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run executes one invocation and returns the exit status: 0 ok, 1 failure,
// 2 usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	err := dispatch(ctx, args, stdout, stderr, getenv)
	if err == nil {
		return 0
	}
	var ue *usageError
	var ex *exitError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "licensehost: "+ue.msg)
		return 2
	case errors.As(err, &ex):
		if ex.msg != "" {
			fmt.Fprintln(stderr, "licensehost: "+ex.msg)
		}
		return ex.code
	}
	fmt.Fprintln(stderr, "licensehost: "+err.Error())
	return 1
}

// exitError ends the CLI with a status (e.g. 1 for a refused quota) after
// the answer was already printed.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || (len(args[0]) > 0 && args[0][0] == '-' && args[0] != "-h" && args[0] != "--help" && args[0] != "-help") {
		return runDaemon(args, stdout, stderr, getenv)
	}
	switch args[0] {
	case "serve", "daemon":
		return runDaemon(args[1:], stdout, stderr, getenv)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, helpText)
		return nil
	case "version":
		fmt.Fprintln(stdout, "licensehost", version)
		return nil
	case "machine-id":
		return cmdMachineID(args[1:], stdout, getenv)
	}
	return runCLI(ctx, args, stdout, getenv)
}

const helpText = `licensehost — a license host for any application

Usage:
  licensehost [flags]                 run the daemon (same as: licensehost serve [flags])
  licensehost machine-id [--explain] [--json]
  licensehost status                  [--json]
  licensehost activate KEY            [--json]
  licensehost heartbeat               [--json]
  licensehost clear                   [--json]
  licensehost switch-device NEW_ID --reason R [--json]
  licensehost quota check --batch N [--used N] [--resource R] [--json]
  licensehost quota consume --batch N [--idempotency-key K] [--resource R] [--json]
  licensehost events [--limit N]      [--json]
  licensehost policy reload
  licensehost version

Daemon flags (env in brackets; flags win over env, env over defaults):
  --listen ADDR              [LICENSEHOST_LISTEN] default 127.0.0.1:7474 (loopback only unless --allow-public)
  --data-dir DIR             [LICENSEHOST_DATA_DIR] default $XDG_DATA_HOME/licensehost
  --license-server URL       [LICENSEHOST_LICENSE_SERVER] default https://license.zhoujie218.top
  --token-file FILE          [LICENSEHOST_TOKEN_FILE] default <data-dir>/admin.token (created 0600)
  --app-token-file FILE      [LICENSEHOST_APP_TOKEN_FILE] read-only token: status, machine-id, quota
  --policy-dir DIR           [LICENSEHOST_POLICY_DIR] quota policy modules (default builtin)
  --server-public-key KEY    [LICENSEHOST_SERVER_PUBLIC_KEY] require signed license server answers
  --machine-id ID            [LICENSEHOST_MACHINE_ID] pin the machine code
  --trust D --grace D        [SPONSOR_GRACE_TRUST_DAYS, SPONSOR_GRACE_MAX_DAYS] days or durations (7, 15)
  --max-failures N           [SPONSOR_MAX_CONSECUTIVE_FAILURES] default 10
  --switch-window D          [SPONSOR_DEVICE_SWITCH_WINDOW_HOURS] hours or a duration (24)
  --allow-offline-trust B    [SPONSOR_ALLOW_OFFLINE_TRUST] default true
  --community-total N --community-batch N   [SPONSOR_COMMUNITY_TOTAL, SPONSOR_COMMUNITY_BATCH] (200, 20)
  --remote-timeout D         [LICENSEHOST_REMOTE_TIMEOUT] default 15s
  --log-format text|json     [LICENSEHOST_LOG_FORMAT]   --log-level L [LICENSEHOST_LOG_LEVEL]

Client flags (all subcommands but machine-id):
  --host URL                 [LICENSEHOST_URL] default http://127.0.0.1:7474
  --token-file FILE          [LICENSEHOST_TOKEN_FILE] default <data-dir>/admin.token
`
