package engine_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
)

// product is the example product of docs/features.md: three known features,
// 180 days of pre-authorization for data.source and data.ingest.
func testProduct() engine.Product {
	return engine.Product{
		Name: "Integration Platform",
		Features: []engine.Feature{
			{Name: "data.source", Title: "数据源管理"},
			{Name: "data.ingest", Title: "数据接入"},
			{Name: "data.cdc", Title: "CDC 实时数据同步"},
		},
		Preauth:         day(180),
		PreauthFeatures: []string{"data.source", "data.ingest"},
		LicenseTypes: map[string][]string{
			"终生赞助版": {"*"},
			"年度版":   {"data.source", "data.cdc"},
		},
	}
}

func grant(feature string, kind engine.GrantKind, source string, notBefore, expires time.Time) engine.Grant {
	return engine.Grant{Feature: feature, Kind: kind, Source: source, NotBefore: notBefore, ExpiresAt: expires}
}

// want is one feature's expected status; daysLeft < 0 means nil.
type want struct {
	enabled  bool
	kind     engine.GrantKind
	source   string
	expires  time.Time
	daysLeft float64
	reason   string
}

func on(kind engine.GrantKind, source string, expires time.Time, daysLeft float64) want {
	return want{enabled: true, kind: kind, source: source, expires: expires, daysLeft: daysLeft}
}

func off(reason string) want { return want{reason: reason, daysLeft: -1} }

func offBy(reason string, kind engine.GrantKind, source string, expires time.Time) want {
	return want{reason: reason, kind: kind, source: source, expires: expires, daysLeft: -1}
}

