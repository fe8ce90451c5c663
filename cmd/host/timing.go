package main

import (
	"time"

	"github.com/licensehost/licensehost/engine"
)

// daemonClock is the engine's clock in the daemon: the system clock, except
// in test binaries built with the licensehost_testclock tag
// (clock_testclock.go), whose clock tests shift through a file.
var daemonClock engine.Clock = systemClock{}

// opWait bounds how long an activation, heartbeat, switch or clear waits
// for the license server call before it: two remote timeouts.
func opWait(remoteTimeout time.Duration) time.Duration {
	if remoteTimeout <= 0 {
		remoteTimeout = 15 * time.Second
	}
	return 2 * remoteTimeout
}

// writeTimeout leaves every queued caller time for its answer: the wait,
// its own remote call and 15 s for the rest; at least a minute.
func writeTimeout(remoteTimeout time.Duration) time.Duration {
	if remoteTimeout <= 0 {
		remoteTimeout = 15 * time.Second
	}
	return max(time.Minute, opWait(remoteTimeout)+remoteTimeout+15*time.Second)
}
