// Package remotetest is a real HTTP license server on loopback that speaks the
// fixed contract (internal/licapi, docs/remote.md): licenses, a request log,
// license objects with any field of any JSON type, and fault switches for
// every way the real server can fail. Device binding and switching follow
// licensed's own rules (licserver.BindDevice, licserver.MoveDevice), so a
// test sees the answers the real server gives. Tests of the remote client,
// the engine and the host use it end to end.
//
//	srv := remotetest.New(t)
//	srv.AddLicense("KEY-0001-ABCD-EFGH", 1, map[string]any{"customField1": 500})
//	client, _ := remote.New(remote.Config{BaseURL: srv.URL()})
//	...
//	srv.SetFault(remotetest.Status5xx(503)) // every request answers 503 until ClearFault
//	srv.SetDown(true)                       // connection refused until SetDown(false)
//
// Every method is safe for concurrent use and may be called at any time,
// also while requests are in flight.
package remotetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/licensehost/licensehost/internal/licapi"
	"github.com/licensehost/licensehost/internal/licserver"
	"github.com/licensehost/licensehost/internal/licserver/store"
)

// MsgUnavailable is the message of the Status5xx fault's answer. The
// server's other messages are the contract's (licapi.MsgVerifyOK, …).
const MsgUnavailable = "服务暂时不可用"

// Missing, as a value in a license's fields, removes that field from the
// license object (to test a missing field, as opposed to null: nil).
var Missing any = missingField{}

type missingField struct{}

// Request is one request the server received, in arrival order.
type Request struct {
	Path   string
	Header http.Header
	Body   []byte         // as received
	Fields map[string]any // the decoded JSON object (numbers as json.Number); nil when not an object
	// Verify or Switch is the body decoded as the contract's request, by Path.
	Verify *licapi.VerifyRequest
	Switch *licapi.SwitchRequest
	Fault  string // the fault that answered, "" for a normal answer
	At     time.Time
}

type license struct {
	lic    store.License // what licensed's binding rules work on
	token  string
	fields map[string]any
}

// Server is the fake license server. Create it with New.
type Server struct {
	t    testing.TB
	hs   *http.Server
	addr string
	done chan struct{}
	once sync.Once

	mu        sync.Mutex
	ln        net.Listener // nil while down
	conns     map[net.Conn]struct{}
	licenses  map[string]*license
	requests  []Request
	fault     *Fault
	faultLeft int // requests left for fault; -1: until ClearFault
}

// New starts a server on 127.0.0.1 and closes it on t.Cleanup.
func New(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("remotetest: listen: %v", err)
	}
	s := &Server{
		t:        t,
		addr:     ln.Addr().String(),
		done:     make(chan struct{}),
		ln:       ln,
		conns:    map[net.Conn]struct{}{},
		licenses: map[string]*license{},
	}
	s.hs = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         s.connState,
	}
	go s.serve(ln)
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve(ln net.Listener) { _ = s.hs.Serve(ln) }

func (s *Server) connState(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case http.StateNew:
		s.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
	}
}

// URL returns the base URL, e.g. "http://127.0.0.1:41234". It stays the same
// across SetDown.
func (s *Server) URL() string { return "http://" + s.addr }

// Addr returns the listening address host:port.
func (s *Server) Addr() string { return s.addr }

// Close stops the server and ends hanging answers. It is idempotent and
// called by t.Cleanup.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.done)
		_ = s.hs.Close()
		s.mu.Lock()
		if s.ln != nil {
			_ = s.ln.Close()
			s.ln = nil
		}
		s.mu.Unlock()
	})
}

// SetDown(true) closes the listener and every open connection, so clients
// get "connection refused"; SetDown(false) listens again on the same address.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if down {
		if s.ln != nil {
			_ = s.ln.Close()
			s.ln = nil
		}
		for c := range s.conns {
			_ = c.Close()
		}
		return
	}
	if s.ln != nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	var err error
	for range 50 { // the port is ours; a rebind can only race a TIME_WAIT or a stranger
		var ln net.Listener
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			s.ln = ln
			go s.serve(ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Errorf("remotetest: listen again on %s: %v", s.addr, err)
}

// Down reports whether the server is down (SetDown(true)).
func (s *Server) Down() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ln == nil
}

