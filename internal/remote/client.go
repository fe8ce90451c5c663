// Package remote is the HTTP client of the license server's fixed contract
// (docs/remote.md, internal/licapi): POST {base}/api/license/verify and
// POST {base}/api/license/switch-device. It implements engine.RemoteClient.
//
// Every answer is bounded, parsed leniently and classified (ParseResponse): a
// nil error is a trustworthy verdict (accepted or definitively rejected), an
// *engine.RemoteError is "no trustworthy answer". See docs/remote.md.
package remote

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/licapi"
	"github.com/licensehost/licensehost/internal/mask"
	"github.com/licensehost/licensehost/internal/signing"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultBaseURL          = "https://license.zhoujie218.top"
	DefaultConnectTimeout   = 5 * time.Second
	DefaultTotalTimeout     = 15 * time.Second
	DefaultMaxResponseBytes = 1 << 20 // 1 MiB
	DefaultUserAgent        = "licensehost"
)

// NonceHeader carries ResponseVerifier.NewNonce's nonce on every request when
// a verifier is configured.
const NonceHeader = "X-Licensehost-Nonce"

// ResponseVerifier checks that an answer really comes from the license server
// (signed answers; implemented in internal/signing). It is consulted only for
// answers that would otherwise be trusted (an acceptance or a definitive
// rejection); a failure turns the answer into a transient error.
type ResponseVerifier interface {
	// NewNonce returns a fresh nonce, sent as header X-Licensehost-Nonce.
	NewNonce() (string, error)
	// Verify checks the answer to the request sent to path with nonce. For
	// verify machineID is the request's machineId, for switch-device its
	// oldMachineId (the machine making the call). An error means the answer
	// is not trusted.
	Verify(path, machineID, nonce string, h http.Header, body []byte) error
}

// Config configures a Client. The zero value talks to DefaultBaseURL with the
// default timeouts and limits.
type Config struct {
	// BaseURL is the server's base URL: http or https, a host, optionally a
	// path prefix; no user info, query or fragment. Default DefaultBaseURL.
	BaseURL string
	// ConnectTimeout bounds DNS, TCP connect and the TLS handshake (ignored
	// when Transport is set). Default DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// TotalTimeout bounds a whole call: connect, request, answer and reading
	// the body. Default DefaultTotalTimeout.
	TotalTimeout time.Duration
	// MaxResponseBytes caps the response body; a longer body is a transient
	// error. Default DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// UserAgent is sent as User-Agent. Default DefaultUserAgent.
	UserAgent string
	// Logger receives Debug/Info lines; keys and tokens are always masked.
	// Default: discard.
	Logger *slog.Logger
	// Transport replaces the default transport (tests, custom TLS roots).
	Transport http.RoundTripper
	// Verifier, when set, checks every trusted answer (signed answers).
	Verifier ResponseVerifier
}

// Client is the license server client. It is safe for concurrent use.
type Client struct {
	base     string // without trailing slash
	cfg      Config
	http     *http.Client
	log      *slog.Logger
	verifier ResponseVerifier
}

var _ engine.RemoteClient = (*Client)(nil)

// New validates cfg, applies defaults and returns a Client. A bad
// configuration returns an error wrapping ErrInvalidConfig.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := validateBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.ConnectTimeout < 0:
		return nil, fmt.Errorf("%w: negative connect timeout %v", ErrInvalidConfig, cfg.ConnectTimeout)
	case cfg.TotalTimeout < 0:
		return nil, fmt.Errorf("%w: negative total timeout %v", ErrInvalidConfig, cfg.TotalTimeout)
	case cfg.MaxResponseBytes < 0:
		return nil, fmt.Errorf("%w: negative response limit %d", ErrInvalidConfig, cfg.MaxResponseBytes)
	}
	// Zero fields take the defaults.
	cfg.ConnectTimeout = cmp.Or(cfg.ConnectTimeout, DefaultConnectTimeout)
	cfg.TotalTimeout = cmp.Or(cfg.TotalTimeout, DefaultTotalTimeout)
	cfg.MaxResponseBytes = cmp.Or(cfg.MaxResponseBytes, DefaultMaxResponseBytes)
	cfg.UserAgent = cmp.Or(cfg.UserAgent, DefaultUserAgent)
	logger := cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	rt := cfg.Transport
	if rt == nil {
		rt = newTransport(cfg.ConnectTimeout)
	}
	return &Client{
		base:     base,
		cfg:      cfg,
		log:      logger,
		verifier: cfg.Verifier,
		http:     &http.Client{Transport: rt, CheckRedirect: checkRedirect},
	}, nil
}

func validateBaseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("%w: base URL %q: %w", ErrInvalidConfig, raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%w: base URL %q: scheme must be http or https", ErrInvalidConfig, raw)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%w: base URL %q: no host", ErrInvalidConfig, raw)
	case u.User != nil:
		return "", fmt.Errorf("%w: base URL %q: user info is not allowed", ErrInvalidConfig, raw)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%w: base URL %q: query and fragment are not allowed", ErrInvalidConfig, raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func newTransport(connect time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   connect,
		MaxIdleConns:          4,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// checkRedirect follows only redirects that keep the POST and its body (307,
// 308), at most 3, never from https to http. Any other redirect answer is
// returned as is and classified as transient ("unexpected HTTP 3xx").
func checkRedirect(req *http.Request, via []*http.Request) error {
	if req.Method != http.MethodPost || len(via) >= 3 ||
		(via[0].URL.Scheme == "https" && req.URL.Scheme != "https") {
		return http.ErrUseLastResponse
	}
	return nil
}

// BaseURL returns the normalized base URL (no trailing slash).
func (c *Client) BaseURL() string { return c.base }

// Verify calls POST {base}/api/license/verify.
func (c *Client) Verify(ctx context.Context, req licapi.VerifyRequest) (engine.RemoteResult, error) {
	return c.call(ctx, "verify", licapi.PathVerify, req.LicenseKey, req.MachineID, req,
		slog.String("machineId", req.MachineID), slog.String("deviceInfo", req.DeviceInfo))
}

// SwitchDevice calls POST {base}/api/license/switch-device.
func (c *Client) SwitchDevice(ctx context.Context, req licapi.SwitchRequest) (engine.RemoteResult, error) {
	return c.call(ctx, "switch-device", licapi.PathSwitchDevice, req.LicenseKey, req.OldMachineID, req,
		slog.String("oldMachineId", req.OldMachineID), slog.String("newMachineId", req.NewMachineID))
}

func (c *Client) call(parent context.Context, op, path, key, machineID string, payload any, attrs ...any) (engine.RemoteResult, error) {
	start := time.Now()
	attrs = append([]any{slog.String("op", op), slog.String("key", mask.Key(key))}, attrs...)
	log := c.log.With(attrs...)

	res, err := c.roundTrip(parent, path, machineID, payload)
	if re, ok := engine.AsRemoteError(err); ok {
		re.Message = mask.Redact(re.Message, key)
	}
	res.Message = mask.Redact(res.Message, key)

	elapsed := slog.Duration("elapsed", time.Since(start).Round(time.Millisecond))
	switch {
	case err != nil:
		status := 0
		if re, ok := engine.AsRemoteError(err); ok {
			status = re.HTTPStatus
		}
		log.Info("license server call failed", slog.Int("httpStatus", status),
			slog.String("error", mask.Redact(err.Error(), key)), elapsed)
	case res.Success:
		log.Info("license server accepted", slog.Int("httpStatus", res.HTTPStatus),
			slog.String("message", res.Message), slog.String("token", mask.Token(res.Token)), elapsed)
	default:
		log.Info("license server rejected", slog.Int("httpStatus", res.HTTPStatus),
			slog.String("message", res.Message), elapsed)
	}
	return res, err
}

