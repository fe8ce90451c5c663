package licserver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"github.com/licensehost/licensehost/internal/licapi"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/licensehost/licensehost/internal/remote"
	"github.com/licensehost/licensehost/internal/signing"
)

// The host's real remote client, with the signing Verifier plugged in,
// against this server: accepted and rejected answers verify, and an answer
// altered in transit is not trusted.
func TestWithRemoteClient(t *testing.T) {
	e := newEnv(t, envOpts{})
	l := e.issue(IssueRequest{})
	v, err := signing.NewVerifier(signing.VerifierConfig{PublicKeys: []ed25519.PublicKey{e.pub}, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	c, err := remote.New(remote.Config{BaseURL: e.srv.URL, Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := c.Verify(ctx, licapi.VerifyRequest{LicenseKey: l.Key, MachineID: m1, DeviceInfo: licapi.DeviceInfoActivation + m1})
	if err != nil || !res.Success || res.License == nil || res.License.CustomField1 != "500" {
		t.Fatalf("verify: %+v %v", res, err)
	}
	res, err = c.Verify(ctx, licapi.VerifyRequest{LicenseKey: l.Key, MachineID: m2, DeviceInfo: licapi.DeviceInfoActivation + m2})
	if err != nil || res.Success || res.HTTPStatus != 403 || res.Message != licapi.MsgDeviceLimit {
		t.Fatalf("definitive rejection: %+v %v", res, err)
	}
	res, err = c.SwitchDevice(ctx, licapi.SwitchRequest{LicenseKey: l.Key, OldMachineID: m1, NewMachineID: m2, Reason: "r"})
	if err != nil || !res.Success || res.Message != licapi.MsgSwitchOK {
		t.Fatalf("switch: %+v %v", res, err)
	}

	// A tampering proxy: the body is altered, the signature kept.
	tamper := &remote.Config{BaseURL: e.srv.URL, Verifier: v, Transport: rewrite{http.DefaultTransport}}
	ct, err := remote.New(*tamper)
	if err != nil {
		t.Fatal(err)
	}
	res, err = ct.Verify(ctx, licapi.VerifyRequest{LicenseKey: l.Key, MachineID: m2, DeviceInfo: licapi.DeviceInfoHeartbeat + m2})
	if err == nil {
		t.Fatalf("tampered answer trusted: %+v", res)
	}
}

type rewrite struct{ rt http.RoundTripper }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b = []byte(strings.Replace(string(b), `"customField1":"500"`, `"customField1":"9999"`, 1))
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	return resp, nil
}