// AddLicense registers (or replaces) a license. maxDevices ≤ 0 means
// unlimited devices. fields override the license object's defaults (see
// LicenseObject); a field set to Missing is left out, nil is sent as null, and
// any JSON-encodable value is sent as given (e.g. customField1 500 or "500").
func (s *Server) AddLicense(key string, maxDevices int, fields map[string]any) {
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	l := &license{
		lic:   store.License{Key: key, Status: store.StatusActive, MaxDevices: int64(max(maxDevices, 0))},
		token: "tok_" + hex.EncodeToString(tok), fields: map[string]any{},
	}
	for k, v := range fields {
		l.fields[k] = v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.licenses[key] = l
}

// RemoveLicense forgets a license: its key then answers 404 密钥不存在.
func (s *Server) RemoveLicense(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.licenses, key)
}

// SetField sets one field of a license's object (Missing removes it). It
// fails the test when the key is unknown.
func (s *Server) SetField(key, field string, value any) {
	s.withLicense(key, func(l *license) { l.fields[field] = value })
}

// SetSuspended suspends a license (403 密钥已被暂停) or lifts the suspension.
func (s *Server) SetSuspended(key string, suspended bool) {
	s.withLicense(key, func(l *license) {
		l.lic.Status = store.StatusActive
		if suspended {
			l.lic.Status = store.StatusSuspended
		}
	})
}

// SetToken sets the token of a license's successful answers ("" sends none).
func (s *Server) SetToken(key, token string) {
	s.withLicense(key, func(l *license) { l.token = token })
}

// Token returns the token a license's successful answers carry.
func (s *Server) Token(key string) (tok string) {
	s.withLicense(key, func(l *license) { tok = l.token })
	return tok
}

// BindDevice binds a machine to a license directly, as if it had verified.
func (s *Server) BindDevice(key, machineID string) {
	s.withLicense(key, func(l *license) {
		if l.lic.Device(machineID) < 0 {
			l.lic.Devices = append(l.lic.Devices, store.Device{MachineID: machineID, ActivatedAt: time.Now()})
		}
	})
}

// Devices returns the machines bound to a license, in binding order.
func (s *Server) Devices(key string) (ids []string) {
	s.withLicense(key, func(l *license) {
		for _, d := range l.lic.Devices {
			ids = append(ids, d.MachineID)
		}
	})
	return ids
}

func (s *Server) withLicense(key string, fn func(*license)) {
	s.mu.Lock()
	l, ok := s.licenses[key]
	if ok {
		fn(l)
	}
	s.mu.Unlock()
	if !ok {
		s.t.Errorf("remotetest: no license %q", key)
	}
}

// ExampleAnswer is the contract's example of a successful answer
// (docs/remote.md). Its license object gives the defaults of every license
// this server answers for.
const ExampleAnswer = `{
  "success": true,
  "message": "密钥验证成功",
  "license": {
    "licenseKey": "my-license-key-0001",
    "applicationName": "密钥管理系统",
    "licenseTypeName": "终生赞助版",
    "licenseTypeDisplayName": "终生赞助版",
    "status": "active",
    "maxUses": 999999,
    "currentUses": 8,
    "maxDevices": 1,
    "currentDevices": 2,
    "customField1": "500",
    "customField2": "100",
    "customField3": "10",
    "expiresAt": "2125-07-16T08:29:19Z",
    "activatedAt": "2025-08-09 08:29:19",
    "timezone": "UTC",
    "clientIP": "1.2.3.4"
  },
  "token": "optional-jwt-or-session"
}`

// LicenseObject returns the license object a successful answer for key would
// carry now: the license object of ExampleAnswer (customField1 "500",
// customField2 "100", expiresAt 2125-07-16T08:29:19Z, …) with this license's
// key, status, uses and devices, overridden by the license's fields. ok is
// false for an unknown key.
func (s *Server) LicenseObject(key string) (obj map[string]any, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.licenses[key]
	if !ok {
		return nil, false
	}
	return l.object("127.0.0.1"), true
}

func (l *license) object(clientIP string) map[string]any {
	var example struct {
		License map[string]any `json:"license"`
	}
	if err := json.Unmarshal([]byte(ExampleAnswer), &example); err != nil {
		panic("remotetest: ExampleAnswer: " + err.Error())
	}
	obj := example.License
	obj["licenseKey"], obj["status"], obj["clientIP"] = l.lic.Key, string(l.lic.Status), clientIP
	obj["currentUses"], obj["maxDevices"], obj["currentDevices"] = l.lic.CurrentUses, l.lic.MaxDevices, len(l.lic.Devices)
	for k, v := range l.fields {
		if v == Missing {
			delete(obj, k)
			continue
		}
		obj[k] = v
	}
	return obj
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Count returns how many requests arrived for path ("" counts all).
func (s *Server) Count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if path == "" {
		return len(s.requests)
	}
	n := 0
	for _, r := range s.requests {
		if r.Path == path {
			n++
		}
	}
	return n
}

