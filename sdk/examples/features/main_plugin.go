//go:build !wasip1

package main

import "github.com/licensehost/licensehost/sdk/plugin"

func main() { plugin.Serve(decide) }
