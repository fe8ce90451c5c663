// Command hostile is a policy plugin that misbehaves on request, for the
// host's tests: the input's Resource picks the misbehaviour.
package main

import (
	"os"
	"strconv"
	"strings"

	"github.com/licensehost/licensehost/sdk"
	"github.com/licensehost/licensehost/sdk/plugin"
)

// reasons counts the "newreason" calls; the plugin decides one call at a
// time per connection, and the test makes them one after another.
var reasons int

func decide(in sdk.Input) sdk.Output {
	switch in.Resource {
	case "crash":
		// An unrecovered panic outside the RPC handler kills the process;
		// the runtime writes the trace to the process's real stderr.
		go func() { panic("hostile: crashing mid-call") }()
		select {}
	case "exit":
		os.Exit(3)
	case "hang":
		for {
		}
	case "panic":
		panic("hostile: boom")
	case "big":
		return sdk.Output{Allowed: true, Reason: "ok", Message: strings.Repeat("x", 1<<20)}
	case "badreason":
		return sdk.Output{Allowed: true, Reason: "not a code"}
	case "newreason":
		// A valid reason code, a new one at every call.
		reasons++
		return sdk.Output{Allowed: false, Reason: "r" + strconv.Itoa(reasons)}
	}
	return sdk.Builtin(in)
}

func main() { plugin.Serve(decide) }