// TestEvaluateFeaturesTable walks every rule of docs/features.md: each kind,
// union, the mixing rules, expiry, a superseded pre-authorization, unknown
// features and a clock turned back.
func TestEvaluateFeaturesTable(t *testing.T) {
	p := testProduct()
	start := t0
	preEnd := start.Add(day(180))
	trial := "activation:T-1"
	bought := "activation:F-1"

	tests := []struct {
		name    string
		product engine.Product
		preauth engine.PreauthState
		grants  []engine.Grant
		now     time.Time
		high    time.Time
		want    map[string]want
		// preauth view expectations; preDays < 0: no view
		preDays       float64
		preSuperseded bool
		extraOrder    []string // expected names in order, when set
	}{
		{
			name:    "fresh install: pre-authorized features on, the rest not licensed",
			product: p, preauth: engine.PreauthState{StartedAt: start}, now: start,
			want: map[string]want{
				"data.source": on(engine.KindPreauth, engine.SourcePreauth, preEnd, 180),
				"data.ingest": on(engine.KindPreauth, engine.SourcePreauth, preEnd, 180),
				"data.cdc":    off(engine.FeatureNotLicensed),
			},
			preDays: 180,
		},
		{
			name:    "pre-authorization counts down",
			product: p, preauth: engine.PreauthState{StartedAt: start}, now: start.Add(day(179.5)),
			want: map[string]want{
				"data.source": on(engine.KindPreauth, engine.SourcePreauth, preEnd, 0.5),
				"data.cdc":    off(engine.FeatureNotLicensed),
			},
			preDays: 0.5,
		},
		{
			name:    "pre-authorization over at its end exactly",
			product: p, preauth: engine.PreauthState{StartedAt: start}, now: preEnd,
			want: map[string]want{
				"data.source": offBy(engine.FeaturePreauthOver, engine.KindPreauth, engine.SourcePreauth, preEnd),
				"data.ingest": offBy(engine.FeaturePreauthOver, engine.KindPreauth, engine.SourcePreauth, preEnd),
				"data.cdc":    off(engine.FeatureNotLicensed),
			},
			preDays: 0,
		},
		{
			name:    "a request that read the clock just before another recorded the start",
			product: p, preauth: engine.PreauthState{StartedAt: start.Add(time.Second)}, now: start,
			want: map[string]want{
				"data.source": on(engine.KindPreauth, engine.SourcePreauth, preEnd.Add(time.Second), 180+1.0/86400),
			},
			preDays: 180 + 1.0/86400,
		},
		{
			name:    "pre-authorization not started yet",
			product: p, now: start,
			want: map[string]want{
				"data.source": off(engine.FeatureNotLicensed),
				"data.cdc":    off(engine.FeatureNotLicensed),
			},
			preDays: -1,
		},
		{
			name:    "a product without pre-authorization",
			product: func() engine.Product { q := testProduct(); q.Preauth = 0; return q }(),
			preauth: engine.PreauthState{StartedAt: start}, now: start,
			want: map[string]want{
				"data.source": off(engine.FeatureNotLicensed),
			},
			preDays: -1,
		},
		{
			name:    "a temporary grant supersedes pre-authorization at once",
			product: p, preauth: engine.PreauthState{StartedAt: start}, now: start.Add(day(10)),
			grants: []engine.Grant{grant("data.cdc", engine.KindTemporary, trial, start, start.Add(day(40)))},
			want: map[string]want{
				"data.cdc":    on(engine.KindTemporary, trial, start.Add(day(40)), 30),
				"data.source": offBy(engine.FeaturePreauthOver, engine.KindPreauth, engine.SourcePreauth, preEnd),
				"data.ingest": offBy(engine.FeaturePreauthOver, engine.KindPreauth, engine.SourcePreauth, preEnd),
			},
			preDays: 0, preSuperseded: true,
		},
		{
			name:    "a formal grant of a pre-authorized feature replaces the pre-authorization",
			product: p, preauth: engine.PreauthState{StartedAt: start}, now: start.Add(day(1)),
			grants: []engine.Grant{grant("data.source", engine.KindFormal, engine.SourceOnline, time.Time{}, time.Time{})},
			want: map[string]want{
				"data.source": on(engine.KindFormal, engine.SourceOnline, time.Time{}, -1),
				"data.ingest": offBy(engine.FeaturePreauthOver, engine.KindPreauth, engine.SourcePreauth, preEnd),
			},
			preDays: 0, preSuperseded: true,
		},
		{
			name:    "temporary and formal combine",
			product: p, preauth: engine.PreauthState{StartedAt: start}, now: start,
			grants: []engine.Grant{
				grant("data.source", engine.KindFormal, bought, time.Time{}, time.Time{}),
				grant("data.cdc", engine.KindTemporary, trial, time.Time{}, start.Add(day(30))),
			},
			want: map[string]want{
				"data.source": on(engine.KindFormal, bought, time.Time{}, -1),
				"data.cdc":    on(engine.KindTemporary, trial, start.Add(day(30)), 30),
				"data.ingest": offBy(engine.FeaturePreauthOver, engine.KindPreauth, engine.SourcePreauth, preEnd),
			},
			preDays: 0, preSuperseded: true,
		},
		{
			name:    "formal is reported over temporary for the same feature",
			product: p, now: start,
			grants: []engine.Grant{
				grant("data.cdc", engine.KindTemporary, trial, time.Time{}, start.Add(day(300))),
				grant("data.cdc", engine.KindFormal, bought, time.Time{}, start.Add(day(30))),
			},
			want:    map[string]want{"data.cdc": on(engine.KindFormal, bought, start.Add(day(30)), 30)},
			preDays: -1,
		},
		{
			name:    "of two grants of one kind the later expiry is reported",
			product: p, now: start,
			grants: []engine.Grant{
				grant("data.cdc", engine.KindTemporary, "activation:A", time.Time{}, start.Add(day(5))),
				grant("data.cdc", engine.KindTemporary, "activation:B", time.Time{}, start.Add(day(50))),
			},
			want:    map[string]want{"data.cdc": on(engine.KindTemporary, "activation:B", start.Add(day(50)), 50)},
			preDays: -1,
		},
		{
			name:    "when the formal grant expires the temporary one still covers",
			product: p, now: start.Add(day(31)),
			grants: []engine.Grant{
				grant("data.cdc", engine.KindFormal, bought, time.Time{}, start.Add(day(30))),
				grant("data.cdc", engine.KindTemporary, trial, time.Time{}, start.Add(day(60))),
			},
			want:    map[string]want{"data.cdc": on(engine.KindTemporary, trial, start.Add(day(60)), 29)},
			preDays: -1,
		},
		{
			name:    "an expired temporary grant: expired, and pre-authorization stays superseded",
			product: p, preauth: engine.PreauthState{StartedAt: start}, now: start.Add(day(50)),
			grants: []engine.Grant{grant("data.cdc", engine.KindTemporary, trial, start, start.Add(day(40)))},
			want: map[string]want{
				"data.cdc":    offBy(engine.FeatureExpired, engine.KindTemporary, trial, start.Add(day(40))),
				"data.source": offBy(engine.FeaturePreauthOver, engine.KindPreauth, engine.SourcePreauth, preEnd),
			},
			preDays: 0, preSuperseded: true,
		},
		{
			name:    "an expired formal grant of a pre-authorized feature says expired, not preauth_over",
			product: p, preauth: engine.PreauthState{StartedAt: start}, now: start.Add(day(50)),
			grants: []engine.Grant{grant("data.source", engine.KindFormal, bought, start, start.Add(day(40)))},
			want: map[string]want{
				"data.source": offBy(engine.FeatureExpired, engine.KindFormal, bought, start.Add(day(40))),
			},
			preDays: 0, preSuperseded: true,
		},
		{
			name:    "superseded for good: no grant left (license cleared), still within 180 days",
			product: p, now: start.Add(day(20)),
			preauth: engine.PreauthState{StartedAt: start, SupersededAt: start.Add(day(5)), SupersededBy: engine.SourceOnline},
			want: map[string]want{
				"data.source": offBy(engine.FeaturePreauthOver, engine.KindPreauth, engine.SourcePreauth, preEnd),
				"data.ingest": offBy(engine.FeaturePreauthOver, engine.KindPreauth, engine.SourcePreauth, preEnd),
				"data.cdc":    off(engine.FeatureNotLicensed),
			},
			preDays: 0, preSuperseded: true,
		},
		{
			name:    "a grant not in force yet does not enable, but supersedes",
			product: p, preauth: engine.PreauthState{StartedAt: start}, now: start,
			grants: []engine.Grant{grant("data.cdc", engine.KindFormal, bought, start.Add(day(1)), time.Time{})},
			want: map[string]want{
				"data.cdc":    off(engine.FeatureNotLicensed),
				"data.source": offBy(engine.FeaturePreauthOver, engine.KindPreauth, engine.SourcePreauth, preEnd),
			},
			preDays: 0, preSuperseded: true,
		},
		{
			name:    "a grant's expiry is judged with the high-water mark when the clock is turned back",
			product: p, now: start.Add(day(10)), high: start.Add(day(45)),
			grants: []engine.Grant{
				grant("data.cdc", engine.KindTemporary, trial, start, start.Add(day(40))),
				grant("data.source", engine.KindFormal, bought, start, start.Add(day(50))),
			},
			want: map[string]want{
				"data.cdc":    offBy(engine.FeatureExpired, engine.KindTemporary, trial, start.Add(day(40))),
				"data.source": on(engine.KindFormal, bought, start.Add(day(50)), 5),
			},
			preDays: -1,
		},
		{
			name:    "pre-authorization is not extended by a clock turned back",
			product: p, preauth: engine.PreauthState{StartedAt: start},
			now: start.Add(day(1)), high: preEnd.Add(time.Hour),
			want: map[string]want{
				"data.source": offBy(engine.FeaturePreauthOver, engine.KindPreauth, engine.SourcePreauth, preEnd),
			},
			preDays: 0,
		},
		{
			name:    "a high-water mark in the past changes nothing",
			product: p, preauth: engine.PreauthState{StartedAt: start}, now: start.Add(day(30)), high: start,
			want: map[string]want{
				"data.source": on(engine.KindPreauth, engine.SourcePreauth, preEnd, 150),
			},
			preDays: 150,
		},
		{
			name:    "pre-authorization grants passed as grants are ignored; invalid kinds too",
			product: p, now: start,
			grants: []engine.Grant{
				grant("data.cdc", engine.KindPreauth, engine.SourcePreauth, time.Time{}, time.Time{}),
				grant("data.cdc", engine.GrantKind("gold"), "x", time.Time{}, time.Time{}),
			},
			want:    map[string]want{"data.cdc": off(engine.FeatureNotLicensed)},
			preDays: -1,
		},
		{
			name:    "a feature only a grant names is listed after the product's, titled by its name",
			product: p, now: start,
			grants: []engine.Grant{
				grant("zeta", engine.KindFormal, bought, time.Time{}, time.Time{}),
				grant("alpha", engine.KindTemporary, trial, time.Time{}, start.Add(day(1))),
			},
			want: map[string]want{
				"alpha": on(engine.KindTemporary, trial, start.Add(day(1)), 1),
				"zeta":  on(engine.KindFormal, bought, time.Time{}, -1),
			},
			preDays:    -1,
			extraOrder: []string{"data.source", "data.ingest", "data.cdc", "alpha", "zeta"},
		},
		{
			name:       "no product file: only granted features exist",
			now:        start,
			grants:     []engine.Grant{grant("x", engine.KindFormal, bought, time.Time{}, time.Time{})},
			want:       map[string]want{"x": on(engine.KindFormal, bought, time.Time{}, -1)},
			preDays:    -1,
			extraOrder: []string{"x"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := engine.EvaluateFeatures(engine.FeatureInput{Product: tc.product, Preauth: tc.preauth, Grants: tc.grants, Now: tc.now, HighWater: tc.high})
			for name, w := range tc.want {
				f := got.Check(name)
				if f.Reason == engine.FeatureUnknown {
					t.Fatalf("%s: not listed", name)
				}
				if f.Enabled != w.enabled || f.Kind != w.kind || f.Source != w.source || !f.ExpiresAt.Equal(w.expires) || f.Reason != w.reason {
					t.Errorf("%s = {enabled %v kind %q source %q expires %v reason %q}, want {%v %q %q %v %q}",
						name, f.Enabled, f.Kind, f.Source, f.ExpiresAt, f.Reason, w.enabled, w.kind, w.source, w.expires, w.reason)
				}
				switch {
				case w.daysLeft < 0 && f.DaysLeft != nil:
					t.Errorf("%s: daysLeft = %v, want none", name, *f.DaysLeft)
				case w.daysLeft >= 0 && (f.DaysLeft == nil || math.Abs(*f.DaysLeft-w.daysLeft) > 1e-9):
					t.Errorf("%s: daysLeft = %v, want %v", name, f.DaysLeft, w.daysLeft)
				}
				if f.Enabled == (f.Reason != "") {
					t.Errorf("%s: enabled %v with reason %q", name, f.Enabled, f.Reason)
				}
			}
			if tc.preDays < 0 {
				if got.Preauth != nil {
					t.Errorf("preauth view = %+v, want none", *got.Preauth)
				}
			} else {
				switch {
				case got.Preauth == nil:
					t.Errorf("no preauth view")
				case math.Abs(got.Preauth.DaysLeft-tc.preDays) > 1e-9 || got.Preauth.Superseded != tc.preSuperseded:
					t.Errorf("preauth view = %+v, want daysLeft %v superseded %v", *got.Preauth, tc.preDays, tc.preSuperseded)
				case !got.Preauth.EndsAt.Equal(tc.preauth.StartedAt.Add(tc.product.Preauth)):
					t.Errorf("preauth ends %v", got.Preauth.EndsAt)
				}
			}
			if tc.extraOrder != nil {
				var names []string
				for _, f := range got.Features {
					names = append(names, f.Name)
				}
				if !slices.Equal(names, tc.extraOrder) {
					t.Errorf("order = %v, want %v", names, tc.extraOrder)
				}
			}
			in := engine.FeatureInput{Product: tc.product, Preauth: tc.preauth, Grants: tc.grants, Now: tc.now, HighWater: tc.high}
			for _, f := range append(slices.Clone(got.Features), engine.FeatureStatus{Name: "no.such"}) {
				one := engine.EvaluateFeature(in, f.Name)
				all := got.Check(f.Name)
				if one.Enabled != all.Enabled || one.Kind != all.Kind || one.Source != all.Source || one.Reason != all.Reason ||
					!one.ExpiresAt.Equal(all.ExpiresAt) || one.Title != all.Title || (one.DaysLeft == nil) != (all.DaysLeft == nil) {
					t.Errorf("EvaluateFeature(%s) = %+v, EvaluateFeatures says %+v", f.Name, one, all)
				}
			}
			if u := got.Check("no.such"); u.Enabled || u.Reason != engine.FeatureUnknown {
				t.Errorf("unknown feature = %+v", u)
			}
			wantNow := engine.EffectiveNow(tc.now, tc.high)
			if !got.Now.Equal(wantNow) {
				t.Errorf("Now = %v, want %v", got.Now, wantNow)
			}
		})
	}
}

