package engine

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Feature licenses (docs/features.md). Every source of features becomes
// grants; EvaluateFeatures turns grants into each feature's status as a pure
// function, beside Evaluate.

// GrantKind is the kind of license a grant comes from.
type GrantKind string

// The three license kinds (docs/features.md).
const (
	// KindPreauth: built in, starts at the first start with a product,
	// time-limited, never mixed with the other two.
	KindPreauth GrantKind = "preauth"
	// KindTemporary: a vendor trial.
	KindTemporary GrantKind = "temporary"
	// KindFormal: a bought license (the online license counts as formal).
	KindFormal GrantKind = "formal"
)

// Valid reports whether k is one of the three kinds.
func (k GrantKind) Valid() bool {
	return k == KindPreauth || k == KindTemporary || k == KindFormal
}

// rank orders kinds for reporting which grant covers a feature: formal
// before temporary before pre-authorization.
func (k GrantKind) rank() int {
	switch k {
	case KindFormal:
		return 3
	case KindTemporary:
		return 2
	case KindPreauth:
		return 1
	}
	return 0
}

// Grant sources. An activation file's grants carry SourceActivationPrefix
// followed by the file's serial.
const (
	SourcePreauth          = "preauth"
	SourceOnline           = "online"
	SourceActivationPrefix = "activation:"
)

// Grant is one feature granted by one source for a time window.
type Grant struct {
	Feature string    `json:"feature"`
	Kind    GrantKind `json:"kind"`
	// Source labels where the grant comes from: "preauth", "online", or
	// "activation:<serial>". The engine never looks further into it.
	Source    string    `json:"source"`
	NotBefore time.Time `json:"notBefore,omitzero"` // zero: in force from the start
	ExpiresAt time.Time `json:"expiresAt,omitzero"` // zero: never expires
}

// InForce reports whether g covers its feature at the effective time now.
func (g Grant) InForce(now time.Time) bool {
	return !now.Before(g.NotBefore) && (g.ExpiresAt.IsZero() || now.Before(g.ExpiresAt))
}

// Feature is one feature a product knows.
type Feature struct {
	Name  string `json:"name"`
	Title string `json:"title"`
}

// AllFeatures in a license type's feature list means every known feature.
const AllFeatures = "*"

// Product is what the product file (internal/product, docs/features.md)
// tells the engine: the known features, the pre-authorization and the
// features of each online license type. The zero Product (no product file)
// knows no features.
type Product struct {
	Name     string
	Features []Feature
	// Preauth is how long the pre-authorization lasts from its start; zero
	// means the product has none.
	Preauth         time.Duration
	PreauthFeatures []string
	// LicenseTypes maps a licenseTypeName of the online contract to the
	// features it grants; AllFeatures ("*") stands for every known feature.
	LicenseTypes map[string][]string
}

// Configured reports whether a product file was given.
func (p Product) Configured() bool { return p.Name != "" || len(p.Features) > 0 }

// Knows reports whether the product lists the feature.
func (p Product) Knows(name string) bool {
	return slices.ContainsFunc(p.Features, func(f Feature) bool { return f.Name == name })
}

// TypeFeatures returns the features a license type grants, with "*"
// expanded to every known feature; nil for a type the product does not map.
func (p Product) TypeFeatures(licenseType string) []string {
	names, ok := p.LicenseTypes[licenseType]
	if !ok {
		return nil
	}
	if slices.Contains(names, AllFeatures) {
		out := make([]string, 0, len(p.Features))
		for _, f := range p.Features {
			out = append(out, f.Name)
		}
		return out
	}
	return slices.Clone(names)
}

// PreauthState is the durable pre-authorization state of an installation.
type PreauthState struct {
	// StartedAt is when the pre-authorization of the product started: the
	// host's first start with that product. Zero: not started.
	StartedAt time.Time `json:"startedAt,omitzero"`
	// SupersededAt is when a temporary or formal grant was first seen on the
	// installation; from then on pre-authorization never counts again.
	// Zero: never superseded.
	SupersededAt time.Time `json:"supersededAt,omitzero"`
	// SupersededBy is the source of that first grant.
	SupersededBy string `json:"supersededBy,omitempty"`
}