// LastRequest returns the most recent request; ok is false when none came.
func (s *Server) LastRequest() (r Request, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		return Request{}, false
	}
	return s.requests[len(s.requests)-1], true
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// SetFault makes every following request answer with f until ClearFault.
func (s *Server) SetFault(f Fault) { s.setFault(f, -1) }

// FailNext makes the next n requests answer with f, then answers normally
// again.
func (s *Server) FailNext(n int, f Fault) {
	if n <= 0 {
		s.ClearFault()
		return
	}
	s.setFault(f, n)
}

// ClearFault returns to normal answers (it does not undo SetDown).
func (s *Server) ClearFault() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault, s.faultLeft = nil, 0
}

func (s *Server) setFault(f Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault, s.faultLeft = &f, n
}

// takeFault returns the fault for the current request and consumes one use.
func (s *Server) takeFault() *Fault {
	f := s.fault
	if f != nil && s.faultLeft > 0 {
		s.faultLeft--
		if s.faultLeft == 0 {
			s.fault = nil
		}
	}
	return f
}

const maxRequestBytes = 1 << 20

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	if err != nil {
		return
	}
	req := Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: time.Now()}
	var fields map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&fields) == nil {
		req.Fields = fields
	}
	switch req.Path {
	case licapi.PathVerify:
		var v licapi.VerifyRequest
		if json.Unmarshal(body, &v) == nil {
			req.Verify = &v
		}
	case licapi.PathSwitchDevice:
		var sw licapi.SwitchRequest
		if json.Unmarshal(body, &sw) == nil {
			req.Switch = &sw
		}
	}

	s.mu.Lock()
	f := s.takeFault()
	if f != nil {
		req.Fault = f.name
	}
	s.requests = append(s.requests, req)
	s.mu.Unlock()

	if f != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.serve(s, w, r)
		return
	}
	switch {
	case r.Method != http.MethodPost:
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"success": false, "message": "method not allowed"})
	case req.Path == licapi.PathVerify && req.Verify != nil:
		s.answer(w, r, req.Verify.LicenseKey, req.Verify.Validate(), bindRule(*req.Verify), licapi.MsgVerifyOK)
	case req.Path == licapi.PathSwitchDevice && req.Switch != nil:
		s.answer(w, r, req.Switch.LicenseKey, req.Switch.Validate(), moveRule(*req.Switch), licapi.MsgSwitchOK)
	case req.Path == licapi.PathVerify || req.Path == licapi.PathSwitchDevice:
		writeAnswer(w, http.StatusBadRequest, licapi.Fail(licapi.MsgBadRequest, "invalid_json"))
	default:
		http.NotFound(w, r) // plain text, like a real front proxy
	}
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// rule applies licensed's binding rule of one request to a license; nil
// or the rejection.
type rule func(l *store.License, now time.Time) *licserver.Answer

func bindRule(v licapi.VerifyRequest) rule {
	return func(l *store.License, now time.Time) *licserver.Answer {
		_, refusal, _ := licserver.BindDevice(l, v, now, nil)
		return refusal
	}
}

func moveRule(sw licapi.SwitchRequest) rule {
	return func(l *store.License, now time.Time) *licserver.Answer {
		_, _, refusal := licserver.MoveDevice(l, sw, now, nil)
		return refusal
	}
}

// answer runs one contract request the way licensed does: the request's
// validation, the key's lookup, licserver.Usable, then apply (licensed's
// binding rules); a success carries the license object and the token.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, key string, inv *licapi.Invalid,
	apply rule, okMsg string) {
	if inv != nil {
		writeAnswer(w, http.StatusBadRequest, inv.Answer())
		return
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.licenses[key]
	if !ok {
		writeAnswer(w, http.StatusNotFound, licapi.Fail(licapi.MsgNotFound, "license_not_found"))
		return
	}
	refusal := licserver.Usable(l.lic, now)
	if refusal == nil {
		refusal = apply(&l.lic, now)
	}
	if refusal != nil {
		writeAnswer(w, refusal.Status, refusal.Answer)
		return
	}
	writeJSON(w, http.StatusOK, l.success(okMsg, clientIP(r)))
}

func writeAnswer(w http.ResponseWriter, status int, a licapi.Answer) { writeJSON(w, status, a) }

func (l *license) success(msg, ip string) map[string]any {
	ans := map[string]any{"success": true, "message": msg, "license": l.object(ip)}
	if l.token != "" {
		ans["token"] = l.token
	}
	return ans
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"success":false,"message":"remotetest: cannot encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// errHijack is reported when a fault needs the raw connection but the
// ResponseWriter cannot give it.
var errHijack = errors.New("remotetest: connection cannot be hijacked")
