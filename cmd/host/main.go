// Command licensehost is the license host: with no command it runs the
// daemon and its local HTTP API; with a command it is the CLI that talks to
// a running daemon (machine-id works without one). Settings are declared in
// settings.go, commands in commands.go (docs/CONTRIBUTING.md).
package main

import (
	"context"
	"crypto/ed25519"
	"io"
	"os"

	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/plugins/wasm"
)

// version is set with -ldflags "-X main.version=…".
var version = "dev"

type ed25519Key = ed25519.PublicKey

func main() {
	// Policy modules are compiled in a child process of this binary, under
	// a memory and a time limit (docs/policy-abi.md §3).
	wasm.ServeCompile()
	os.Exit(cli.ExitStatus("licensehost", run(context.Background(), os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

// run executes one invocation. A *cli.UsageError means exit status 2, a
// *cli.ExitError its code, any other error 1.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return cli.Execute(ctx, newRoot(os.Getenv), args, stdout, stderr)
}
