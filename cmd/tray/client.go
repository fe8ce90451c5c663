package main

import (
	"context"
	"errors"
	"log"
	"os"
	"sync"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/ui"
)

// tokenClient is a ui.Client over hostclient that re-reads the token file
// when the host refuses the token or is not running: the daemon creates the
// token on its first start, which may come after the tray's.
type tokenClient struct {
	baseURL, tokenFile string
	logf               func(format string, args ...any)

	mu      sync.Mutex
	c       *hostclient.Client
	token   string
	modTime time.Time
}

var _ ui.Client = (*tokenClient)(nil)

func newTokenClient(baseURL, tokenFile string, logf func(string, ...any)) (*tokenClient, error) {
	if logf == nil {
		logf = log.Printf
	}
	t := &tokenClient{baseURL: baseURL, tokenFile: tokenFile, logf: logf}
	if err := t.reload(true); err != nil {
		return nil, err
	}
	return t, nil
}

// reload reads the token file when it changed (or when force) and rebuilds
// the client. A missing or unreadable file leaves an empty token: the host
// then answers 401, which the views explain.
func (t *tokenClient) reload(force bool) error {
	var mod time.Time
	if fi, err := os.Stat(t.tokenFile); err == nil {
		mod = fi.ModTime()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !force && t.c != nil && mod.Equal(t.modTime) {
		return nil
	}
	tok, err := hostclient.ReadTokenFile(t.tokenFile)
	switch {
	case errors.Is(err, hostclient.ErrTokenFileInsecure):
		t.logf("warning: %v", err)
	case err != nil:
		t.logf("no token yet: %v", err)
		tok = ""
	}
	c, err := hostclient.New(t.baseURL, tok, hostclient.WithUserAgent("licensehost-tray/"+version))
	if err != nil {
		return err
	}
	t.c, t.token, t.modTime = c, tok, mod
	return nil
}

func (t *tokenClient) client() *hostclient.Client {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.c
}

// retry runs call, and once more with a re-read token if the host refused
// the token.
func retry[T any](t *tokenClient, call func(*hostclient.Client) (T, error)) (T, error) {
	v, err := call(t.client())
	if errors.Is(err, hostclient.ErrUnauthorized) || errors.Is(err, hostclient.ErrHostNotRunning) {
		before := t.client()
		if t.reload(false) == nil && t.client() != before && !errors.Is(err, hostclient.ErrHostNotRunning) {
			return call(t.client())
		}
	}
	return v, err
}

func (t *tokenClient) Status(ctx context.Context) (*api.Status, error) {
	return retry(t, func(c *hostclient.Client) (*api.Status, error) { return c.Status(ctx) })
}

func (t *tokenClient) Activate(ctx context.Context, key string) (*api.ActionResponse, error) {
	return retry(t, func(c *hostclient.Client) (*api.ActionResponse, error) { return c.Activate(ctx, key) })
}

func (t *tokenClient) Heartbeat(ctx context.Context) (*api.ActionResponse, error) {
	return retry(t, func(c *hostclient.Client) (*api.ActionResponse, error) { return c.Heartbeat(ctx) })
}

func (t *tokenClient) Clear(ctx context.Context) (*api.ActionResponse, error) {
	return retry(t, func(c *hostclient.Client) (*api.ActionResponse, error) { return c.Clear(ctx) })
}

func (t *tokenClient) SwitchDevice(ctx context.Context, newID, reason string) (*api.ActionResponse, error) {
	return retry(t, func(c *hostclient.Client) (*api.ActionResponse, error) { return c.SwitchDevice(ctx, newID, reason) })
}

func (t *tokenClient) ActivationRequest(ctx context.Context, key string) (*api.ActivationFileAnswer, error) {
	return retry(t, func(c *hostclient.Client) (*api.ActivationFileAnswer, error) { return c.ActivationRequest(ctx, key) })
}

func (t *tokenClient) InstallActivation(ctx context.Context, file []byte) (*api.InstallAnswer, error) {
	return retry(t, func(c *hostclient.Client) (*api.InstallAnswer, error) { return c.InstallActivation(ctx, file) })
}

func (t *tokenClient) Activations(ctx context.Context) (*api.Activations, error) {
	return retry(t, func(c *hostclient.Client) (*api.Activations, error) { return c.Activations(ctx) })
}
