package remotetest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/licensehost/licensehost/internal/licapi"
)

// Fault is a way of answering (or not answering) a request, set with
// Server.SetFault or Server.FailNext. A request answered by a fault is still
// logged, with Request.Fault naming it, but has no effect on licenses.
type Fault struct {
	name  string
	serve func(s *Server, w http.ResponseWriter, r *http.Request)
}

// String names the fault ("Status5xx(503)", "Hang", …).
func (f Fault) String() string { return f.name }

// ConnectionReset reads the request, then resets the TCP connection
// (SO_LINGER 0) without answering.
func ConnectionReset() Fault {
	return Fault{name: "ConnectionReset", serve: func(s *Server, w http.ResponseWriter, r *http.Request) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			s.t.Error(errHijack)
			return
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			s.t.Errorf("remotetest: hijack: %v", err)
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = conn.Close()
	}}
}

// Hang never answers: the handler waits until the client gives up (or the
// server goes down or closes).
func Hang() Fault {
	return Fault{name: "Hang", serve: func(s *Server, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
	}}
}

// Status5xx answers status (meant for 5xx) with the JSON body
// {"success":false,"message":"服务暂时不可用"}.
func Status5xx(status int) Fault {
	return Fault{name: fmt.Sprintf("Status5xx(%d)", status), serve: func(s *Server, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, status, map[string]any{"success": false, "message": MsgUnavailable})
	}}
}

// Reject4xx answers every request with status (meant for 4xx) and
// {"success":false,"message":message,"details":"remotetest"}.
func Reject4xx(status int, message string) Fault {
	return Fault{name: fmt.Sprintf("Reject4xx(%d)", status), serve: func(s *Server, w http.ResponseWriter, r *http.Request) {
		writeAnswer(w, status, licapi.Fail(message, "remotetest"))
	}}
}

// GarbageBody is the body Garbage answers with.
const GarbageBody = "<html><body><h1>Bad Gateway</h1>upstream went away</body></html>"

// Garbage answers 200 with a non-JSON (HTML) body.
func Garbage() Fault {
	return Raw(http.StatusOK, "text/html", []byte(GarbageBody))
}

// Raw answers status with body as given and the Content-Type contentType.
func Raw(status int, contentType string, body []byte) Fault {
	body = bytes.Clone(body)
	return Fault{name: fmt.Sprintf("Raw(%d)", status), serve: func(s *Server, w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}}
}

// Huge answers 200 with a JSON body of about n bytes (a success answer with
// an n-byte message), streamed in chunks.
func Huge(n int) Fault {
	return Fault{name: fmt.Sprintf("Huge(%d)", n), serve: func(s *Server, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if _, err := w.Write([]byte(`{"success":true,"message":"`)); err != nil {
			return
		}
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for left := n; left > 0; left -= len(chunk) {
			if left < len(chunk) {
				chunk = chunk[:left]
			}
			if _, err := w.Write(chunk); err != nil {
				return // the client stopped reading
			}
		}
		_, _ = w.Write([]byte(`"}`))
	}}
}

// SlowBody answers 200 at once, then trickles a JSON body one byte every
// interval and never finishes it: the client's total timeout must end the
// call.
func SlowBody(interval time.Duration) Fault {
	return Fault{name: fmt.Sprintf("SlowBody(%v)", interval), serve: func(s *Server, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		_ = rc.Flush()
		prefix := []byte(`{"success":true,"message":"slow`)
		t := time.NewTicker(interval)
		defer t.Stop()
		for i := 0; ; i++ {
			b := byte(' ')
			if i < len(prefix) {
				b = prefix[i]
			}
			if _, err := w.Write([]byte{b}); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-s.done:
				return
			case <-t.C:
			}
		}
	}}
}

// Handler answers with h, a custom handler. r.Body still holds the whole
// request body (it is also in the request log).
func Handler(h http.Handler) Fault {
	return Fault{name: "Handler", serve: func(s *Server, w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
	}}
}
