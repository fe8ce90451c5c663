package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/licensehost/licensehost/api"
)

// The end-to-end test runs the real tray binary under X (Xvfb) and a D-Bus
// session, with a StatusNotifierWatcher written here so the tray registers
// its item, against a loopback fake host. It reads the menu over
// com.canonical.dbusmenu, clicks "Refresh now", checks the host got the
// heartbeat and the menu and icon followed, then clicks "Quit".
//
//	LICENSEHOST_TRAY_E2E=1 xvfb-run -a dbus-run-session -- go test -run E2E ./cmd/tray
//
// (make test-ui does this.)
func TestTrayE2E(t *testing.T) {
	if os.Getenv("LICENSEHOST_TRAY_E2E") != "1" {
		t.Skip("set LICENSEHOST_TRAY_E2E=1 and run under xvfb-run and dbus-run-session (make test-ui)")
	}
	for _, v := range []string{"DISPLAY", "DBUS_SESSION_BUS_ADDRESS"} {
		if os.Getenv(v) == "" {
			t.Fatalf("%s is not set: run under xvfb-run -a dbus-run-session", v)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The watcher first, so the tray's first registration succeeds.
	w := startWatcher(t)

	host := newFakeHost(t)
	dir := t.TempDir()

	bin := buildTray(t)
	cmd := exec.CommandContext(ctx, bin, "--host", host.srv.URL, "--token-file", host.tokenFile, "--poll", "2s")
	cmd.Env = append(os.Environ(),
		"LANGUAGE=en_US", "LC_ALL=C.UTF-8",
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("tray output:\n%s", out.String())
		}
	}()

	var item registration
	select {
	case item = <-w.registered:
	case err := <-exited:
		t.Fatalf("the tray exited before registering: %v", err)
	case <-time.After(90 * time.Second):
		t.Fatal("the tray did not register with the StatusNotifierWatcher")
	}
	t.Logf("registered: %s %s", item.sender, item.path)

	sni := w.conn.Object(item.sender, item.path)
	mv, err := sni.GetProperty("org.kde.StatusNotifierItem.Menu")
	if err != nil {
		t.Fatalf("Menu property: %v", err)
	}
	menu := w.conn.Object(item.sender, mv.Value().(dbus.ObjectPath))

	// The menu: status line first (active once the first read landed).
	items := waitForMenu(t, menu, func(items []menuItem) bool {
		return len(items) > 0 && strings.Contains(items[0].label, "Active")
	})
	var labels []string
	for _, it := range items {
		labels = append(labels, it.label)
	}
	want := []string{"licensehost: Active — 终生赞助版", "--", "Activate…", "Offline activation…", "Refresh now", "Copy machine code", "Open status window", "--", "Quit"}
	if strings.Join(labels, "|") != strings.Join(want, "|") {
		t.Fatalf("menu labels\n got %q\nwant %q", labels, want)
	}
	if items[0].enabled {
		t.Error("the status line is clickable")
	}
	waitForIcon(t, sni, "green") // the active icon

	// Click "Refresh now": the host gets a heartbeat, then the tray re-reads
	// the status (now grace) and follows it.
	click(t, menu, find(t, items, "Refresh now"))
	select {
	case <-host.heartbeats:
	case <-time.After(20 * time.Second):
		t.Fatal("no heartbeat reached the host after clicking Refresh now")
	}
	waitForMenu(t, menu, func(items []menuItem) bool {
		return len(items) > 0 && items[0].label == "licensehost: Grace period — 13 days left"
	})
	waitForIcon(t, sni, "amber") // the grace icon

	// Quit ends the process.
	items = getLayout(t, menu)
	click(t, menu, find(t, items, "Quit"))
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the tray exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the tray did not quit")
	}
}

// buildTray builds the tray binary once per test run (the build cache makes
// it fast after the first cgo build).
func buildTray(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "licensehost-tray")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// fakeHost is a loopback daemon speaking the api types: active until a
// heartbeat, which the license server "fails" (grace from then on).
type fakeHost struct {
	srv        *httptest.Server
	token      string
	tokenFile  string // holds token, for --token-file
	heartbeats chan struct{}
	mu         sync.Mutex
	grace      bool
}

