//go:build licensehost_testclock

package main

import (
	"os"
	"strings"
	"time"
)

// A binary built with -tags licensehost_testclock reads its clock as the
// system clock plus the Go duration written in the file named by
// LICENSEHOST_TEST_CLOCK_FILE (read at every reading; missing or empty = 0).
// The end-to-end tests use it to turn the daemon's clock back and forth
// across restarts; release builds never contain it.
func init() {
	if path := os.Getenv("LICENSEHOST_TEST_CLOCK_FILE"); path != "" {
		daemonClock = fileClock{path}
	}
}

type fileClock struct{ path string }

func (c fileClock) Now() time.Time {
	now := time.Now()
	b, err := os.ReadFile(c.path)
	if err != nil {
		return now
	}
	d, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return now
	}
	return now.Add(d)
}