// Superseded reports whether pre-authorization stopped counting for good.
func (s PreauthState) Superseded() bool { return !s.SupersededAt.IsZero() }

// OnlineGrants returns the grants of the online license: its type's
// features, kind formal, source online, while the evaluation is sponsored.
// They expire with the license (its expiresAt) or, in grace, at the end of
// grace, whichever comes first. Once sponsorship lapsed (status expired
// with ev.LapsedAt set) they are returned expired at that time, so the
// features say expired rather than not_licensed until the license is
// cleared or renewed.
func OnlineGrants(p Product, licenseType string, ev Evaluation, licenseExpires time.Time) []Grant {
	lapsed := !ev.IsSponsored && ev.Status == StatusExpired && !ev.LapsedAt.IsZero()
	if !ev.IsSponsored && !lapsed {
		return nil
	}
	names := p.TypeFeatures(licenseType)
	if len(names) == 0 {
		return nil
	}
	exp := licenseExpires
	if !ev.GraceEndsAt.IsZero() && (exp.IsZero() || ev.GraceEndsAt.Before(exp)) {
		exp = ev.GraceEndsAt
	}
	if lapsed {
		exp = ev.LapsedAt
	}
	out := make([]Grant, 0, len(names))
	for _, n := range names {
		out = append(out, Grant{Feature: n, Kind: KindFormal, Source: SourceOnline, ExpiresAt: exp})
	}
	return out
}

// Reasons a feature is not enabled.
const (
	// FeatureNotLicensed: no grant covers the feature (or only one that is
	// not in force yet).
	FeatureNotLicensed = "not_licensed"
	// FeatureExpired: a temporary or formal grant covered it and expired.
	FeatureExpired = "expired"
	// FeaturePreauthOver: only the pre-authorization covered it, and it ran
	// out or was superseded by a temporary or formal grant.
	FeaturePreauthOver = "preauth_over"
	// FeatureUnknown: neither the product nor any grant names the feature.
	FeatureUnknown = "unknown_feature"
)

// FeatureStatus is one feature's evaluated status.
type FeatureStatus struct {
	Name    string
	Title   string
	Enabled bool
	// Kind, Source and ExpiresAt describe the grant that covers the feature
	// when enabled (formal before temporary before pre-authorization, then
	// the latest expiry), or the grant that lapsed when the reason is
	// expired or preauth_over. ExpiresAt zero: never expires.
	Kind      GrantKind
	Source    string
	ExpiresAt time.Time
	// DaysLeft is the fractional days until ExpiresAt while enabled; nil
	// when the grant never expires or the feature is not enabled.
	DaysLeft *float64
	Reason   string // "" when enabled
}

// PreauthView is the pre-authorization as status shows it.
type PreauthView struct {
	StartedAt  time.Time
	EndsAt     time.Time
	DaysLeft   float64 // 0 once over or superseded
	Superseded bool
	Features   []string
}

// FeatureEvaluation is the outcome of EvaluateFeatures.
type FeatureEvaluation struct {
	// Features lists every known feature: the product's in its order, then
	// features only a grant names, by name.
	Features []FeatureStatus
	// Preauth is nil when the product has no pre-authorization.
	Preauth *PreauthView
	// Now is the effective time used (the clock, or the high-water mark
	// when the clock was turned back).
	Now time.Time
}

// Enabled returns the names of the enabled features, sorted.
func (fe FeatureEvaluation) Enabled() []string {
	var out []string
	for _, f := range fe.Features {
		if f.Enabled {
			out = append(out, f.Name)
		}
	}
	slices.Sort(out)
	return out
}

