//go:build wasip1

package main

import "github.com/licensehost/licensehost/sdk/guest"

func init() { guest.Register(decide) }

// main never runs in a reactor module (-buildmode=c-shared).
func main() {}
