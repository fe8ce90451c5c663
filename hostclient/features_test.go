package hostclient_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/internal/server"
)

// The feature methods against the real API handler on loopback.
func TestFeaturesAgainstRealServer(t *testing.T) {
	p := engine.Product{Name: "P", Features: []engine.Feature{{Name: "a", Title: "A"}, {Name: "b"}},
		Preauth: 24 * time.Hour, PreauthFeatures: []string{"a"}}
	eng, err := engine.New(engine.Options{Store: enginetest.NewMemStore(), Remote: &enginetest.Remote{},
		Clock: enginetest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), Config: engine.DefaultConfig(),
		MachineID: "server_0123456789abcdef", Product: p})
	if err != nil {
		t.Fatal(err)
	}
	const app = "read-only-app-token-0123456789"
	s, err := server.New(eng, server.Options{AdminToken: testToken + "-admin", AppToken: app})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	c, err := hostclient.New(ts.URL, app)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fr, err := c.Features(ctx)
	if err != nil || fr.Product != "P" || len(fr.Features) != 2 || !fr.Features[0].Enabled || fr.Preauth == nil {
		t.Fatalf("Features = %+v, %v", fr, err)
	}
	ok, err := c.CheckFeature(ctx, "a")
	if err != nil || !ok.Allowed || ok.Kind != "preauth" {
		t.Fatalf("CheckFeature(a) = %+v, %v", ok, err)
	}
	no, err := c.CheckFeature(ctx, "b")
	if err != nil || no.Allowed || no.Reason != api.FeatureNotLicensed {
		t.Fatalf("CheckFeature(b) = %+v, %v; a refusal is an answer", no, err)
	}
	_, err = c.CheckFeature(ctx, "Bad Name")
	var ae *hostclient.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 400 {
		t.Fatalf("CheckFeature(bad) err = %v, want a 400 APIError", err)
	}
	wrong, _ := hostclient.New(ts.URL, "wrong")
	if _, err := wrong.CheckFeature(ctx, "a"); !errors.Is(err, hostclient.ErrUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := wrong.Features(ctx); !errors.Is(err, hostclient.ErrUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
}
