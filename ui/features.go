package ui

import (
	"fmt"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/licensehost/licensehost/api"
)

// featuresView is the status tab's "Features" card (docs/features.md): the
// pre-authorization and, per feature, enabled or why not, the license kind
// and the days left. Hidden when the host licenses no features.
type featuresView struct {
	card    *widget.Card
	preauth *widget.Label
	grid    *fyne.Container
	rows    []featureRow // as shown, for tests
}

type featureRow struct{ Title, State, Kind, DaysLeft string }

func newFeaturesView() *featuresView {
	f := &featuresView{preauth: widget.NewLabel(""), grid: container.New(layout.NewGridLayout(4))}
	f.preauth.Wrapping = fyne.TextWrapWord
	f.preauth.Hide()
	f.card = widget.NewCard(lang.L("Features"), "", container.NewVBox(f.preauth, f.grid))
	f.card.Hide()
	return f
}

func (f *featuresView) set(st *api.Status) {
	if st == nil || (len(st.Features) == 0 && st.Preauth == nil) {
		f.rows = nil
		f.grid.Objects = nil
		f.card.Hide()
		return
	}
	if pa := st.Preauth; pa != nil {
		f.preauth.SetText(preauthText(pa))
		f.preauth.Show()
	} else {
		f.preauth.Hide()
	}
	f.rows = f.rows[:0]
	objs := []fyne.CanvasObject{bold(lang.L("Feature")), bold(lang.L("State")), bold(lang.L("License kind")), bold(lang.L("Days left"))}
	for _, ft := range st.Features {
		r := featureRow{Title: ft.Title, State: featureState(ft), Kind: kindLabel(ft.Kind), DaysLeft: daysLeftText(ft.DaysLeft)}
		if r.Title == "" {
			r.Title = ft.Name
		}
		f.rows = append(f.rows, r)
		state := widget.NewLabel(r.State)
		if ft.Enabled {
			state.Importance = widget.SuccessImportance
		} else {
			state.Importance = widget.DangerImportance
		}
		title := widget.NewLabel(r.Title)
		title.Truncation = fyne.TextTruncateEllipsis
		objs = append(objs, title, state, widget.NewLabel(r.Kind), widget.NewLabel(r.DaysLeft))
	}
	f.grid.Objects = objs
	f.grid.Refresh()
	f.card.Show()
}

func preauthText(pa *api.Preauth) string {
	switch {
	case pa.Superseded:
		return lang.L("Pre-authorization: superseded by a temporary or formal license.")
	case pa.DaysLeft <= 0:
		return lang.L("Pre-authorization: over since {{.Date}}.", map[string]any{"Date": formatTime(pa.EndsAt)})
	}
	return lang.L("Pre-authorization: {{.Days}} days left (until {{.Date}}).",
		map[string]any{"Days": int(math.Ceil(pa.DaysLeft)), "Date": formatTime(pa.EndsAt)})
}

func featureState(ft api.Feature) string {
	if ft.Enabled {
		return lang.L("Enabled")
	}
	switch ft.Reason {
	case api.FeatureExpired:
		return lang.L("Expired")
	case api.FeaturePreauthOver:
		return lang.L("Pre-authorization over")
	case api.FeatureUnknown:
		return lang.L("Unknown feature")
	}
	return lang.L("Not licensed")
}

func kindLabel(kind string) string {
	switch kind {
	case "preauth":
		return lang.L("Pre-authorization")
	case "temporary":
		return lang.L("Temporary")
	case "formal":
		return lang.L("Formal")
	}
	return "—"
}

func daysLeftText(d *float64) string {
	if d == nil {
		return "—"
	}
	return fmt.Sprint(int(math.Ceil(*d)))
}
