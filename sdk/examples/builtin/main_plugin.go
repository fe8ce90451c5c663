//go:build !wasip1

package main

import (
	"github.com/licensehost/licensehost/sdk"
	"github.com/licensehost/licensehost/sdk/plugin"
)

func main() {
	plugin.Serve(func(in sdk.Input) (out sdk.Output) { decide(&in, &out); return out })
}
