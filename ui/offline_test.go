package ui

import (
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/hostclient"
)

// offlineHarness is a View whose file dialogs are replaced: saves land in
// saved, opens read openData.
type offlineHarness struct {
	*harness
	saved    map[string][]byte
	openData []byte
}

func newOfflineHarness(t *testing.T, f *fakeClient) *offlineHarness {
	t.Helper()
	o := &offlineHarness{saved: map[string][]byte{}}
	o.harness = newView(t, f, Options{
		SaveFile: func(name string, data []byte, done func(string, error)) {
			o.saved[name] = data
			done("/media/usb/"+name, nil)
		},
		OpenFile: func(done func([]byte, string, error)) { done(o.openData, "/media/usb/activation.txt", nil) },
	}, fyne.NewSize(720, 640))
	return o
}

func installed() *api.Activations {
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	return &api.Activations{MachineID: testMachineID, InstallationKey: "NIxW5I6iMw5I53JCtUaptdi8YiLII3TQZ+tWAfRAYKc=", TrustedKids: []string{"2026-a"},
		Activations: []api.Activation{
			{Serial: "AF-7K3M-Q9D2-XW4H-0B6T", State: "in_force", Kind: "formal", LicenseType: "pro", LicenseKeyHint: "LH-7…VJ1G",
				Features: []api.ActivationFeature{{Name: "data.source"}, {Name: "data.cdc"}}, Uninstallable: true, Kid: "2026-a"},
			{Serial: "AF-TRIA-L000-0000-0001", State: "expired", Kind: "temporary", LicenseType: "trial", ExpiresAt: &exp,
				Features: []api.ActivationFeature{{Name: "data.mq"}}, Kid: "2026-a"},
		}}
}

func TestOfflineSaveRequestAndInstall(t *testing.T) {
	f := &fakeClient{
		StatusFn: func(context.Context) (*api.Status, error) { return activeStatus(), nil },
		RequestFn: func(_ context.Context, key string) (*api.ActivationFileAnswer, error) {
			return &api.ActivationFileAnswer{Success: true, MachineID: testMachineID, File: "-----BEGIN LICENSEHOST ACTIVATION REQUEST-----\n…"}, nil
		},
		InstallFn: func(_ context.Context, b []byte) (*api.InstallAnswer, error) {
			return &api.InstallAnswer{Success: true, Activation: installed().Activations[0]}, nil
		},
		ActivationsFn: func(context.Context) (*api.Activations, error) { return installed(), nil },
	}
	h := newOfflineHarness(t, f)
	h.v.ShowTab(TabOffline)
	h.v.wait()
	o := h.v.offline
	if len(o.list.Objects) != 2 || o.installKey.Text != installed().InstallationKey {
		t.Fatalf("list not loaded on showing the tab: %d rows, key %q", len(o.list.Objects), o.installKey.Text)
	}
	test.Type(o.keyEntry, "LH-KEY")
	h.tap(o.saveBtn)
	h.v.wait()
	name := "licensehost-request-" + testMachineID + ".txt"
	if !strings.HasPrefix(string(h.saved[name]), "-----BEGIN LICENSEHOST ACTIVATION REQUEST-----") {
		t.Fatalf("saved %v", h.saved)
	}
	wantContains(t, "result", o.result.text(), "/media/usb/"+name)

	h.openData = []byte("-----BEGIN LICENSEHOST ACTIVATION-----\nthe file\n")
	h.tap(o.openBtn)
	h.v.wait()
	h.v.wait()
	wantContains(t, "result", o.result.text(), "Installed AF-7K3M-Q9D2-XW4H-0B6T", "data.source, data.cdc")
	calls := strings.Join(h.f.Calls(), "|")
	wantContains(t, "calls", calls, "request:LH-KEY", "install:-----BEGIN LICENSEHOST ACTIVATION-----\nthe file\n")
}

func TestOfflineRefusalsInPlainWords(t *testing.T) {
	var installErr error
	f := &fakeClient{
		StatusFn:      func(context.Context) (*api.Status, error) { return activeStatus(), nil },
		InstallFn:     func(context.Context, []byte) (*api.InstallAnswer, error) { return nil, installErr },
		ActivationsFn: func(context.Context) (*api.Activations, error) { return &api.Activations{}, nil },
		RequestFn: func(context.Context, string) (*api.ActivationFileAnswer, error) {
			return nil, &hostclient.NotRunningError{BaseURL: "http://127.0.0.1:7474", Err: errors.New("refused")}
		},
	}
	h := newOfflineHarness(t, f)
	o := h.v.offline
	h.openData = []byte("x")
	for code, title := range map[string]string{
		"wrong_machine":       "This activation file is for another machine",
		"untrusted_key":       "This activation file is not signed by a trusted vendor key",
		"expired":             "This activation file has expired",
		"already_uninstalled": "This activation file was uninstalled here",
		"not_armored":         "This file cannot be installed",
	} {
		installErr = &hostclient.ActivationError{StatusCode: 403, Code: code, Message: "the host's message for " + code}
		h.tap(o.openBtn)
		h.v.wait()
		h.v.wait()
		wantContains(t, code, o.result.text(), title, "the host's message for "+code)
		if o.openBtn.Disabled() {
			t.Fatalf("%s: the open button stays disabled", code)
		}
	}
	h.tap(o.saveBtn)
	h.v.wait()
	wantContains(t, "request with the host down", o.result.text(), "The license host is not running")
	if len(h.saved) != 0 {
		t.Fatal("a file was saved after a failed request")
	}
}

// TestOfflineScreenshot writes docs/img/tray-offline.png when
// LICENSEHOST_SCREENSHOTS is set (make screenshots-tray-offline).
func TestOfflineScreenshot(t *testing.T) {
	dir := os.Getenv("LICENSEHOST_SCREENSHOTS")
	if dir == "" {
		t.Skip("set LICENSEHOST_SCREENSHOTS=DIR to write the screenshot")
	}
	f := &fakeClient{
		StatusFn:      func(context.Context) (*api.Status, error) { return activeStatus(), nil },
		ActivationsFn: func(context.Context) (*api.Activations, error) { return installed(), nil },
		InstallFn: func(context.Context, []byte) (*api.InstallAnswer, error) {
			return &api.InstallAnswer{Success: true, Activation: installed().Activations[0]}, nil
		},
	}
	h := newOfflineHarness(t, f)
	h.v.ShowTab(TabOffline)
	h.v.wait()
	h.openData = []byte("file")
	h.tap(h.v.offline.openBtn)
	h.v.wait()
	h.v.wait()
	fyne.CurrentApp().Settings().SetTheme(theme.LightTheme()) //nolint:staticcheck // the screenshots are light
	h.w.Resize(fyne.NewSize(720, 560))
	h.w.Content().Refresh()
	img := h.w.Canvas().Capture()
	if err := writePNG(filepath.Join(dir, "tray-offline.png"), img); err != nil {
		t.Fatal(err)
	}
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
