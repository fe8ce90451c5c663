// Command licensehost-tray is the desktop companion of the licensehost
// daemon: a system tray icon and menu showing whether the installation is
// licensed, and a status window to activate, refresh, switch device or
// clear the license. It talks to the daemon over its local HTTP API; it is
// the only binary that needs cgo (Fyne).
package main

import (
	"context"
	"io"
	"log"
	"os"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/ui"
)

// version is set with -ldflags "-X main.version=…".
var version = "dev"

// appID is the application id (FyneApp.toml).
const appID = "io.licensehost.tray"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run runs the tray until Quit and returns the exit status.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	err := cli.Execute(context.Background(), newRoot(getenv, func(cfg config) error {
		return startTray(cfg, stderr)
	}), args, stdout, stderr)
	return cli.ExitStatus("licensehost-tray", err, stderr)
}

// startTray runs the tray until Quit.
func startTray(cfg config, stderr io.Writer) error {
	logger := log.New(stderr, "licensehost-tray: ", log.LstdFlags)
	if err := ui.LoadTranslations(); err != nil {
		logger.Printf("translations: %v", err)
	}
	client, err := newTokenClient(cfg.HostURL, cfg.TokenFile, logger.Printf)
	if err != nil {
		return cli.Usagef("%v", err)
	}

	app.SetMetadata(fyne.AppMetadata{
		ID: appID, Name: "licensehost", Version: version, Build: 1,
		Icon:       fyne.NewStaticResource("licensehost.png", ui.AppIconPNG(256)),
		Migrations: map[string]bool{"fyneDo": true},
	})
	a := app.NewWithID(appID)
	a.SetIcon(ui.TrayIcon(ui.TrayActive))
	t := newTray(a, client, cfg)
	t.start()
	a.Run()
	t.stop()
	return nil
}

// tray wires the tray menu and icon, the status poller and the status
// window. The window and its views are built on first use: until then the
// tray reads the status itself and no text is laid out, so no font is
// loaded and a tray that stays in the panel stays lighter.
type tray struct {
	app    fyne.App
	desk   desktop.App // nil when the driver has no system tray
	client ui.Client
	cfg    config
	menu   *ui.TrayMenu
	ctx    context.Context
	cancel context.CancelFunc
	seq    atomic.Uint64           // tray-side status reads started
	view   atomic.Pointer[ui.View] // nil until the window is first needed

	// UI goroutine only.
	win     fyne.Window
	applied uint64
	last    *api.Status
	state   ui.TrayState
}

func newTray(a fyne.App, c ui.Client, cfg config) *tray {
	t := &tray{app: a, client: c, cfg: cfg, state: -1}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.menu = ui.NewTrayMenu(ui.TrayActions{
		Activate:      func() { t.show(ui.TabActivate) },
		Offline:       func() { t.show(ui.TabOffline) },
		Refresh:       t.manualRefresh,
		CopyMachineID: t.copyMachineID,
		OpenWindow:    func() { t.show(ui.TabStatus) },
		Quit:          a.Quit,
	})
	if d, ok := a.(desktop.App); ok {
		t.desk = d
	}
	return t
}

func (t *tray) start() {
	if t.desk != nil {
		t.desk.SetSystemTrayMenu(t.menu.Menu)
		t.desk.SetSystemTrayIcon(ui.TrayIcon(ui.TrayInactive))
	}
	if t.desk == nil || t.cfg.Show != "" {
		t.show(t.cfg.tab())
	} else {
		t.refresh()
	}
	go t.poll()
}

func (t *tray) stop() {
	t.cancel()
	if v := t.view.Load(); v != nil {
		v.Close()
	}
}

// poll re-reads the status every cfg.Poll; reads run in the background and
// land through fyne.Do, so the UI never waits on the network.
func (t *tray) poll() {
	tick := time.NewTicker(t.cfg.Poll)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			t.refresh()
		case <-t.ctx.Done():
			return
		}
	}
}

// refresh re-reads the status in the background: through the views when
// they exist, else directly. Safe from any goroutine.
func (t *tray) refresh() {
	if v := t.view.Load(); v != nil {
		v.RefreshStatus()
		return
	}
	seq := t.seq.Add(1)
	go func() {
		st, err := t.client.Status(t.ctx)
		if t.ctx.Err() != nil {
			return
		}
		fyne.Do(func() {
			if seq < t.applied || t.view.Load() != nil {
				return // a newer read landed, or the views took over
			}
			t.applied = seq
			t.onStatus(st, ui.Explain(err))
		})
	}()
}

// manualRefresh is the menu's "Refresh now": a heartbeat, then a status read.
func (t *tray) manualRefresh() {
	if v := t.view.Load(); v != nil {
		v.ManualRefresh()
		return
	}
	if t.last == nil || t.last.LicenseKey == "" {
		t.refresh()
		return
	}
	go func() {
		_, _ = t.client.Heartbeat(t.ctx) // the outcome shows in the status's last refresh
		t.refresh()
	}()
}

func (t *tray) copyMachineID() {
	if t.last != nil && t.last.MachineID != "" {
		t.app.Clipboard().SetContent(t.last.MachineID)
	}
}

// ensureView builds the window and its views on first use.
func (t *tray) ensureView() *ui.View {
	if v := t.view.Load(); v != nil {
		return v
	}
	t.win = t.app.NewWindow("licensehost")
	v := ui.New(t.win, t.client, ui.Options{LicenseURL: t.cfg.LicenseURL, OnStatus: t.onStatus})
	t.win.SetContent(v.Content())
	t.win.Resize(fyne.NewSize(640, 760))
	if t.desk != nil {
		t.desk.SetSystemTrayWindow(t.win) // left click shows it; closing hides it
	} else {
		t.win.SetCloseIntercept(t.app.Quit)
	}
	t.view.Store(v)
	v.RefreshStatus()
	return v
}

func (t *tray) show(tab ui.Tab) {
	v := t.ensureView()
	v.ShowTab(tab)
	t.win.Show()
	t.win.RequestFocus()
}

// onStatus runs on the UI goroutine after every status read (st nil: the
// read failed, p says why).
func (t *tray) onStatus(st *api.Status, p ui.Problem) {
	if st != nil {
		t.last = st
	}
	if t.desk == nil {
		return
	}
	if s := ui.StateOf(st); s != t.state {
		t.state = s
		t.desk.SetSystemTrayIcon(ui.TrayIcon(s))
	}
	if t.menu.Update(st, p) {
		t.menu.Menu.Refresh()
	}
}
