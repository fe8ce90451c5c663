package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/internal/e2etest"
	"github.com/licensehost/licensehost/internal/remotetest"
	"github.com/licensehost/licensehost/internal/signing"
)

// The reliability runs of docs/reliability.md. They are not part of the
// test suite: each runs only when LICENSEHOST_RELIABILITY names it (the
// make targets torture, fault-matrix, bad-input, forged-server set it), and
// prints its figures as RELIABILITY lines. They assert the guarantees too,
// so a run that finds a loss fails.

func reliabilityRun(t *testing.T, name string) {
	t.Helper()
	if v := os.Getenv("LICENSEHOST_RELIABILITY"); v != name && v != "all" {
		t.Skipf("a reliability run; LICENSEHOST_RELIABILITY=%s (make %s)", name, name)
	}
}

func report(format string, args ...any) {
	fmt.Printf("RELIABILITY "+format+"\n", args...)
}

// rawHost is a daemon run for the torture: started, killed, restarted.
type rawHost struct {
	cmd   *exec.Cmd
	url   string
	token string
	done  chan struct{}
	errb  *enginetest.SyncBuffer
}

func startRaw(t *testing.T, dir string, args ...string) (*rawHost, time.Duration, error) {
	start := time.Now()
	cmd := exec.Command(hostBin, append([]string{"--listen", "127.0.0.1:0", "--data-dir", dir, "--log-level", "warn"}, args...)...)
	cmd.Env = append(os.Environ(), "LICENSEHOST_MACHINE_ID=server_00000000000070a7")
	out, _ := cmd.StdoutPipe()
	h := &rawHost{cmd: cmd, done: make(chan struct{}), errb: &enginetest.SyncBuffer{}}
	cmd.Stderr = h.errb
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	go func() { _ = cmd.Wait(); close(h.done) }()
	urlCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := e2etest.ListenRE.FindStringSubmatch(sc.Text()); m != nil {
				urlCh <- m[1]
			}
		}
	}()
	select {
	case h.url = <-urlCh:
	case <-h.done:
		time.Sleep(100 * time.Millisecond)
		return nil, 0, fmt.Errorf("exited at start (%v): %s", cmd.ProcessState, h.errb.String())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return nil, 0, fmt.Errorf("did not start: %s", h.errb.String())
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		resp, err := http.Get(h.url + api.PathHealthz)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return nil, 0, fmt.Errorf("never ready")
		}
	}
	ready := time.Since(start)
	b, err := os.ReadFile(filepath.Join(dir, api.TokenFileName))
	if err != nil {
		return nil, 0, err
	}
	h.token = strings.TrimSpace(string(b))
	return h, ready, nil
}

func (h *rawHost) kill9() {
	_ = h.cmd.Process.Kill()
	<-h.done
}

