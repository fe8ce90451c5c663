// Command licensehost-tray is the desktop companion of the licensehost
// daemon: a system tray icon and menu showing whether the installation is
// licensed, and a status window to activate, refresh, switch device or
// clear the license. It talks to the daemon over its local HTTP API; it is
// the only binary that needs cgo (Fyne).
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/licensehost/licensehost/api"
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
	cfg, err := parseConfig(args, getenv, stderr)
	switch {
	case errors.Is(err, errHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "licensehost-tray: %v\n", err)
		return 2
	}
	if cfg.Version {
		fmt.Fprintln(stdout, "licensehost-tray", version)
		return 0
	}
	logger := log.New(stderr, "licensehost-tray: ", log.LstdFlags)
	if err := ui.LoadTranslations(); err != nil {
		logger.Printf("translations: %v", err)
	}
	client, err := newTokenClient(cfg.HostURL, cfg.TokenFile, logger.Printf)
	if err != nil {
		fmt.Fprintf(stderr, "licensehost-tray: %v\n", err)
		return 2
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
	return 0
}

// tray wires the views, the tray menu and icon, and the status poller.
type tray struct {
	app  fyne.App
	desk desktop.App // nil when the driver has no system tray
	win  fyne.Window
	view *ui.View
	menu *ui.TrayMenu
	cfg  config

	state ui.TrayState // UI goroutine only
	done  chan struct{}
}

func newTray(a fyne.App, c ui.Client, cfg config) *tray {
	t := &tray{app: a, cfg: cfg, state: -1, done: make(chan struct{})}
	t.win = a.NewWindow("licensehost")
	t.view = ui.New(t.win, c, ui.Options{LicenseURL: cfg.LicenseURL, OnStatus: t.onStatus})
	t.win.SetContent(t.view.Content())
	t.win.Resize(fyne.NewSize(640, 760))
	t.menu = ui.NewTrayMenu(ui.TrayActions{
		Activate:      func() { t.show(ui.TabActivate) },
		Refresh:       t.view.ManualRefresh,
		CopyMachineID: t.view.CopyMachineID,
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
		t.desk.SetSystemTrayWindow(t.win) // also: closing the window hides it
	}
	if t.desk == nil || t.cfg.Show != "" {
		t.show(t.cfg.tab())
	}
	t.view.RefreshStatus()
	go t.poll()
}

func (t *tray) stop() {
	close(t.done)
	t.view.Close()
}

// poll re-reads the status every cfg.Poll; the read runs in the background
// and lands through fyne.Do, so the UI never waits on the network.
func (t *tray) poll() {
	tick := time.NewTicker(t.cfg.Poll)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			t.view.RefreshStatus()
		case <-t.done:
			return
		}
	}
}

func (t *tray) show(tab ui.Tab) {
	t.view.ShowTab(tab)
	t.win.Show()
	t.win.RequestFocus()
}

// onStatus runs on the UI goroutine after every status read.
func (t *tray) onStatus(st *api.Status, p ui.Problem) {
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