func TestEvaluateFeaturesListsEveryKnownFeature(t *testing.T) {
	p := testProduct()
	p.Features = append(p.Features, engine.Feature{Name: "data.source", Title: "dup"})
	got := engine.EvaluateFeatures(engine.FeatureInput{Product: p, Now: t0})
	if len(got.Features) != 3 {
		t.Fatalf("%d features, want 3 (duplicates once)", len(got.Features))
	}
	if got.Features[0].Title != "数据源管理" {
		t.Errorf("title = %q", got.Features[0].Title)
	}
	if got.Enabled() != nil {
		t.Errorf("Enabled = %v, want none", got.Enabled())
	}
}

func TestEnabledSorted(t *testing.T) {
	p := testProduct()
	got := engine.EvaluateFeatures(engine.FeatureInput{Product: p, Preauth: engine.PreauthState{StartedAt: t0}, Now: t0,
		Grants: []engine.Grant{}})
	if e := got.Enabled(); !slices.Equal(e, []string{"data.ingest", "data.source"}) {
		t.Errorf("Enabled = %v", e)
	}
}

func TestOnlineGrants(t *testing.T) {
	p := testProduct()
	active := engine.Evaluation{Status: engine.StatusActive, IsSponsored: true}
	grace := engine.Evaluation{Status: engine.StatusGrace, IsSponsored: true, GraceEndsAt: t0.Add(day(10))}
	expired := engine.Evaluation{Status: engine.StatusExpired}
	names := func(gs []engine.Grant) []string {
		var out []string
		for _, g := range gs {
			if g.Kind != engine.KindFormal || g.Source != engine.SourceOnline {
				t.Errorf("grant %+v: want kind formal, source online", g)
			}
			out = append(out, g.Feature)
		}
		return out
	}
	if g := engine.OnlineGrants(p, "终生赞助版", active, time.Time{}); !slices.Equal(names(g), []string{"data.source", "data.ingest", "data.cdc"}) || !g[0].ExpiresAt.IsZero() {
		t.Errorf(`"*" grants = %+v`, g)
	}
	if g := engine.OnlineGrants(p, "年度版", active, t0.Add(day(365))); !slices.Equal(names(g), []string{"data.source", "data.cdc"}) || !g[0].ExpiresAt.Equal(t0.Add(day(365))) {
		t.Errorf("年度版 grants = %+v", g)
	}
	if g := engine.OnlineGrants(p, "年度版", grace, t0.Add(day(365))); !g[0].ExpiresAt.Equal(t0.Add(day(10))) {
		t.Errorf("in grace the grant ends with grace: %+v", g)
	}
	if g := engine.OnlineGrants(p, "年度版", grace, t0.Add(day(5))); !g[0].ExpiresAt.Equal(t0.Add(day(5))) {
		t.Errorf("a license expiring before grace ends: %+v", g)
	}
	if g := engine.OnlineGrants(p, "年度版", grace, time.Time{}); !g[0].ExpiresAt.Equal(t0.Add(day(10))) {
		t.Errorf("no license expiry, in grace: %+v", g)
	}
	if g := engine.OnlineGrants(p, "年度版", expired, time.Time{}); g != nil {
		t.Errorf("not sponsored: %+v", g)
	}
	lapsed := engine.Evaluation{Status: engine.StatusExpired, Reason: engine.ReasonGraceOver, LapsedAt: t0.Add(day(3))}
	if g := engine.OnlineGrants(p, "年度版", lapsed, t0.Add(day(365))); len(g) != 2 || !g[0].ExpiresAt.Equal(t0.Add(day(3))) {
		t.Errorf("lapsed: %+v, want the grants expired at the lapse", g)
	}
	for _, st := range []engine.Status{engine.StatusCommunity, engine.StatusPending} {
		if g := engine.OnlineGrants(p, "年度版", engine.Evaluation{Status: st, LapsedAt: t0}, time.Time{}); g != nil {
			t.Errorf("%s: %+v", st, g)
		}
	}
	if g := engine.OnlineGrants(p, "unmapped", active, time.Time{}); g != nil {
		t.Errorf("unmapped type: %+v", g)
	}
	if g := engine.OnlineGrants(engine.Product{}, "年度版", active, time.Time{}); g != nil {
		t.Errorf("no product: %+v", g)
	}
}

func TestValidFeatureName(t *testing.T) {
	long := string(make([]byte, 65))
	for name, ok := range map[string]bool{
		"data.cdc": true, "a": true, "x_1-2.y": true, "0": true,
		"": false, "Data.cdc": false, "data cdc": false, "数据": false, "a/b": false, "*": false,
		long: false, string(slices.Repeat([]byte("a"), 64)): true, string(slices.Repeat([]byte("a"), 65)): false,
	} {
		if got := engine.ValidFeatureName(name); got != ok {
			t.Errorf("ValidFeatureName(%q) = %v, want %v", name, got, ok)
		}
	}
}