// Check returns the status of one feature; a feature not in the list comes
// back not enabled with FeatureUnknown.
func (fe FeatureEvaluation) Check(name string) FeatureStatus {
	for _, f := range fe.Features {
		if f.Name == name {
			return f
		}
	}
	return FeatureStatus{Name: name, Reason: FeatureUnknown}
}

// FeatureInput is everything EvaluateFeatures needs.
type FeatureInput struct {
	Product Product
	// Preauth is the durable pre-authorization state; its grants are built
	// from it and Product.
	Preauth PreauthState
	// Grants are the grants of every other source (online license,
	// activation files). Pre-authorization grants found here are ignored:
	// they come from Preauth only.
	Grants    []Grant
	Now       time.Time // the clock reading
	HighWater time.Time // the persisted clock high-water mark
}

// Supersedes reports whether grants hold a temporary or formal grant, which
// ends pre-authorization for good once seen (docs/features.md).
func Supersedes(grants []Grant) (Grant, bool) {
	for _, g := range grants {
		if g.Kind == KindTemporary || g.Kind == KindFormal {
			return g, true
		}
	}
	return Grant{}, false
}

// EvaluateFeatures is the feature evaluation of docs/features.md as a pure
// function:
//   - a feature is enabled when a grant in force covers it; temporary and
//     formal grants combine (union);
//   - pre-authorization grants count only while no temporary or formal grant
//     exists now and none ever existed (in.Preauth.Superseded);
//   - time is the clock, or the high-water mark when the clock reads
//     earlier, so a clock turned back never extends a grant.
func EvaluateFeatures(in FeatureInput) FeatureEvaluation {
	c := newFeatureCtx(in)
	out := FeatureEvaluation{Now: c.eff}
	if in.Product.Preauth > 0 && !in.Preauth.StartedAt.IsZero() {
		v := &PreauthView{StartedAt: in.Preauth.StartedAt, EndsAt: in.Preauth.StartedAt.Add(in.Product.Preauth),
			Superseded: c.superseded, Features: slices.Clone(in.Product.PreauthFeatures)}
		if !c.superseded && c.eff.Before(v.EndsAt) {
			v.DaysLeft = daysBetween(c.eff, v.EndsAt)
		}
		out.Preauth = v
	}
	out.Features = make([]FeatureStatus, 0, len(in.Product.Features))
	seen := make(map[string]bool, len(in.Product.Features))
	for _, f := range in.Product.Features {
		if seen[f.Name] {
			continue
		}
		seen[f.Name] = true
		out.Features = append(out.Features, c.status(f))
	}
	var extra []string
	for _, g := range c.grants {
		if !seen[g.Feature] {
			seen[g.Feature] = true
			extra = append(extra, g.Feature)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		out.Features = append(out.Features, c.status(Feature{Name: name}))
	}
	return out
}

// EvaluateFeature is EvaluateFeatures for one feature: the same answer as
// EvaluateFeatures(in).Check(name), without evaluating the others.
func EvaluateFeature(in FeatureInput, name string) FeatureStatus {
	c := newFeatureCtx(in)
	for _, f := range in.Product.Features {
		if f.Name == name {
			return c.status(f)
		}
	}
	for _, g := range c.grants {
		if g.Feature == name {
			return c.status(Feature{Name: name})
		}
	}
	return FeatureStatus{Name: name, Reason: FeatureUnknown}
}

// featureCtx is what every feature's evaluation shares.
type featureCtx struct {
	in         FeatureInput
	eff        time.Time
	grants     []Grant // temporary and formal grants
	superseded bool
	preStart   time.Time // zero: no pre-authorization grants
	preEnd     time.Time
}

func newFeatureCtx(in FeatureInput) featureCtx {
	c := featureCtx{in: in, eff: EffectiveNow(in.Now, in.HighWater)}
	for i, g := range in.Grants {
		if g.Kind == KindPreauth || !g.Kind.Valid() {
			// Rare: copy once, keeping only temporary and formal grants.
			c.grants = slices.Clone(in.Grants[:i])
			for _, g := range in.Grants[i:] {
				if g.Kind != KindPreauth && g.Kind.Valid() {
					c.grants = append(c.grants, g)
				}
			}
			break
		}
		if i == len(in.Grants)-1 {
			c.grants = in.Grants
		}
	}
	_, supersededNow := Supersedes(c.grants)
	c.superseded = in.Preauth.Superseded() || supersededNow
	if in.Product.Preauth > 0 && !in.Preauth.StartedAt.IsZero() {
		c.preStart, c.preEnd = in.Preauth.StartedAt, in.Preauth.StartedAt.Add(in.Product.Preauth)
	}
	return c
}

// preauthGrant returns the pre-authorization grant of name, if any.
func (c *featureCtx) preauthGrant(name string) (Grant, bool) {
	if c.preStart.IsZero() || !slices.Contains(c.in.Product.PreauthFeatures, name) {
		return Grant{}, false
	}
	return Grant{Feature: name, Kind: KindPreauth, Source: SourcePreauth, ExpiresAt: c.preEnd}, true
}

func (c *featureCtx) status(f Feature) FeatureStatus {
	st := FeatureStatus{Name: f.Name, Title: f.Title}
	if st.Title == "" {
		st.Title = f.Name
	}
	eff := c.eff
	pre, hasPre := c.preauthGrant(f.Name)
	var best, lapsed *Grant
	for i := range c.grants {
		g := &c.grants[i]
		if g.Feature != f.Name {
			continue
		}
		if g.InForce(eff) && (best == nil || better(*g, *best)) {
			best = g
		}
		if !g.ExpiresAt.IsZero() && !eff.Before(g.ExpiresAt) && (lapsed == nil || g.ExpiresAt.After(lapsed.ExpiresAt)) {
			lapsed = g
		}
	}
	if best == nil && hasPre && !c.superseded && pre.InForce(eff) {
		best = &pre
	}
	if best != nil {
		st.Enabled, st.Kind, st.Source, st.ExpiresAt = true, best.Kind, best.Source, best.ExpiresAt
		if !best.ExpiresAt.IsZero() {
			d := daysBetween(eff, best.ExpiresAt)
			st.DaysLeft = &d
		}
		return st
	}
	// Not enabled: say why, naming the grant that lapsed.
	if lapsed != nil {
		st.Kind, st.Source, st.ExpiresAt, st.Reason = lapsed.Kind, lapsed.Source, lapsed.ExpiresAt, FeatureExpired
		return st
	}
	if hasPre && (c.superseded || !eff.Before(pre.ExpiresAt)) {
		st.Kind, st.Source, st.ExpiresAt, st.Reason = pre.Kind, pre.Source, pre.ExpiresAt, FeaturePreauthOver
		return st
	}
	st.Reason = FeatureNotLicensed
	return st
}

// better reports whether a should be reported over b: higher kind, then
// the later expiry (never expiring is latest), then the smaller source.
func better(a, b Grant) bool {
	if a.Kind.rank() != b.Kind.rank() {
		return a.Kind.rank() > b.Kind.rank()
	}
	if a.ExpiresAt.IsZero() != b.ExpiresAt.IsZero() {
		return a.ExpiresAt.IsZero()
	}
	if c := a.ExpiresAt.Compare(b.ExpiresAt); c != 0 {
		return c > 0
	}
	return cmp.Compare(a.Source, b.Source) < 0
}

func daysBetween(from, to time.Time) float64 { return to.Sub(from).Hours() / 24 }

// MaxFeatureNameBytes bounds a feature name.
const MaxFeatureNameBytes = 64

// ValidFeatureName reports whether name is 1–64 characters of [a-z0-9._-].
func ValidFeatureName(name string) bool {
	if name == "" || len(name) > MaxFeatureNameBytes {
		return false
	}
	return strings.IndexFunc(name, func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-')
	}) < 0
}
