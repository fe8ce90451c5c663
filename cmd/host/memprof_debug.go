//go:build licensehost_memprof

package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
)

// A binary built with -tags licensehost_memprof writes, on each SIGUSR1, a
// heap profile to the file named by LICENSEHOST_MEMPROF and a line of
// runtime memory statistics to stderr, after a garbage collection. The RSS
// benchmark uses it (LICENSEHOST_BENCH_MEMPROF, docs/reliability.md, memory);
// release builds never contain it.
func init() {
	path := os.Getenv("LICENSEHOST_MEMPROF")
	if path == "" {
		return
	}
	// Sample every 4 KiB allocated rather than 512 KiB, so that Badger's
	// buffers and the engine's small allocations are both counted.
	runtime.MemProfileRate = 4096
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			fmt.Fprintf(os.Stderr, "MEMSTATS heap-inuse=%d heap-idle-unreleased=%d stacks=%d mspan+mcache=%d gc-meta=%d other=%d sys=%d goroutines=%d\n",
				m.HeapInuse, m.HeapIdle-m.HeapReleased, m.StackInuse, m.MSpanInuse+m.MCacheInuse,
				m.GCSys, m.OtherSys+m.BuckHashSys, m.Sys, runtime.NumGoroutine())
			f, err := os.Create(path + ".tmp")
			if err == nil {
				err = pprof.Lookup("heap").WriteTo(f, 0)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err == nil {
				err = os.Rename(path+".tmp", path)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "MEMPROF", err)
			}
		}
	}()
}
