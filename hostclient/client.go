// Package hostclient is a Go client of the licensehost daemon's local HTTP API
// (docs/api.md; wire types in package api). The CLI and the tray use it. Stdlib
// only, no cgo.
//
// Every method takes a context first. Failures come back as typed errors:
// *NotRunningError (errors.Is ErrHostNotRunning) when nothing listens,
// *APIError (ErrUnauthorized, ErrForbidden) for api.Error answers, and
// *ActionError carrying the api.ActionResponse of a failed action (400, 409, 422,
// 502) so callers can show the license server's details.
package hostclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/licensehost/licensehost/api"
)

// Defaults.
const (
	// DefaultBaseURL is the daemon's default address.
	DefaultBaseURL = "http://" + api.DefaultListen
	// DefaultTimeout bounds calls the daemon answers locally (status,
	// machine-id, clear, quota, healthz).
	DefaultTimeout = 10 * time.Second
	// DefaultActionTimeout bounds calls during which the daemon asks the
	// license server (activate, heartbeat, device switch).
	DefaultActionTimeout = 60 * time.Second
	// MaxResponseBytes caps every answer read from the daemon.
	MaxResponseBytes = 1 << 20
)

// Client talks to one licensehost daemon. It is safe for concurrent use.
type Client struct {
	base          *url.URL
	token         string
	hc            *http.Client
	timeout       time.Duration
	actionTimeout time.Duration
	userAgent     string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the HTTP client (tests, custom transports). The
// client's redirect policy is kept as given.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTimeout sets the bound of calls answered locally by the daemon; 0 or
// less means no bound beyond the caller's context.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithActionTimeout sets the bound of calls that reach the license server.
func WithActionTimeout(d time.Duration) Option { return func(c *Client) { c.actionTimeout = d } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the daemon at baseURL ("http://127.0.0.1:7474";
// a bare "host:port" is taken as http; "" means DefaultBaseURL) using the
// bearer token (may be empty for Healthz).
func New(baseURL, token string, opts ...Option) (*Client, error) {
	if strings.TrimSpace(baseURL) == "" {
		baseURL = DefaultBaseURL
	}
	if !strings.Contains(baseURL, "://") {
		baseURL = "http://" + baseURL
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("hostclient: bad host URL %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("hostclient: bad host URL %q: scheme must be http or https", baseURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("hostclient: bad host URL %q: no host", baseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	c := &Client{
		base:          u,
		token:         strings.TrimSpace(token),
		timeout:       DefaultTimeout,
		actionTimeout: DefaultActionTimeout,
		userAgent:     "licensehost-hostclient",
	}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil // a local API and its token never go through a proxy
		c.hc = &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return c, nil
}

// BaseURL is the daemon's address as used by the client.
func (c *Client) BaseURL() string { return c.base.String() }

// Status returns GET /api/sponsor/status (local, never calls the remote).
func (c *Client) Status(ctx context.Context) (*api.Status, error) {
	var st api.Status
	if err := c.get(ctx, api.PathStatus, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// MachineID returns this machine's code from GET /api/sponsor/machine-id.
func (c *Client) MachineID(ctx context.Context) (string, error) {
	var m api.MachineID
	if err := c.get(ctx, api.PathMachineID, &m); err != nil {
		return "", err
	}
	return m.MachineID, nil
}

// Activate verifies licenseKey with the license server through the daemon.
// On failure it returns an *ActionError holding the daemon's answer.
func (c *Client) Activate(ctx context.Context, licenseKey string) (*api.ActionResponse, error) {
	return c.action(ctx, "activate", api.PathActivate, api.ActivateRequest{LicenseKey: licenseKey}, c.actionTimeout)
}

// Heartbeat asks the daemon to re-verify the stored key now (manual refresh).
// On failure it returns an *ActionError holding the daemon's answer.
func (c *Client) Heartbeat(ctx context.Context) (*api.ActionResponse, error) {
	return c.action(ctx, "heartbeat", api.PathHeartbeat, struct{}{}, c.actionTimeout)
}

// Clear deletes the local license record: the installation falls back to the
// community edition.
func (c *Client) Clear(ctx context.Context) (*api.ActionResponse, error) {
	return c.action(ctx, "clear", api.PathClear, struct{}{}, c.timeout)
}

// SwitchDevice hands the license over to newMachineID. On failure it returns
// an *ActionError holding the daemon's answer.
func (c *Client) SwitchDevice(ctx context.Context, newMachineID, reason string) (*api.ActionResponse, error) {
	return c.action(ctx, "device-switch", api.PathSwitchDevice,
		api.SwitchRequest{NewMachineID: newMachineID, Reason: reason}, c.actionTimeout)
}

// QuotaCheck asks whether req.Batch more items may be created. A refusal
// (403) is a decision, not an error: the response has Allowed false and a
// Reason, and the error is nil.
func (c *Client) QuotaCheck(ctx context.Context, req api.QuotaCheckRequest) (*api.QuotaResponse, error) {
	return c.quota(ctx, api.PathQuotaCheck, req)
}

// QuotaConsume counts req.Batch items against the quota when allowed; see
// QuotaCheck for refusals. An idempotency key already seen returns the first
// answer with Replayed set.
func (c *Client) QuotaConsume(ctx context.Context, req api.QuotaConsumeRequest) (*api.QuotaResponse, error) {
	return c.quota(ctx, api.PathQuotaConsume, req)
}

// Healthz returns nil when the daemon answers GET /healthz with 200. It needs
// no token.
func (c *Client) Healthz(ctx context.Context) error {
	resp, body, err := c.do(ctx, http.MethodGet, api.PathHealthz, nil, c.timeout)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return errorFor(resp, body)
	}
	return nil
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	resp, body, err := c.do(ctx, http.MethodGet, path, nil, c.timeout)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return errorFor(resp, body)
	}
	return decode(resp, body, out)
}

func (c *Client) action(ctx context.Context, name, path string, in any, timeout time.Duration) (*api.ActionResponse, error) {
	resp, body, err := c.do(ctx, http.MethodPost, path, in, timeout)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var ar api.ActionResponse
		if err := decode(resp, body, &ar); err != nil {
			return nil, err
		}
		return &ar, nil
	case http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusBadGateway:
		var ar api.ActionResponse
		if err := decode(resp, body, &ar); err != nil || !isActionBody(body) {
			// A 400 for bad JSON comes as api.Error.
			return nil, errorFor(resp, body)
		}
		return nil, &ActionError{Action: name, StatusCode: resp.StatusCode, Response: &ar}
	}
	return nil, errorFor(resp, body)
}

func (c *Client) quota(ctx context.Context, path string, in any) (*api.QuotaResponse, error) {
	return decision[api.QuotaResponse](ctx, c, path, in)
}

// decision posts in to path for an answer that may be a refusal: a 403
// whose body has "allowed" is an answer (T says why), any other 403 is the
// token's *APIError.
func decision[T any](ctx context.Context, c *Client, path string, in any) (*T, error) {
	resp, body, err := c.do(ctx, http.MethodPost, path, in, c.timeout)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusForbidden:
		if !hasKey(body, "allowed") { // api.Error: the token may not do this
			return nil, errorFor(resp, body)
		}
	default:
		return nil, errorFor(resp, body)
	}
	var out T
	if err := decode(resp, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// do sends one request and reads at most MaxResponseBytes of the answer.
func (c *Client) do(ctx context.Context, method, path string, in any, timeout time.Duration) (*http.Response, []byte, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var rd io.Reader
	ctype := "application/json"
	if raw, ok := in.(rawBody); ok {
		rd, ctype, in = bytes.NewReader(raw), "text/plain; charset=utf-8", nil
	}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, nil, fmt.Errorf("hostclient: encode %s body: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	u := *c.base
	p, query, _ := strings.Cut(path, "?")
	u.Path = c.base.Path + p
	u.RawQuery = query
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, nil, fmt.Errorf("hostclient: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("hostclient: %s %s: read answer: %w", method, path, err)
	}
	if len(body) > MaxResponseBytes {
		return nil, nil, fmt.Errorf("hostclient: %s %s: %w (over %d bytes)", method, path, ErrResponseTooLarge, MaxResponseBytes)
	}
	return resp, body, nil
}

// send adds the token and user agent to req and sends it; a refused
// connection is a *NotRunningError.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if isRefused(err) {
			return nil, &NotRunningError{BaseURL: c.base.String(), Err: err}
		}
		return nil, fmt.Errorf("hostclient: %s %s: %w", req.Method, req.URL, err)
	}
	return resp, nil
}

func isRefused(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" && strings.Contains(op.Err.Error(), "refused")
}

func decode(resp *http.Response, body []byte, out any) error {
	if err := json.Unmarshal(body, out); err != nil {
		return &ResponseError{StatusCode: resp.StatusCode, Snippet: snippet(body), Err: fmt.Errorf("not a licensehost answer: %w", err)}
	}
	return nil
}

// errorFor builds the error of a non-success answer.
func errorFor(resp *http.Response, body []byte) error {
	var e api.Error
	if json.Unmarshal(body, &e) == nil && (e.Error != "" || e.Message != "") {
		return &APIError{StatusCode: resp.StatusCode, Body: e, Challenge: resp.Header.Get("WWW-Authenticate")}
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return &APIError{StatusCode: resp.StatusCode, Challenge: resp.Header.Get("WWW-Authenticate")}
	}
	return &ResponseError{StatusCode: resp.StatusCode, Snippet: snippet(body)}
}

func isActionBody(body []byte) bool { return hasKey(body, "success") && !hasKey(body, "error") }

func hasKey(body []byte, key string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	_, ok := m[key]
	return ok
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
