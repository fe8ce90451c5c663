// Package apitest checks answers of the local API against its OpenAPI
// document (api.OpenAPI) with kin-openapi's validator. The server's tests and
// the end-to-end tests send every request through Transport, so an answer
// whose status, content type or body drifts from the document fails the test
// that provoked it.
package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/licensehost/licensehost/api"
)

// Validator checks answers against the document.
type Validator struct {
	router routers.Router
}

var (
	loadOnce sync.Once
	loaded   *Validator
	loadErr  error
)

func init() {
	// GET /api/backup answers a gzip'd tar: a file, not a document.
	openapi3filter.RegisterBodyDecoder("application/gzip", openapi3filter.FileBodyDecoder)
}

// New returns a validator of api.OpenAPI. The document itself must be a
// valid OpenAPI 3 document; its servers are ignored, so any host matches.
func New() (*Validator, error) {
	loadOnce.Do(func() { loaded, loadErr = NewFor(api.OpenAPI()) })
	return loaded, loadErr
}

// NewFor returns a validator of the document doc (api/openapigen's tests
// check drifting answers against documents of their own types).
func NewFor(doc []byte) (*Validator, error) {
	d, err := openapi3.NewLoader().LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("apitest: load the OpenAPI document: %w", err)
	}
	d.Servers = nil
	r, err := legacy.NewRouter(d)
	if err != nil {
		return nil, fmt.Errorf("apitest: the OpenAPI document: %w", err)
	}
	return &Validator{router: r}, nil
}

// ErrUndocumented is wrapped by Check's error for a path or method the
// document does not have.
var ErrUndocumented = errors.New("route not in api/openapi.json")

// Check validates one answer (status, header, body) to req against the
// document: the status must be declared (or covered by "default"), the
// content type declared for it, and the body must match its schema.
func (v *Validator) Check(req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w (%v)", req.Method, req.URL.Path, ErrUndocumented, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: status,
		Header: header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			// Name the failing field and value, not the whole schema.
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s answered %d, which api/openapi.json does not allow: %w\nbody: %.2000s", req.Method, req.URL.Path, status, err, body)
	}
	return nil
}

// CheckAccepted validates a request the server accepted (a 2xx answer)
// against the document: what the server takes, the document must describe
// (its parameters and body). reqBody is the body as sent.
func (v *Validator) CheckAccepted(req *http.Request, reqBody []byte) error {
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w (%v)", req.Method, req.URL.Path, ErrUndocumented, err)
	}
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	// The validator re-reads the body through GetBody: it must be reqBody.
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	// The server reads a body as its route's one media type whatever the
	// Content-Type says (curl -d sends a form type), so it is checked as that.
	if rb := route.Operation.RequestBody; rb != nil && rb.Value != nil && len(rb.Value.Content) == 1 {
		for mediaType := range rb.Value.Content {
			r.Header.Set("Content-Type", mediaType)
		}
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s was accepted, but api/openapi.json does not allow the request: %w\nbody: %.2000s", req.Method, req.URL.Path, err, reqBody)
	}
	return nil
}

// Transport returns a RoundTripper (over base, or http.DefaultTransport when
// nil) that checks every answer of a documented route, and every request
// the server accepted, and reports a mismatch with t.Errorf. The check runs beside the caller, not in its way,
// so tests that time a request measure the daemon, not the validator; t's
// cleanup waits for every check. Answers to HEAD requests and to routes the
// document does not have (a test probing /nope, or a wrong method) are not
// checked: TestOpenAPIMatchesRoutes in internal/server keeps the route list
// and the document in step.
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	tr := &transport{t: t, v: v, base: base}
	t.Cleanup(tr.checks.Wait)
	return tr
}

type transport struct {
	t      testing.TB
	v      *Validator
	base   http.RoundTripper
	checks sync.WaitGroup
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := tr.base.RoundTrip(req)
	if err != nil || req.Method == http.MethodHead {
		return resp, err
	}
	if _, _, ferr := tr.v.router.FindRoute(req); ferr != nil {
		return resp, nil
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return resp, nil // the caller sees a short body; nothing to validate
	}
	sent, status, header := req.Clone(context.Background()), resp.StatusCode, resp.Header.Clone()
	tr.checks.Go(func() {
		if err := tr.v.Check(sent, status, header, body); err != nil {
			tr.t.Errorf("apitest: %v", err)
		}
		if status >= 200 && status < 300 {
			if err := tr.v.CheckAccepted(sent, reqBody); err != nil {
				tr.t.Errorf("apitest: %v", err)
			}
		}
	})
	return resp, nil
}
