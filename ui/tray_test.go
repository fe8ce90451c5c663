package ui

import (
	"bytes"
	"image/png"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/licensehost/licensehost/api"
)

func TestStateOf(t *testing.T) {
	for s, want := range map[string]TrayState{
		"active": TrayActive, "switching": TrayActive, "grace": TrayGrace, "grace_limited": TrayGrace,
		"community": TrayInactive, "expired": TrayInactive, "pending": TrayInactive,
	} {
		if got := StateOf(&api.Status{Status: s}); got != want {
			t.Errorf("StateOf(%s) = %v, want %v", s, got, want)
		}
	}
	if StateOf(nil) != TrayInactive {
		t.Error("unknown status is not inactive")
	}
}

func TestTrayIcons(t *testing.T) {
	seen := map[string]TrayState{}
	for _, s := range []TrayState{TrayActive, TrayGrace, TrayInactive} {
		res := TrayIcon(s)
		b := res.Content()
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("%v icon is not a PNG", s)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if sz := img.Bounds().Size(); sz.X != 64 || sz.Y != 64 {
			t.Errorf("%v icon is %v", s, sz)
		}
		if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
			t.Errorf("%v icon corner is not transparent", s)
		}
		if _, _, _, a := img.At(32, 10).RGBA(); a == 0 {
			t.Errorf("%v icon centre is transparent", s)
		}
		if prev, dup := seen[string(b)]; dup {
			t.Errorf("%v and %v icons are the same", s, prev)
		}
		seen[string(b)] = s
	}
}

func TestTrayMenu(t *testing.T) {
	test.NewTempApp(t)
	var got []string
	m := NewTrayMenu(TrayActions{
		Activate:      func() { got = append(got, "activate") },
		Offline:       func() { got = append(got, "offline") },
		Refresh:       func() { got = append(got, "refresh") },
		CopyMachineID: func() { got = append(got, "copy") },
		OpenWindow:    func() { got = append(got, "open") },
		Quit:          func() { got = append(got, "quit") },
	})
	var labels []string
	for _, it := range m.Menu.Items {
		if it.IsSeparator {
			labels = append(labels, "--")
			continue
		}
		labels = append(labels, it.Label)
		if it.Action != nil {
			it.Action()
		}
	}
	want := []string{"licensehost: checking…", "--", "Activate…", "Offline activation…", "Refresh now", "Copy machine code", "Open status window", "--", "Quit"}
	if len(labels) != len(want) {
		t.Fatalf("labels %q", labels)
	}
	for i := range want {
		if labels[i] != want[i] {
			t.Errorf("item %d = %q, want %q", i, labels[i], want[i])
		}
	}
	if len(got) != 6 || got[0] != "activate" || got[1] != "offline" || got[5] != "quit" {
		t.Errorf("actions %v", got)
	}
	if !m.Menu.Items[0].Disabled || !m.copyID.Disabled || !m.quit.IsQuit {
		t.Error("status line and copy (before a status) must be disabled; quit marked IsQuit")
	}

	if !m.Update(activeStatus(), Problem{}) {
		t.Error("first status: no change reported")
	}
	if m.StatusLine() != "licensehost: Active — 终生赞助版" || m.copyID.Disabled {
		t.Errorf("active: %q copy disabled %v", m.StatusLine(), m.copyID.Disabled)
	}
	if m.Update(activeStatus(), Problem{}) {
		t.Error("same status reported as a change")
	}
	m.Update(graceStatus(4.5), Problem{})
	if m.StatusLine() != "licensehost: Grace period — 5 days left" {
		t.Errorf("grace: %q", m.StatusLine())
	}
	m.Update(nil, Problem{Kind: KindHostDown, Title: "The license host is not running"})
	if m.StatusLine() != "licensehost: The license host is not running" || !m.copyID.Disabled {
		t.Errorf("down: %q", m.StatusLine())
	}
	m.Update(communityStatus(), Problem{})
	if m.StatusLine() != "licensehost: Not activated" {
		t.Errorf("community: %q", m.StatusLine())
	}
}