func (c *Client) roundTrip(parent context.Context, path, machineID string, payload any) (engine.RemoteResult, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return engine.RemoteResult{}, &engine.RemoteError{Message: "cannot encode the request", Err: err}
	}
	ctx, cancel := context.WithTimeout(parent, c.cfg.TotalTimeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return engine.RemoteResult{}, &engine.RemoteError{Message: "cannot build the request", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	var nonce string
	if c.verifier != nil {
		if nonce, err = c.verifier.NewNonce(); err != nil {
			return engine.RemoteResult{}, &engine.RemoteError{Message: "cannot create a request nonce: " + err.Error(), Err: err}
		}
		req.Header.Set(NonceHeader, nonce)
	}
	c.log.Debug("license server request", slog.String("url", c.base+path), slog.String("machineId", machineID))

	resp, err := c.http.Do(req)
	if err != nil {
		return engine.RemoteResult{}, c.transportError(parent, ctx, 0, err, "")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxResponseBytes+1))
	if err != nil {
		return engine.RemoteResult{}, c.transportError(parent, ctx, resp.StatusCode, err, " while reading the response")
	}
	if int64(len(raw)) > c.cfg.MaxResponseBytes {
		return engine.RemoteResult{}, &engine.RemoteError{
			HTTPStatus: resp.StatusCode,
			Message:    "response exceeds " + formatSize(c.cfg.MaxResponseBytes),
		}
	}
	c.log.Debug("license server answer", slog.Int("httpStatus", resp.StatusCode), slog.Int("bytes", len(raw)))

	res, err := ParseResponse(resp.StatusCode, raw)
	if t, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
		res.ServerTime = t
	}
	if err != nil || c.verifier == nil {
		return res, err
	}
	if verr := c.verifier.Verify(path, machineID, nonce, resp.Header, raw); verr == nil {
		res.Proof = &engine.Proof{Path: path, MachineID: machineID, Nonce: nonce,
			Signature: resp.Header.Get(signing.HeaderSignature), HTTPStatus: resp.StatusCode, Body: raw}
	} else {
		var data json.RawMessage
		if json.Valid(raw) {
			data = res.Body
		}
		return engine.RemoteResult{}, &engine.RemoteError{
			HTTPStatus: resp.StatusCode,
			Data:       data,
			Message:    "license server answer failed signature check: " + verr.Error(),
			Err:        verr,
		}
	}
	return res, nil
}

// transportError describes a failure without an (complete) HTTP answer. The
// returned error wraps both the context's error (so errors.Is(err,
// context.DeadlineExceeded) and context.Canceled work) and the transport's.
func (c *Client) transportError(parent, ctx context.Context, status int, err error, phase string) *engine.RemoteError {
	msg := describe(err, c.cfg.ConnectTimeout)
	switch {
	case parent.Err() != nil:
		if errors.Is(parent.Err(), context.DeadlineExceeded) {
			msg = "timed out (the caller's deadline passed)"
		} else {
			msg = "canceled"
		}
		err = fmt.Errorf("%w: %w", parent.Err(), err)
	case ctx.Err() != nil:
		msg = "timed out after " + c.cfg.TotalTimeout.String()
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return &engine.RemoteError{HTTPStatus: status, Message: msg + phase, Err: err}
}

// describe turns a transport error into a short plain description.
func describe(err error, connect time.Duration) string {
	text := err.Error()
	var uerr *url.Error
	if errors.As(err, &uerr) {
		text = uerr.Err.Error() // without the method and URL
	}
	var (
		dnsErr  *net.DNSError
		opErr   *net.OpError
		netErr  net.Error
		certErr *tls.CertificateVerificationError
		uaErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
	)
	switch {
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "cannot resolve host " + dnsErr.Name
		}
		return "DNS lookup of " + dnsErr.Name + " failed: " + dnsErr.Err
	case errors.Is(err, syscall.ECONNREFUSED), strings.Contains(text, "connection refused"),
		strings.Contains(text, "actively refused"):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), strings.Contains(text, "connection reset"),
		strings.Contains(text, "forcibly closed"):
		return "connection reset by peer"
	case strings.Contains(text, "TLS handshake timeout"):
		return "TLS handshake timed out after " + connect.String()
	case errors.As(err, &certErr), errors.As(err, &uaErr), errors.As(err, &hostErr),
		errors.As(err, &invErr), errors.As(err, &recErr), errors.As(err, &alert),
		strings.Contains(text, "tls: "), strings.Contains(text, "x509: "),
		strings.Contains(text, "HTTP response to HTTPS client"):
		return "TLS error: " + text
	case errors.As(err, &opErr) && opErr.Op == "dial" && opErr.Timeout():
		return "connect timed out after " + connect.String()
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before a complete answer"
	}
	return "network error: " + text
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
