package licserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/licensehost/licensehost/internal/licapi"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensehost/licensehost/internal/lickey"
	"github.com/licensehost/licensehost/internal/signing"
)

// BenchmarkVerify measures verify requests per second over loopback
// against the real server: HTTP, JSON, a durable Badger transaction (device
// last-seen + audit entry, SyncWrites) and an Ed25519 signature per answer.
// Rate limits are off. Figures and the command are in
// docs/benchmarks-licensed.md.
//
//	CGO_ENABLED=0 go test -run '^$' -bench BenchmarkVerify -benchtime 3s ./internal/licserver/
func BenchmarkVerify(b *testing.B) {
	for _, par := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("heartbeat/clients=%d", par), func(b *testing.B) {
			benchVerify(b, par, true)
		})
	}
	b.Run("unknown-key/clients=16", func(b *testing.B) { benchVerify(b, 16, false) })
}

func benchVerify(b *testing.B, clients int, known bool) {
	e := newEnv(b, envOpts{})
	e.clock = nil
	e.svc.clock = SystemClock{}
	const keys = 64
	var bodies [keys][]byte
	for i := range keys {
		l := e.issue(IssueRequest{})
		m := fmt.Sprintf("server_%016x", i)
		key := l.Key
		if !known {
			key, _ = lickey.New(nil) // valid checksum, never issued
		}
		bodies[i], _ = json.Marshal(licapi.VerifyRequest{LicenseKey: key, MachineID: m, DeviceInfo: licapi.DeviceInfoHeartbeat + m})
		if known {
			want(b, e.post(licapi.PathVerify, json.RawMessage(bodies[i]), ""), 200, true, licapi.MsgVerifyOK)
		}
	}
	tr := &http.Transport{MaxIdleConnsPerHost: clients * 2}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var next atomic.Uint64
	b.SetParallelism(max(1, clients/max(1, runtimeProcs())))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) % keys
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+licapi.PathVerify, bytes.NewReader(bodies[i]))
			req.Header.Set(signing.HeaderNonce, "bench-nonce")
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 && known || resp.StatusCode != 404 && !known {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
