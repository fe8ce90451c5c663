package licserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/licensehost/licensehost/internal/licserver/store"
)

// AdminClient is Admin over the admin HTTP API of a running server.
type AdminClient struct {
	BaseURL string // e.g. "http://127.0.0.1:7480"
	Token   string
	HTTP    *http.Client // nil: a client with a 30 s timeout
}

var _ Admin = (*AdminClient)(nil)

func (c *AdminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("admin client: encode: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("admin client: read answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var ae adminError
		_ = json.Unmarshal(b, &ae)
		for _, e := range adminErrors {
			if e.code == ae.Code {
				return fmt.Errorf("%w (server said: %s)", e.err, ae.Error)
			}
		}
		return fmt.Errorf("admin client: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("admin client: decode answer: %w", err)
		}
	}
	return nil
}

func (c *AdminClient) IssueKey(ctx context.Context, req IssueRequest) (store.License, error) {
	var l store.License
	err := c.do(ctx, http.MethodPost, PathAdminKeys, req, &l)
	return l, err
}

func (c *AdminClient) ListKeys(ctx context.Context, f KeyFilter) ([]store.License, error) {
	q := url.Values{}
	if f.Status != "" {
		q.Set("status", string(f.Status))
	}
	if f.Type != "" {
		q.Set("type", f.Type)
	}
	var ls []store.License
	err := c.do(ctx, http.MethodGet, PathAdminKeys+"?"+q.Encode(), nil, &ls)
	return ls, err
}

func (c *AdminClient) GetKey(ctx context.Context, key string) (store.License, error) {
	var l store.License
	err := c.do(ctx, http.MethodGet, PathAdminKeys+"/"+url.PathEscape(key), nil, &l)
	return l, err
}

func (c *AdminClient) SetKeyStatus(ctx context.Context, key string, action KeyAction) (store.License, error) {
	var l store.License
	err := c.do(ctx, http.MethodPost, PathAdminKeys+"/"+url.PathEscape(key)+"/"+url.PathEscape(string(action)), nil, &l)
	return l, err
}

func (c *AdminClient) UnbindDevice(ctx context.Context, key, machineID string) (store.License, error) {
	var l store.License
	err := c.do(ctx, http.MethodDelete, PathAdminKeys+"/"+url.PathEscape(key)+"/devices/"+url.PathEscape(machineID), nil, &l)
	return l, err
}

func (c *AdminClient) AddType(ctx context.Context, t store.LicenseType) (store.LicenseType, error) {
	var out store.LicenseType
	err := c.do(ctx, http.MethodPost, PathAdminTypes, t, &out)
	return out, err
}

func (c *AdminClient) ListTypes(ctx context.Context) ([]store.LicenseType, error) {
	var ts []store.LicenseType
	err := c.do(ctx, http.MethodGet, PathAdminTypes, nil, &ts)
	return ts, err
}

func (c *AdminClient) AuditLog(ctx context.Context, limit int, key string) ([]store.AuditEntry, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if key != "" {
		q.Set("key", key)
	}
	var es []store.AuditEntry
	err := c.do(ctx, http.MethodGet, PathAdminAudit+"?"+q.Encode(), nil, &es)
	return es, err
}
