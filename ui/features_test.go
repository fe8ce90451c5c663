package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/licensehost/licensehost/api"
)

func fptr(v float64) *float64 { return &v }

// featuresStatus is an installation with a product file: pre-authorization
// running, one formal online feature, one refused.
func featuresStatus() *api.Status {
	st := activeStatus()
	ends := refreshedAt.Add(100 * 24 * time.Hour)
	st.Preauth = &api.Preauth{StartedAt: refreshedAt.Add(-80 * 24 * time.Hour), EndsAt: ends, DaysLeft: 99.2, Features: []string{"data.source"}}
	st.Features = []api.Feature{
		{Name: "data.source", Title: "数据源管理", Enabled: true, Kind: "preauth", Source: "preauth", ExpiresAt: &ends, DaysLeft: fptr(99.2)},
		{Name: "data.cdc", Title: "CDC", Enabled: true, Kind: "formal", Source: "online"},
		{Name: "market.assets", Title: "", Enabled: false, Reason: api.FeatureNotLicensed},
		{Name: "data.old", Title: "Old", Enabled: false, Kind: "temporary", Source: "activation:T-1", Reason: api.FeatureExpired},
	}
	return st
}

func TestFeaturesSection(t *testing.T) {
	h := newHarness(t, statusOnly(featuresStatus()))
	f := h.v.features
	if !f.card.Visible() {
		t.Fatal("features card hidden with features in the status")
	}
	want := []featureRow{
		{"数据源管理", "Enabled", "Pre-authorization", "100"},
		{"CDC", "Enabled", "Formal", "—"},
		{"market.assets", "Not licensed", "—", "—"},
		{"Old", "Expired", "Temporary", "—"},
	}
	if len(f.rows) != len(want) {
		t.Fatalf("rows = %+v", f.rows)
	}
	for i, w := range want {
		if f.rows[i] != w {
			t.Errorf("row %d = %+v, want %+v", i, f.rows[i], w)
		}
	}
	if got := len(f.grid.Objects); got != 4*(len(want)+1) {
		t.Errorf("grid holds %d cells, want %d", got, 4*(len(want)+1))
	}
	wantContains(t, "preauth line", f.preauth.Text, "Pre-authorization: 100 days left", "until ")
}

func TestFeaturesSectionPreauthStates(t *testing.T) {
	st := featuresStatus()
	st.Preauth.Superseded, st.Preauth.DaysLeft = true, 0
	h := newHarness(t, statusOnly(st))
	wantContains(t, "superseded", h.v.features.preauth.Text, "superseded by a temporary or formal license")

	st = featuresStatus()
	st.Preauth.DaysLeft = 0
	st.Features[0] = api.Feature{Name: "data.source", Title: "数据源管理", Kind: "preauth", Source: "preauth", Reason: api.FeaturePreauthOver}
	h = newHarness(t, statusOnly(st))
	wantContains(t, "over", h.v.features.preauth.Text, "Pre-authorization: over since")
	if r := h.v.features.rows[0]; r.State != "Pre-authorization over" || r.Kind != "Pre-authorization" {
		t.Errorf("row = %+v", r)
	}
}

// Without a product file the card stays hidden; a later status without
// features hides it again.
func TestFeaturesSectionHidden(t *testing.T) {
	h := newHarness(t, statusOnly(activeStatus()))
	if h.v.features.card.Visible() {
		t.Fatal("features card shown without features")
	}
	h.f.StatusFn = statusOnly(featuresStatus()).StatusFn
	h.v.RefreshStatus()
	h.v.wait()
	if !h.v.features.card.Visible() {
		t.Fatal("features card hidden after a status with features")
	}
	h.f.StatusFn = statusOnly(activeStatus()).StatusFn
	h.v.RefreshStatus()
	h.v.wait()
	if h.v.features.card.Visible() || len(h.v.features.rows) != 0 {
		t.Fatal("features card still shown after a status without features")
	}
}

// In Chinese the section speaks the words of docs/features.md.
func TestFeaturesSectionChinese(t *testing.T) {
	test.NewTempApp(t)
	useLocale(t, "zh_CN")
	h := newHarness(t, statusOnly(featuresStatus()))
	if r := h.v.features.rows[0]; r.State != "已授权" || r.Kind != "预授权" {
		t.Errorf("row = %+v", r)
	}
	if r := h.v.features.rows[2]; r.State != "未授权" {
		t.Errorf("row = %+v", r)
	}
	wantContains(t, "preauth line", h.v.features.preauth.Text, "预授权：剩余 100 天")
	if h.v.features.card.Title != "功能授权" {
		t.Errorf("card title %q", h.v.features.card.Title)
	}
}
