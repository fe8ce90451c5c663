package server_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/licensehost/licensehost/api"
)

// Every JSON answer declares its length and none is sent chunked: small
// ones get it from net/http (the whole body is buffered when the handler
// returns), large ones from writeJSON. Over a real server, since a
// ResponseRecorder computes no length.
func TestAnswersDeclareLength(t *testing.T) {
	ts, _ := newServer(t)
	// Refused checks write events; enough of them make GET /api/events
	// answer well over net/http's buffer.
	for i := range 40 {
		if code, _ := call(t, ts, "POST", api.PathQuotaCheck, fmt.Sprintf(`{"batch":%d,"used":0}`, 1000+i)); code != http.StatusForbidden {
			t.Fatalf("refused check answered %d", code)
		}
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		large              bool
	}{
		{"POST", api.PathQuotaCheck, `{"batch":5,"used":10}`, 200, false},
		{"POST", api.PathQuotaCheck, `{"batch":5000,"used":10}`, 403, false},
		{"POST", api.PathQuotaCheck, `{"batch":"x"}`, 400, false},
		{"GET", api.PathStatus, "", 200, false},
		{"GET", api.PathEvents + "?limit=40", "", 200, true},
		{"HEAD", api.PathStatus, "", 200, false},
		{"HEAD", api.PathEvents + "?limit=40", "", 200, true},
	} {
		resp, b := send(t, tc.method, ts.URL+tc.path, tc.body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
		if len(resp.TransferEncoding) != 0 {
			t.Errorf("%s %s: sent with Transfer-Encoding %v", tc.method, tc.path, resp.TransferEncoding)
		}
		want := int64(len(b))
		if tc.method == "HEAD" {
			_, gb := send(t, "GET", ts.URL+tc.path, "") // the length HEAD must declare
			want = int64(len(gb))
		}
		if resp.ContentLength != want || want <= 0 {
			t.Errorf("%s %s: Content-Length %d, body %d bytes", tc.method, tc.path, resp.ContentLength, want)
		}
		if tc.large && want <= 2048 {
			t.Errorf("%s %s: %d bytes, want an answer larger than net/http's 2 KiB buffer", tc.method, tc.path, want)
		}
		for _, h := range []string{"Content-Type", "Cache-Control", "Content-Security-Policy", "X-Frame-Options",
			"X-Content-Type-Options", "Cross-Origin-Resource-Policy"} {
			if len(resp.Header.Values(h)) != 1 {
				t.Errorf("%s %s: header %s = %q, want one value", tc.method, tc.path, h, resp.Header.Values(h))
			}
		}
	}
}

// Request bodies are read whole whatever length they declare, or none:
// short, longer than the presized buffer, and chunked (no declared length).
func TestRequestBodyLengths(t *testing.T) {
	ts, _ := newServer(t)
	pad := strings.Repeat(" ", 5000)
	for _, tc := range []struct {
		name    string
		body    string
		chunked bool
	}{
		{"small", `{"batch":5,"used":10}`, false},
		{"padded past the presized buffer", `{"batch":5,` + pad + `"used":10}`, false},
		{"chunked", `{"batch":5,"used":10}`, true},
		{"chunked and padded", `{"batch":5,` + pad + `"used":10}`, true},
	} {
		var r io.Reader = strings.NewReader(tc.body)
		if tc.chunked {
			r = io.MultiReader(r) // no length known: sent chunked
		}
		req, _ := http.NewRequest("POST", ts.URL+api.PathQuotaCheck, r)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"used":10`) {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, b)
		}
	}
}

// send makes one request with the admin token and returns the answer and
// its whole body.
func send(t *testing.T, method, url, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}
