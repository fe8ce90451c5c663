package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
)

// badge is the coloured status pill of the status card.
type badge struct {
	rect   *canvas.Rectangle
	text   *canvas.Text
	object fyne.CanvasObject
	status string
}

func newBadge() *badge {
	b := &badge{
		rect: canvas.NewRectangle(color.Transparent),
		text: canvas.NewText("", color.White),
	}
	b.rect.CornerRadius = 10
	b.text.TextStyle.Bold = true
	b.text.Alignment = fyne.TextAlignCenter
	pill := container.NewStack(b.rect, container.New(&padLayout{h: 12, v: 3}, b.text))
	b.object = container.NewHBox(pill) // keep the pill as narrow as its text
	return b
}

// set shows status s.
func (b *badge) set(s string) {
	b.status = s
	bg, fg := badgeColors(s)
	b.rect.FillColor = theme.Color(bg)
	b.text.Color = theme.Color(fg)
	b.text.Text = statusLabel(s)
	b.rect.Refresh()
	b.text.Refresh()
	b.object.Refresh()
}

func badgeColors(s string) (bg, fg fyne.ThemeColorName) {
	switch s {
	case statusActive:
		return theme.ColorNameSuccess, theme.ColorNameForegroundOnSuccess
	case statusGrace, statusGraceLimited, statusPending:
		return theme.ColorNameWarning, theme.ColorNameForegroundOnWarning
	case statusExpired, statusTampered:
		return theme.ColorNameError, theme.ColorNameForegroundOnError
	case statusSwitching:
		return theme.ColorNamePrimary, theme.ColorNameForegroundOnPrimary
	}
	return theme.ColorNameDisabled, theme.ColorNameForeground
}

// padLayout pads its single child by fixed amounts.
type padLayout struct{ h, v float32 }

func (p *padLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(p.h, p.v))
		o.Resize(fyne.NewSize(size.Width-2*p.h, size.Height-2*p.v))
	}
}

func (p *padLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		s = s.Max(o.MinSize())
	}
	return s.Add(fyne.NewSize(2*p.h, 2*p.v))
}
