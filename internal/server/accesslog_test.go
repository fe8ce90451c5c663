package server_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/internal/server"
)

// At info level the access log keeps refusals and errors, not the answered
// requests a quota API serves by the thousand; at debug level it has all.
func TestAccessLogLevels(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var buf enginetest.SyncBuffer
		s := newAPI(t, testEngine(t, nil), server.Options{AdminToken: adminToken,
			Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))})
		ts := httptest.NewServer(s)
		if code, _ := call(t, ts, "POST", api.PathQuotaCheck, `{"batch":1}`); code != 200 {
			t.Fatalf("check: %d", code)
		}
		resp, err := http.Post(ts.URL+api.PathQuotaCheck, "application/json", strings.NewReader(`{"batch":1}`)) // no token
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ts.Close()
		log := buf.String()
		answered := strings.Contains(log, "status=200")
		if refused := strings.Contains(log, "status=401"); !refused {
			t.Errorf("%v: the refusal is not logged: %q", level, log)
		}
		if answered != (level == slog.LevelDebug) {
			t.Errorf("%v: answered request logged = %v: %q", level, answered, log)
		}
	}
}
