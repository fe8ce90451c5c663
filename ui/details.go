package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/licensehost/licensehost/internal/mask"
)

// licenseFields is the remote license object read leniently: every field may
// be missing, empty, or a number where a string was expected (docs/remote.md).
type licenseFields map[string]any

func parseLicense(raw json.RawMessage) licenseFields {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	return m
}

// str is a field as text: strings as they are, numbers and booleans
// formatted, anything else (null, missing, objects) empty.
func (l licenseFields) str(key string) string {
	switch v := l[key].(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	case bool:
		return fmt.Sprint(v)
	}
	return ""
}

// detailRow is one line of the remote details.
type detailRow struct{ Label, Value string }

// rows lists the license fields worth showing, in reading order.
func (l licenseFields) rows() []detailRow {
	if l == nil {
		return nil
	}
	pair := func(cur, max string) string {
		if cur == "" && max == "" {
			return ""
		}
		return orDash(cur) + " / " + orDash(max)
	}
	quota := func(key string) string {
		if _, ok := l[key]; !ok {
			return lang.L("unlimited")
		}
		if v := l.str(key); v != "" {
			return v
		}
		return lang.L("unlimited")
	}
	typ := l.str("licenseTypeDisplayName")
	if typ == "" {
		typ = l.str("licenseTypeName")
	}
	activated := l.str("activatedAt")
	if tz := l.str("timezone"); activated != "" && tz != "" {
		activated += " (" + tz + ")"
	}
	rows := []detailRow{
		{lang.L("Application"), l.str("applicationName")},
		{lang.L("License type"), typ},
		{lang.L("License key"), mask.Key(l.str("licenseKey"))},
		{lang.L("Remote status"), l.str("status")},
		{lang.L("Expires"), formatMaybeTime(l.str("expiresAt"))},
		{lang.L("Activated"), activated},
		{lang.L("Devices (used / max)"), pair(l.str("currentDevices"), l.str("maxDevices"))},
		{lang.L("Uses (used / max)"), pair(l.str("currentUses"), l.str("maxUses"))},
		{lang.L("Total quota"), quota("customField1")},
		{lang.L("Batch quota"), quota("customField2")},
		{lang.L("Custom field 3"), l.str("customField3")},
		{lang.L("Client IP"), l.str("clientIP")},
	}
	out := rows[:0]
	for _, r := range rows {
		if r.Value != "" {
			out = append(out, r)
		}
	}
	return out
}

// formatMaybeTime shows an RFC 3339 time in local time, other text as is.
func formatMaybeTime(s string) string {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return formatTime(t)
	}
	return s
}

// detailsView shows remote license fields with a caption saying where they
// come from.
type detailsView struct {
	caption *widget.Label
	form    *fyne.Container
	box     *fyne.Container
	rows    []detailRow // what is shown, for tests
}

func newDetailsView() *detailsView {
	d := &detailsView{caption: widget.NewLabel("")}
	d.caption.TextStyle.Italic = true
	d.caption.Wrapping = fyne.TextWrapWord
	d.form = container.New(layout.NewFormLayout())
	d.box = container.NewVBox(d.caption, d.form)
	return d
}

// set shows raw's fields (nil clears) under caption.
func (d *detailsView) set(raw json.RawMessage, caption string) {
	d.rows = parseLicense(raw).rows()
	objs := make([]fyne.CanvasObject, 0, 2*len(d.rows))
	for _, r := range d.rows {
		k := widget.NewLabel(r.Label)
		k.TextStyle.Bold = true
		v := widget.NewLabel(r.Value)
		v.Wrapping = fyne.TextWrapBreak
		v.Selectable = true
		objs = append(objs, k, v)
	}
	d.form.Objects = objs
	if len(d.rows) == 0 && caption != "" {
		caption = lang.L("No license details.")
	}
	d.caption.SetText(caption)
	d.form.Refresh()
	d.box.Refresh()
}

// value returns the shown value of a row by label, for tests.
func (d *detailsView) value(label string) string {
	for _, r := range d.rows {
		if r.Label == label {
			return r.Value
		}
	}
	return ""
}
