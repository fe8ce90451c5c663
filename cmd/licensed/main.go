// Command licensed is licensehost's on-prem license server: the fixed
// remote contract with signed answers, and its admin CLI. See
// docs/licensed.md. Settings are declared in settings.go, commands in
// commands.go and admin.go (docs/CONTRIBUTING.md).
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/licensehost/licensehost/internal/cli"
)

// version is set with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process the default way
	}()
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Run runs licensed with args (without the program name) and returns the
// exit status: 0 ok, 1 failure, 2 bad command line.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.ExitStatus("licensed", run(ctx, args, stdout, stderr), stderr)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return cli.Execute(ctx, newRoot(os.Getenv), args, stdout, stderr)
}
