// Command licensed is licensehost's on-prem license server: the fixed
// remote contract with signed answers, and its admin CLI. See
// docs/licensed.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
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
	if code != 0 {
		os.Exit(code)
	}
}
