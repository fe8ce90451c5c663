package ui

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"

	"github.com/licensehost/licensehost/api"
)

// TrayState is what the tray icon shows.
type TrayState int

// Tray states.
const (
	TrayInactive TrayState = iota // community, expired, pending, or the host is unreachable
	TrayActive                    // licensed and verified (also while switching away)
	TrayGrace                     // licensed, verification failing
)

func (s TrayState) String() string {
	switch s {
	case TrayActive:
		return "active"
	case TrayGrace:
		return "grace"
	}
	return "inactive"
}

// StateOf maps a status (nil: unknown) to a tray state.
func StateOf(st *api.Status) TrayState {
	if st == nil {
		return TrayInactive
	}
	switch st.Status {
	case statusActive, statusSwitching:
		return TrayActive
	case statusGrace, statusGraceLimited:
		return TrayGrace
	}
	return TrayInactive
}

// TrayStatusLine is the first, informative line of the tray menu.
func TrayStatusLine(st *api.Status, p Problem) string {
	if st == nil {
		if p.Title != "" {
			return "licensehost: " + p.Title
		}
		return "licensehost: " + lang.L("checking…")
	}
	line := "licensehost: " + statusLabel(st.Status)
	switch st.Status {
	case statusGrace, statusGraceLimited:
		n := 0
		if st.GraceDaysLeft != nil {
			n = graceDays(*st.GraceDaysLeft)
		}
		line += " — " + lang.L("{{.N}} days left", map[string]any{"N": n})
	case statusActive, statusSwitching:
		line += " — " + editionLabel(st)
	}
	return line
}

// TrayActions are what the tray menu items do. They run on the UI goroutine.
type TrayActions struct {
	Activate, Offline, Refresh, CopyMachineID, OpenWindow, Quit func()
}

// TrayMenu is the tray's menu: a status line, Activate…, Offline
// activation…, Refresh now, Copy machine code, Open status window, Quit.
type TrayMenu struct {
	Menu                                                   *fyne.Menu
	status, activate, offline, refresh, copyID, open, quit *fyne.MenuItem
}

// NewTrayMenu builds the menu over actions.
func NewTrayMenu(a TrayActions) *TrayMenu {
	m := &TrayMenu{
		status:   fyne.NewMenuItem(TrayStatusLine(nil, Problem{}), nil),
		activate: fyne.NewMenuItem(lang.L("Activate…"), a.Activate),
		offline:  fyne.NewMenuItem(lang.L("Offline activation…"), a.Offline),
		refresh:  fyne.NewMenuItem(lang.L("Refresh now"), a.Refresh),
		copyID:   fyne.NewMenuItem(lang.L("Copy machine code"), a.CopyMachineID),
		open:     fyne.NewMenuItem(lang.L("Open status window"), a.OpenWindow),
		quit:     fyne.NewMenuItem(lang.L("Quit"), a.Quit),
	}
	m.status.Disabled = true
	m.copyID.Disabled = true
	m.quit.IsQuit = true
	m.Menu = fyne.NewMenu("licensehost",
		m.status, fyne.NewMenuItemSeparator(),
		m.activate, m.offline, m.refresh, m.copyID, m.open,
		fyne.NewMenuItemSeparator(), m.quit)
	return m
}

// Update shows st (nil when the read failed, p says why) and reports
// whether anything visible changed, so that the caller refreshes the tray
// menu only then.
func (m *TrayMenu) Update(st *api.Status, p Problem) bool {
	line := TrayStatusLine(st, p)
	noID := st == nil || st.MachineID == ""
	changed := line != m.status.Label || noID != m.copyID.Disabled
	m.status.Label = line
	m.copyID.Disabled = noID
	return changed
}

// StatusLine is the current status line (tests).
func (m *TrayMenu) StatusLine() string { return m.status.Label }

var (
	iconOnce sync.Once
	icons    map[TrayState]fyne.Resource
)

// TrayIcon is the tray icon of a state: a 64×64 PNG (the Linux tray refuses
// SVG), drawn at start with image/png — green with a check mark when
// active, amber with an exclamation mark in grace, grey with a bar
// otherwise.
func TrayIcon(s TrayState) fyne.Resource {
	iconOnce.Do(func() {
		icons = map[TrayState]fyne.Resource{
			TrayActive:   fyne.NewStaticResource("licensehost-active.png", drawIcon(TrayActive, 64)),
			TrayGrace:    fyne.NewStaticResource("licensehost-grace.png", drawIcon(TrayGrace, 64)),
			TrayInactive: fyne.NewStaticResource("licensehost-inactive.png", drawIcon(TrayInactive, 64)),
		}
	})
	return icons[s]
}

// AppIconPNG is the application icon (the active tray icon at size px).
func AppIconPNG(size int) []byte { return drawIcon(TrayActive, size) }

type segment struct{ x0, y0, x1, y1 float64 }

func drawIcon(s TrayState, size int) []byte {
	bg := map[TrayState]color.NRGBA{
		TrayActive:   {0x2e, 0x9d, 0x4f, 0xff},
		TrayGrace:    {0xe8, 0x9b, 0x10, 0xff},
		TrayInactive: {0x8a, 0x8f, 0x98, 0xff},
	}[s]
	// Glyphs in a unit square.
	var glyph []segment
	var dots [][2]float64
	switch s {
	case TrayActive:
		glyph = []segment{{0.28, 0.52, 0.44, 0.68}, {0.44, 0.68, 0.73, 0.34}}
	case TrayGrace:
		glyph = []segment{{0.5, 0.24, 0.5, 0.58}}
		dots = [][2]float64{{0.5, 0.75}}
	default:
		glyph = []segment{{0.3, 0.5, 0.7, 0.5}}
	}
	n := float64(size)
	stroke := 0.055 * n
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	c, r := n/2, n/2-0.5
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			disc := clamp01(r - math.Hypot(px-c, py-c) + 0.5)
			if disc == 0 {
				continue
			}
			ink := 0.0
			for _, g := range glyph {
				d := segDist(px, py, g.x0*n, g.y0*n, g.x1*n, g.y1*n)
				ink = math.Max(ink, clamp01(stroke-d+0.5))
			}
			for _, d := range dots {
				ink = math.Max(ink, clamp01(stroke*1.15-math.Hypot(px-d[0]*n, py-d[1]*n)+0.5))
			}
			col := color.NRGBA{
				R: mix(bg.R, 0xff, ink), G: mix(bg.G, 0xff, ink), B: mix(bg.B, 0xff, ink),
				A: uint8(disc*255 + 0.5),
			}
			img.SetNRGBA(x, y, col)
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img) // encoding an in-memory NRGBA cannot fail
	return b.Bytes()
}

func mix(a, b uint8, t float64) uint8 { return uint8(float64(a)*(1-t) + float64(b)*t + 0.5) }

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

func segDist(px, py, x0, y0, x1, y1 float64) float64 {
	dx, dy := x1-x0, y1-y0
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = clamp01(((px-x0)*dx + (py-y0)*dy) / l2)
	}
	return math.Hypot(px-(x0+t*dx), py-(y0+t*dy))
}