func (h *rawHost) post(c *http.Client, path, body string) (int, []byte, error) {
	req, _ := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (h *rawHost) status(t *testing.T) api.Status {
	req, _ := http.NewRequest(http.MethodGet, h.url+api.PathStatus, nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	defer resp.Body.Close()
	var st api.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("status: %v", err)
	}
	return st
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// TestReliabilityTorture: kill -9 at a random moment while four clients
// consume (batch 1–3, each with its own idempotency key) and a fifth
// activates one of two keys, for LICENSEHOST_TORTURE_ROUNDS rounds (200 by
// default). After every restart: every acknowledged consume is counted, the
// limit is never exceeded, every acknowledged idempotency key replays, and
// the stored key is one whose activation was sent.
func TestReliabilityTorture(t *testing.T) {
	reliabilityRun(t, "torture")
	rounds := 200
	if v, err := strconv.Atoi(os.Getenv("LICENSEHOST_TORTURE_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	const limit = 3000
	srv := remotetest.New(t)
	keys := []string{"LH-TORTURE-KEY-A-0001", "LH-TORTURE-KEY-B-0002"}
	for _, k := range keys {
		srv.AddLicense(k, 1, map[string]any{"licenseTypeName": "torture", "customField1": strconv.Itoa(limit), "customField2": "10"})
	}
	dir := t.TempDir()
	args := []string{"--license-server", srv.URL(), "--remote-timeout", "2s"}
	rng := rand.New(rand.NewPCG(12, 34))
	var (
		acked        int64 // sum of acknowledged admitted batches
		ackedKeys    []string
		ackedRefused int
		activations  int
		lost         int64
		overshoot    int64
		restartFails int
		wrongKey     int
		replayFails  int
		readies      []time.Duration
		seq          int
	)
	c := &http.Client{Timeout: 10 * time.Second}
	h, ready, err := startRaw(t, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	readies = append(readies, ready)
	if code, b, err := h.post(c, api.PathActivate, `{"licenseKey":"`+keys[0]+`"}`); err != nil || code != 200 {
		t.Fatalf("first activation: %d %s %v", code, b, err)
	}
	for round := range rounds {
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					seq++
					key := fmt.Sprintf("r%d-w%d-%d-%d", round, w, i, seq)
					batch := 1 + seq%3
					mu.Unlock()
					code, b, err := h.post(c, api.PathQuotaConsume, fmt.Sprintf(`{"batch":%d,"idempotencyKey":%q}`, batch, key))
					if err != nil {
						return // killed meanwhile: not acknowledged
					}
					var q api.QuotaResponse
					if json.Unmarshal(b, &q) != nil {
						continue
					}
					mu.Lock()
					switch {
					case code == 200 && q.Allowed:
						acked += int64(batch)
						ackedKeys = append(ackedKeys, key)
					case code == 403:
						ackedRefused++
					}
					mu.Unlock()
				}
			}()
		}
		sent := keys[rng.IntN(2)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _, err := h.post(c, api.PathActivate, `{"licenseKey":"`+sent+`"}`); err == nil && code == 200 {
				mu.Lock()
				activations++
				mu.Unlock()
			}
		}()
		time.Sleep(time.Duration(20+rng.IntN(180)) * time.Millisecond)
		h.kill9()
		close(stop)
		wg.Wait()

		h, ready, err = startRaw(t, dir, args...)
		if err != nil {
			restartFails++
			t.Errorf("round %d: restart failed: %v", round, err)
			if h, ready, err = startRaw(t, dir, args...); err != nil {
				t.Fatalf("round %d: second restart failed too: %v", round, err)
			}
		}
		readies = append(readies, ready)
		st := h.status(t)
		if st.Usage.Total < acked {
			lost = max(lost, acked-st.Usage.Total)
			t.Errorf("round %d: usage %d < %d acknowledged", round, st.Usage.Total, acked)
		}
		if st.Usage.Total > limit {
			overshoot = max(overshoot, st.Usage.Total-limit)
			t.Errorf("round %d: usage %d over the limit %d", round, st.Usage.Total, limit)
		}
		if st.LicenseKey != "LH-T…0001" && st.LicenseKey != "LH-T…0002" {
			wrongKey++
			t.Errorf("round %d: stored key %q (%s)", round, st.LicenseKey, st.Status)
		}
		// Acknowledged keys of this round replay and count nothing.
		mu.Lock()
		sample := ackedKeys[max(0, len(ackedKeys)-3):]
		mu.Unlock()
		for _, k := range sample {
			_, b, err := h.post(c, api.PathQuotaConsume, fmt.Sprintf(`{"batch":1,"idempotencyKey":%q}`, k))
			var q api.QuotaResponse
			if err != nil || json.Unmarshal(b, &q) != nil || !q.Replayed {
				replayFails++
				t.Errorf("round %d: acknowledged key %s did not replay: %s %v", round, k, b, err)
			}
		}
	}
	final := h.status(t)
	h.kill9()
	report("torture rounds=%d consumes_acknowledged=%d (items %d) refused_acknowledged=%d activations_acknowledged=%d lost=%d overshoot=%d restart_failures=%d wrong_key=%d replay_failures=%d final_usage=%d limit=%d",
		rounds, len(ackedKeys), acked, ackedRefused, activations, lost, overshoot, restartFails, wrongKey, replayFails, final.Usage.Total, limit)
	report("torture time_to_ready p50=%v p95=%v max=%v (n=%d)", percentile(readies, 0.5).Round(time.Millisecond),
		percentile(readies, 0.95).Round(time.Millisecond), percentile(readies, 1).Round(time.Millisecond), len(readies))
}

// TestReliabilityFaultMatrix: every way the license server can fail, for
// three operations: activating a first key (nothing stands), activating a
// second key while a license stands, and a heartbeat. Each answer must be
// the documented one and leave the documented state.
func TestReliabilityFaultMatrix(t *testing.T) {
	reliabilityRun(t, "fault-matrix")
	faults := []struct {
		name string
		set  func(*remotetest.Server)
	}{
		{"down (connection refused)", func(s *remotetest.Server) { s.SetDown(true) }},
		{"connection reset", func(s *remotetest.Server) { s.SetFault(remotetest.ConnectionReset()) }},
		{"hang (timeout)", func(s *remotetest.Server) { s.SetFault(remotetest.Hang()) }},
		{"HTTP 500", func(s *remotetest.Server) { s.SetFault(remotetest.Status5xx(500)) }},
		{"HTTP 503", func(s *remotetest.Server) { s.SetFault(remotetest.Status5xx(503)) }},
		{"HTTP 429", func(s *remotetest.Server) { s.SetFault(remotetest.Reject4xx(429, "slow down")) }},
		{"HTTP 408", func(s *remotetest.Server) { s.SetFault(remotetest.Reject4xx(408, "timeout")) }},
		{"HTTP 403 rejection", func(s *remotetest.Server) { s.SetFault(remotetest.Reject4xx(403, "密钥已被暂停")) }},
		{"garbage body", func(s *remotetest.Server) { s.SetFault(remotetest.Garbage()) }},
		{"2 MiB body", func(s *remotetest.Server) { s.SetFault(remotetest.Huge(2 << 20)) }},
		{"slow body", func(s *remotetest.Server) { s.SetFault(remotetest.SlowBody(time.Second)) }},
		{"HTML 502 from a proxy", func(s *remotetest.Server) {
			s.SetFault(remotetest.Raw(502, "text/html", []byte("<html>bad gateway</html>")))
		}},
		{"200 without success", func(s *remotetest.Server) {
			s.SetFault(remotetest.Raw(200, "application/json", []byte(`{"message":"ok"}`)))
		}},
		{"302 redirect", func(s *remotetest.Server) {
			s.SetFault(remotetest.Raw(302, "text/plain", []byte("moved")))
		}},
	}
	const first, second = "LH-FAULT-FIRST-0001", "LH-FAULT-SECOND-0002"
	bad := 0
	for _, f := range faults {
		for _, op := range []string{"activate first key", "activate second key", "heartbeat"} {
			srv := remotetest.New(t)
			srv.AddLicense(first, 1, map[string]any{"customField1": "500"})
			srv.AddLicense(second, 1, map[string]any{"customField1": "900"})
			h := startHost(t, t.TempDir(), "--license-server", srv.URL(), "--remote-timeout", "2s", "--log-level", "error")
			if op != "activate first key" {
				h.mustActivate(first)
			}
			f.set(srv)
			var code int
			var body []byte
			start := time.Now()
			switch op {
			case "heartbeat":
				code, body = e2etest.Request(t, http.MethodPost, h.url+api.PathHeartbeat, h.token, []byte(`{}`))
			case "activate first key":
				code, body = e2etest.Request(t, http.MethodPost, h.url+api.PathActivate, h.token, []byte(`{"licenseKey":"`+first+`"}`))
			default:
				code, body = e2etest.Request(t, http.MethodPost, h.url+api.PathActivate, h.token, []byte(`{"licenseKey":"`+second+`"}`))
			}
			took := time.Since(start)
			srv.ClearFault()
			srv.SetDown(false)
			st := h.status()
			var ar api.ActionResponse
			_ = json.Unmarshal(body, &ar)
			definitive := strings.Contains(f.name, "403")
			var want string
			ok := code == http.StatusBadGateway && !definitive || code == http.StatusUnprocessableEntity && definitive
			switch op {
			case "activate first key":
				want = "pending"
				if definitive {
					want = "community"
				}
			case "activate second key":
				want = "active" // the standing license is untouched
			default:
				want = "grace"
			}
			ok = ok && st.Status == want && (op != "activate second key" || st.LicenseKey == "LH-F…0001")
			if !ok {
				bad++
				t.Errorf("%s / %s: HTTP %d, status %s (want %s), key %s: %s", f.name, op, code, st.Status, want, st.LicenseKey, body)
			}
			report("fault | %s | %s | HTTP %d | definitive=%v | status %s | %v | %s", f.name, op, code, ar.Definitive, st.Status, took.Round(10*time.Millisecond), map[bool]string{true: "ok", false: "WRONG"}[ok])
			h.stop()
		}
	}
	report("fault-matrix cases=%d wrong=%d", len(faults)*3, bad)
}

// TestReliabilityBadInput: thousands of malformed requests to every route;
// none may get a 5xx, the daemon stays up, and nothing is counted or stored.
func TestReliabilityBadInput(t *testing.T) {
	reliabilityRun(t, "bad-input")
	srv := newLicenseServer(t)
	h := startHost(t, t.TempDir(), fast(srv, "7", "15")...)
	routes := []struct{ method, path string }{
		{"POST", api.PathActivate}, {"POST", api.PathHeartbeat}, {"POST", api.PathClear}, {"POST", api.PathSwitchDevice},
		{"POST", api.PathQuotaCheck}, {"POST", api.PathQuotaConsume}, {"GET", api.PathStatus}, {"GET", api.PathEvents},
		{"GET", api.PathMachineID}, {"POST", api.PathPolicyReload}, {"GET", "/api/sponsor/../../etc/passwd"}, {"DELETE", api.PathStatus},
	}
	rng := rand.New(rand.NewPCG(56, 78))
	junk := []func() []byte{
		func() []byte { b := make([]byte, rng.IntN(512)); _, _ = io.ReadFull(cryptoish(rng), b); return b },
		func() []byte { return []byte(`{"licenseKey":` + strconv.Itoa(rng.Int()) + `}`) },
		func() []byte { return []byte(`{"batch":-` + strconv.Itoa(rng.IntN(1e6)) + `,"idempotencyKey":"x"}`) },
		func() []byte { return []byte(`{"batch":1e400}`) },
		func() []byte { return []byte(`{"batch":99999999999999999999999}`) },
		func() []byte { return []byte(`{"batch":"7"}`) },
		func() []byte { return []byte(`{"licenseKey":"` + strings.Repeat("K", 513+rng.IntN(4000)) + `"}`) },
		func() []byte { return []byte("{\"licenseKey\":\"LH-\xff\xfe\"}") },
		func() []byte { return []byte(`{"licenseKey":"LH-\u202eE2E"}`) },
		func() []byte {
			return []byte(`{"newMachineId":"server_` + strings.Repeat("z", rng.IntN(40)) + `","reason":"x"}`)
		},
		func() []byte { return []byte(`{"batch":1,"resource":"` + strings.Repeat("r", 65+rng.IntN(100)) + `"}`) },
		func() []byte { return []byte(`{"batch":1,"idempotencyKey":"a b"}`) },
		func() []byte { return []byte(`{"batch":1}{"batch":2}`) },
		func() []byte { return []byte(`{"batch":1,"unknown":true}`) },
		func() []byte { return []byte(`{"batch":1,"batch":2}`) }, // a member twice: refused, never the last one acted on
		func() []byte { return []byte(`{"Batch":1}`) },           // a name in another case than the document's
		func() []byte { return []byte(strings.Repeat("[", 10000)) },
		func() []byte { return bytes.Repeat([]byte("a"), (1<<20)+rng.IntN(1000)) },
		func() []byte { return []byte(`null`) },
		func() []byte { return []byte(`{"licenseKey":null,"batch":null}`) },
	}
	before := h.status()
	c := &http.Client{Timeout: 30 * time.Second}
	sent, fivexx := 0, 0
	codes := map[int]int{}
	n := 3000
	if v, err := strconv.Atoi(os.Getenv("LICENSEHOST_BAD_INPUT_REQUESTS")); err == nil && v > 0 {
		n = v
	}
	for i := range n {
		rt := routes[rng.IntN(len(routes))]
		body := junk[rng.IntN(len(junk))]()
		req, _ := http.NewRequest(rt.method, h.url+rt.path, bytes.NewReader(body))
		tok := h.token
		if i%10 == 0 {
			tok = "wrong"
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		if i%17 == 0 {
			req.Header.Set("Content-Type", "text/plain; charset=latin1")
		}
		resp, err := c.Do(req)
		sent++
		if err != nil {
			t.Fatalf("request %d (%s %s): %v", i, rt.method, rt.path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes[resp.StatusCode]++
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusBadGateway {
			fivexx++
			t.Errorf("%s %s %q → %d", rt.method, rt.path, truncateForLog(body), resp.StatusCode)
		}
	}
	after := h.status()
	if after.Usage.Total != before.Usage.Total || after.Status != before.Status {
		t.Errorf("bad input changed the state: %+v → %+v", before, after)
	}
	report("bad-input requests=%d 5xx=%d codes=%v usage_before=%d usage_after=%d", sent, fivexx, codes, before.Usage.Total, after.Usage.Total)
}

func truncateForLog(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}

// cryptoish adapts a math/rand source to io.Reader for junk bodies.
func cryptoish(r *rand.Rand) io.Reader {
	return readerFunc(func(p []byte) (int, error) {
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		return len(p), nil
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestReliabilityForgedServer: a host pinned to a server key against a
// server that forges answers in every way; only genuine answers activate.
func TestReliabilityForgedServer(t *testing.T) {
	reliabilityRun(t, "forged-server")
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	const key, otherKey = "LH-FORGE-TEST-0001", "LH-FORGE-OTHER-0002"
	const machine = "server_00000000000f0f0f"
	body := func(k string) []byte {
		return []byte(`{"success":true,"message":"ok","license":{"licenseKey":"` + k + `","licenseTypeName":"forged","customField1":"999999","customField2":""}}`)
	}
	var recorded struct {
		sync.Mutex
		sig  string
		body []byte
	}
	type forge func(w http.ResponseWriter, nonce string)
	sign := func(w http.ResponseWriter, k ed25519.PrivateKey, machineID, nonce string, at time.Time, b []byte) {
		w.Header().Set(signing.HeaderSignature, signing.Sign(k, "/api/license/verify", machineID, nonce, at, b))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
	cases := []struct {
		name   string
		accept bool
		f      forge
	}{
		{"genuine (control)", true, func(w http.ResponseWriter, n string) { sign(w, priv, machine, n, time.Now(), body(key)) }},
		{"unsigned", false, func(w http.ResponseWriter, n string) { w.Write(body(key)) }},
		{"signed by another key", false, func(w http.ResponseWriter, n string) { sign(w, other, machine, n, time.Now(), body(key)) }},
		{"body changed after signing", false, func(w http.ResponseWriter, n string) {
			w.Header().Set(signing.HeaderSignature, signing.Sign(priv, "/api/license/verify", machine, n, time.Now(), body(key)))
			w.Write(bytes.Replace(body(key), []byte("999999"), []byte("9999999"), 1))
		}},
		{"signed for another machine", false, func(w http.ResponseWriter, n string) {
			sign(w, priv, "server_0000000000000bad", n, time.Now(), body(key))
		}},
		{"signed for another nonce", false, func(w http.ResponseWriter, n string) { sign(w, priv, machine, "not-"+n, time.Now(), body(key)) }},
		{"stale (10 min old)", false, func(w http.ResponseWriter, n string) {
			sign(w, priv, machine, n, time.Now().Add(-10*time.Minute), body(key))
		}},
		{"from the future (10 min)", false, func(w http.ResponseWriter, n string) {
			sign(w, priv, machine, n, time.Now().Add(10*time.Minute), body(key))
		}},
		{"genuine answer about another key", false, func(w http.ResponseWriter, n string) { sign(w, priv, machine, n, time.Now(), body(otherKey)) }},
		{"replay of an earlier genuine answer", false, func(w http.ResponseWriter, n string) {
			recorded.Lock()
			defer recorded.Unlock()
			w.Header().Set(signing.HeaderSignature, recorded.sig)
			w.Write(recorded.body)
		}},
		{"two signature headers", false, func(w http.ResponseWriter, n string) {
			w.Header().Add(signing.HeaderSignature, signing.Sign(priv, "/api/license/verify", machine, n, time.Now(), body(key)))
			sign(w, other, machine, n, time.Now(), body(key))
		}},
		{"malformed signature", false, func(w http.ResponseWriter, n string) {
			w.Header().Set(signing.HeaderSignature, "v1;t=1;sig="+base64.StdEncoding.EncodeToString([]byte("short")))
			w.Write(body(key))
		}},
	}
	wrong := 0
	for _, c := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			n := r.Header.Get(signing.HeaderNonce)
			rec := httptest.NewRecorder()
			c.f(rec, n)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			if c.name == "genuine (control)" {
				recorded.Lock()
				recorded.sig, recorded.body = rec.Header().Get(signing.HeaderSignature), rec.Body.Bytes()
				recorded.Unlock()
			}
		}))
		h := startHost(t, t.TempDir(), "--license-server", srv.URL, "--server-public-key", base64.StdEncoding.EncodeToString(pub),
			"--machine-id", machine, "--log-level", "error")
		code, b := e2etest.Request(t, http.MethodPost, h.url+api.PathActivate, h.token, []byte(`{"licenseKey":"`+key+`"}`))
		st := h.status()
		accepted := code == 200 && st.Status == "active"
		ok := accepted == c.accept && (c.accept || !st.IsSponsored)
		if !ok {
			wrong++
			t.Errorf("%s: HTTP %d status %s: %s", c.name, code, st.Status, b)
		}
		report("forged | %s | HTTP %d | status %s | %s", c.name, code, st.Status, map[bool]string{true: "ok", false: "WRONG"}[ok])
		h.stop()
		srv.Close()
	}
	// Without a pinned key a forging server is believed: the documented
	// weakness, warned about at start and in the status.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body(key)) }))
	defer srv.Close()
	h := startHost(t, t.TempDir(), "--license-server", srv.URL, "--machine-id", machine, "--log-level", "error")
	code, _ := e2etest.Request(t, http.MethodPost, h.url+api.PathActivate, h.token, []byte(`{"licenseKey":"`+key+`"}`))
	st := h.status()
	report("forged | unsigned, no pinned key (documented weakness) | HTTP %d | status %s | notes %d", code, st.Status, len(st.Notes))
	report("forged-server cases=%d wrong=%d", len(cases), wrong)
	_ = context.Background
	_ = atomic.Int64{}
}