func newFakeHost(t *testing.T) *fakeHost {
	h := &fakeHost{token: "e2e-token-0123456789", heartbeats: make(chan struct{}, 10)}
	h.tokenFile = filepath.Join(t.TempDir(), api.TokenFileName)
	if err := os.WriteFile(h.tokenFile, []byte(h.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHost) serve(w http.ResponseWriter, r *http.Request) {
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	if r.Header.Get("Authorization") != "Bearer "+h.token {
		w.Header().Set("WWW-Authenticate", `Bearer realm="licensehost"`)
		reply(401, api.Error{Error: "unauthorized", Message: "missing or wrong token"})
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch r.URL.Path {
	case api.PathStatus:
		reply(200, e2eStatus(h.grace))
	case api.PathHeartbeat:
		h.grace = true
		h.heartbeats <- struct{}{}
		reply(502, api.ActionResponse{Status: "grace", Message: "license server unavailable",
			RemoteError: &api.RemoteError{HTTPStatus: 503, Message: "Service Unavailable", Data: json.RawMessage("null")},
			Fallback:    &api.Fallback{IsSponsored: true, Status: "grace"}, GraceDays: 15, TrustDays: 7})
	default:
		reply(404, api.Error{Error: "not_found", Message: r.URL.Path})
	}
}

func e2eStatus(grace bool) api.Status {
	now := time.Now()
	st := api.Status{
		MachineID: "server_0123456789abcdef", Edition: "终生赞助版", LicenseKey: "my-9…4c5f",
		Status: "active", IsSponsored: true, TrustDays: 7, GraceDays: 15,
		LastRefresh: &api.LastRefresh{Kind: "activate", Success: true, HTTPStatus: 200, Message: "密钥验证成功", At: now.Add(-time.Hour)},
		License:     json.RawMessage(`{"licenseTypeName":"终生赞助版","customField1":"500","customField2":"100"}`),
	}
	if grace {
		days := 12.4
		ends := now.Add(time.Duration(days * 24 * float64(time.Hour)))
		st.Status, st.Reason, st.GraceDaysLeft, st.GraceEndsAt, st.Failures = "grace", "remote_failing", &days, &ends, 1
		st.LastRefresh = &api.LastRefresh{Kind: "heartbeat", Success: false, HTTPStatus: 503, Message: "Service Unavailable", At: now}
	}
	return st
}

// watcher is a minimal org.kde.StatusNotifierWatcher.
type watcher struct {
	conn       *dbus.Conn
	registered chan registration
}

type registration struct {
	sender string
	path   dbus.ObjectPath
}

func startWatcher(t *testing.T) *watcher {
	t.Helper()
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("session bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	w := &watcher{conn: conn, registered: make(chan registration, 4)}
	if err := conn.Export(w, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher"); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName("org.kde.StatusNotifierWatcher", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own org.kde.StatusNotifierWatcher: %v (reply %v)", err, reply)
	}
	return w
}

// RegisterStatusNotifierItem is called by a tray item; service is its path
// (fyne's systray) or its bus name.
func (w *watcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	p := dbus.ObjectPath("/StatusNotifierItem")
	if strings.HasPrefix(service, "/") {
		p = dbus.ObjectPath(service)
	}
	w.registered <- registration{sender: string(sender), path: p}
	return nil
}

// RegisterStatusNotifierHost accepts hosts (none here).
func (w *watcher) RegisterStatusNotifierHost(string) *dbus.Error { return nil }

type menuItem struct {
	id      int32
	label   string
	enabled bool
}

// getLayout reads the top level of the dbusmenu; separators read "--".
func getLayout(t *testing.T, menu dbus.BusObject) []menuItem {
	t.Helper()
	var rev uint32
	var layout struct {
		ID       int32
		Props    map[string]dbus.Variant
		Children []dbus.Variant
	}
	if err := menu.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{}).Store(&rev, &layout); err != nil {
		t.Fatalf("GetLayout: %v", err)
	}
	var items []menuItem
	for _, c := range layout.Children {
		fields, ok := c.Value().([]any)
		if !ok || len(fields) < 2 {
			t.Fatalf("menu child %v", c)
		}
		props, _ := fields[1].(map[string]dbus.Variant)
		it := menuItem{id: fields[0].(int32), enabled: true}
		if v, ok := props["type"]; ok && v.Value() == "separator" {
			it.label = "--"
		} else if v, ok := props["label"]; ok {
			it.label, _ = v.Value().(string)
		}
		if v, ok := props["enabled"]; ok {
			it.enabled, _ = v.Value().(bool)
		}
		if v, ok := props["visible"]; ok && v.Value() == false {
			continue
		}
		items = append(items, it)
	}
	return items
}

func waitForMenu(t *testing.T, menu dbus.BusObject, ok func([]menuItem) bool) []menuItem {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		items := getLayout(t, menu)
		if ok(items) {
			return items
		}
		if time.Now().After(deadline) {
			t.Fatalf("menu never reached the expected state: %+v", items)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func find(t *testing.T, items []menuItem, label string) int32 {
	t.Helper()
	for _, it := range items {
		if it.label == label {
			return it.id
		}
	}
	t.Fatalf("no menu item %q in %+v", label, items)
	return 0
}

func click(t *testing.T, menu dbus.BusObject, id int32) {
	t.Helper()
	call := menu.Call("com.canonical.dbusmenu.Event", 0, id, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix()))
	if call.Err != nil {
		t.Fatalf("Event clicked %d: %v", id, call.Err)
	}
}

// iconColour names the colour of the tray icon's disc, read from the
// item's IconPixmap (ARGB32, network byte order).
// waitForIcon waits until the icon's colour is want: the tray sets the
// menu and the icon in separate updates, and a loaded machine can show the
// new menu with the old icon for a moment.
func waitForIcon(t *testing.T, sni dbus.BusObject, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := iconColour(t, sni)
		if c == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("icon is %s, want %s", c, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func iconColour(t *testing.T, sni dbus.BusObject) string {
	t.Helper()
	v, err := sni.GetProperty("org.kde.StatusNotifierItem.IconPixmap")
	if err != nil {
		t.Fatalf("IconPixmap: %v", err)
	}
	pixmaps, ok := v.Value().([][]any)
	if !ok || len(pixmaps) == 0 || len(pixmaps[0]) != 3 {
		t.Fatalf("IconPixmap %T %v", v.Value(), v.Value())
	}
	w, h := int(pixmaps[0][0].(int32)), int(pixmaps[0][1].(int32))
	pix := pixmaps[0][2].([]byte)
	if w < 16 || h < 16 || len(pix) != w*h*4 {
		t.Fatalf("IconPixmap %dx%d with %d bytes", w, h, len(pix))
	}
	x, y := w/2, h*15/100
	o := (y*w + x) * 4
	a, r, g, b := pix[o], pix[o+1], pix[o+2], pix[o+3]
	switch {
	case a < 200:
		return fmt.Sprintf("transparent(%d)", a)
	case g > r && g > b:
		return "green"
	case r > 200 && g > 120 && b < 80:
		return "amber"
	case r == g && g == b || (absDiff(r, g) < 20 && absDiff(g, b) < 20):
		return "grey"
	}
	return fmt.Sprintf("rgb(%d,%d,%d)", r, g, b)
}

func absDiff(a, b byte) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}
