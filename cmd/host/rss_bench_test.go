package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/internal/e2etest"
	"github.com/licensehost/licensehost/internal/remotetest"
)

// BenchmarkDaemonStartAndRSS runs the real binary: time from exec to
// /healthz ready, then its resident memory idle and after 20 000 durable
// consumes (the bound of docs/reliability.md, memory: ≤ 25 MB), each as the
// total (VmRSS), the anonymous part (RssAnon: Go heap, stacks, runtime) and
// the file-backed part (RssFile: the binary's pages and Badger's mapped
// files), its peak (VmHWM), and what it still holds after benchSettle idle.
//
// LICENSEHOST_BENCH_SMAPS=1 prints the resident size per mapping,
// LICENSEHOST_BENCH_STDERR=1 the daemon's log; LICENSEHOST_BENCH_HOSTENV="K=V …" adds variables
// to the daemon's environment; LICENSEHOST_BENCH_MEMPROF=FILE runs a binary
// built with -tags licensehost_memprof and writes its heap profile after the
// consumes to FILE (go tool pprof -sample_index=inuse_space FILE).
const benchConsumes = 20000

// benchSettle is how long the daemon is left idle after the consumes before
// the "settled" figures are read (LICENSEHOST_BENCH_SETTLE, a Go duration,
// changes it): long enough for the daemon to give memory back after a burst
// (two idle 10 s periods, cmd/host/memory.go).
const benchSettle = 40 * time.Second

var memprofBin e2etest.Lazy

func BenchmarkDaemonStartAndRSS(b *testing.B) {
	srv := remotetest.New(b)
	bin, env := hostBin, strings.Fields(os.Getenv("LICENSEHOST_BENCH_HOSTENV"))
	memprof := os.Getenv("LICENSEHOST_BENCH_MEMPROF")
	if memprof != "" {
		bin = memprofBin.Get(b, filepath.Dir(hostBin), "licensehost-memprof", ".", "-tags", "licensehost_memprof")
		env = append(env, "LICENSEHOST_MEMPROF="+memprof)
	}
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		start := time.Now()
		h := startHostBin(b, bin, env, dir, "--license-server", srv.URL(), "--log-level", "warn")
		ready := waitHealthy(b, h.url)
		b.ReportMetric(float64(ready.Sub(start).Milliseconds()), "ms-to-ready")
		time.Sleep(500 * time.Millisecond)
		pid := h.cmd.Process.Pid
		b.ReportMetric(procStatusMiB(b, pid, "VmRSS:"), "MiB-rss-idle")
		b.ReportMetric(procStatusMiB(b, pid, "RssAnon:"), "MiB-anon-idle")
		b.ReportMetric(procStatusMiB(b, pid, "RssFile:"), "MiB-file-idle")
		var wg sync.WaitGroup
		var n atomic.Int64
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := newBenchClient()
				for {
					k := n.Add(1)
					if k > benchConsumes {
						return
					}
					body := fmt.Sprintf(`{"batch":1,"resource":"r%d","idempotencyKey":"k%d"}`, k%100, k)
					req, _ := http.NewRequest(http.MethodPost, h.url+api.PathQuotaConsume, bytes.NewBufferString(body))
					req.Header.Set("Authorization", "Bearer "+h.token)
					resp, err := c.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("consume %d: %s", k, resp.Status)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(procStatusMiB(b, pid, "VmRSS:"), "MiB-rss-after-20k-consumes")
		b.ReportMetric(procStatusMiB(b, pid, "RssAnon:"), "MiB-anon-after")
		b.ReportMetric(procStatusMiB(b, pid, "RssFile:"), "MiB-file-after")
		b.ReportMetric(procStatusMiB(b, pid, "VmHWM:"), "MiB-rss-peak")
		if os.Getenv("LICENSEHOST_BENCH_SMAPS") != "" {
			printSmaps(pid)
			printSections(pid, bin)
		}
		if memprof != "" {
			writeHeapProfile(b, h, memprof)
		}
		// What the daemon keeps once the burst is over (returnMemoryWhenIdle).
		settle := benchSettle
		if d, err := time.ParseDuration(os.Getenv("LICENSEHOST_BENCH_SETTLE")); err == nil {
			settle = d
		}
		time.Sleep(settle)
		b.ReportMetric(procStatusMiB(b, pid, "VmRSS:"), "MiB-rss-settled")
		b.ReportMetric(procStatusMiB(b, pid, "RssAnon:"), "MiB-anon-settled")
		if os.Getenv("LICENSEHOST_BENCH_STDERR") != "" {
			for _, l := range strings.Split(strings.TrimSpace(h.stderr.String()), "\n") {
				fmt.Println("STDERR", l)
			}
		}
		h.stop()
	}
}

// writeHeapProfile asks a licensehost_memprof daemon for its heap profile
// and waits until the file is written.
func writeHeapProfile(b *testing.B, h *host, path string) {
	os.Remove(path)
	if err := h.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	b.Fatalf("no heap profile at %s; daemon stderr:\n%s", path, h.stderr.String())
}

// procStatusMiB reads one kB field of /proc/PID/status, in MiB.
func procStatusMiB(b *testing.B, pid int, field string) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	b.Fatal("no " + field)
	return 0
}

// printSmaps prints the resident size of each mapping group (by file name;
// [anon] for the rest), largest first, for finding where a daemon's memory is.
func printSmaps(pid int) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return
	}
	rss := map[string]int{}
	cur := ""
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && strings.Contains(f[0], "-") {
			cur = "[anon]"
			if len(f) >= 6 {
				cur = filepath.Base(f[5])
			}
			continue
		}
		if len(f) >= 2 && f[0] == "Rss:" {
			kb, _ := strconv.Atoi(f[1])
			rss[cur] += kb
		}
	}
	names := make([]string, 0, len(rss))
	for k := range rss {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return rss[names[i]] > rss[names[j]] })
	for _, k := range names {
		if rss[k] >= 64 {
			fmt.Printf("SMAPS %-30s %6d kB\n", k, rss[k])
		}
	}
}

// printSections prints how much of each loaded ELF section of the binary is
// resident in process pid (present bits of /proc/PID/pagemap, by page), to
// tell code (.text), read-only data (.rodata) and the function tables the
// runtime reads for stack walks and GC (.gopclntab) apart.
func printSections(pid int, bin string) {
	f, err := elf.Open(bin)
	if err != nil {
		return
	}
	defer f.Close()
	pm, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", pid))
	if err != nil {
		return
	}
	defer pm.Close()
	const page = 4096
	for _, s := range f.Sections {
		if s.Addr == 0 || s.Size < 64<<10 || s.Type == elf.SHT_NOBITS {
			continue
		}
		resident := 0
		for a := s.Addr &^ (page - 1); a < s.Addr+s.Size; a += page {
			var e [8]byte
			if _, err := pm.ReadAt(e[:], int64(a/page*8)); err == nil && binary.LittleEndian.Uint64(e[:])&(1<<63) != 0 {
				resident++
			}
		}
		fmt.Printf("SECTION %-12s %6d kB resident of %6d kB\n", s.Name, resident*page/1024, s.Size/1024)
	}
}
