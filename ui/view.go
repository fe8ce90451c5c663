package ui

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/hostclient"
)

// DefaultLicenseURL is where "Get a license" leads.
const DefaultLicenseURL = "https://license.zhoujie218.top/"

// Tab names a tab of the status window.
type Tab int

// Tabs of the status window.
const (
	TabStatus Tab = iota
	TabActivate
	TabSwitch
	TabOffline
)

// Options tune a View.
type Options struct {
	// LicenseURL is where "Get a license" leads; DefaultLicenseURL if empty.
	LicenseURL string
	// OnStatus, if set, is called on the UI goroutine after every status
	// read: st is nil when the read failed and p says why.
	OnStatus func(st *api.Status, p Problem)
	// SaveFile and OpenFile pick files for offline activation; nil: fyne's
	// file dialogs in the window (tests put their own).
	SaveFile func(name string, data []byte, done func(path string, err error))
	OpenFile func(done func(data []byte, path string, err error))
}

// View is the status window's content: status card, remote details,
// activation form and device switch form, over a Client.
type View struct {
	win  fyne.Window
	c    Client
	opts Options

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // goroutines in flight; tests wait on it
	uiMu   sync.Mutex     // serialises UI callbacks (the test driver runs them on the caller)
	seq    atomic.Uint64  // status reads started

	// UI goroutine state.
	applied uint64 // the newest status read applied
	status  *api.Status
	busy    bool

	tabs    *container.AppTabs
	content fyne.CanvasObject

	banner *notice // host down, wrong token…

	machineID   *widget.Label
	copyBtn     *widget.Button
	copyNote    *widget.Label
	edition     *widget.Label
	licenseKey  *widget.Label
	badge       *badge
	grace       *notice
	problem     *notice
	notes       *notice
	lastRefresh *widget.Label
	actionNote  *notice
	refreshBtn  *widget.Button
	clearBtn    *widget.Button
	goActivate  *widget.Button
	details     *detailsView
	features    *featuresView

	actMachineID   *widget.Label
	actCopyBtn     *widget.Button
	keyEntry       *widget.Entry
	activateBtn    *widget.Button
	licenseLink    *widget.Hyperlink
	activateResult *notice
	actDetails     *detailsView

	newIDEntry   *widget.Entry
	reasonEntry  *widget.Entry
	switchBtn    *widget.Button
	switchResult *notice

	offline *offlineView
}

// New builds the views in win (used for dialogs and the clipboard) over c.
// Put Content() in a window and call RefreshStatus to load the status.
func New(win fyne.Window, c Client, opts Options) *View {
	if opts.LicenseURL == "" {
		opts.LicenseURL = DefaultLicenseURL
	}
	v := &View{win: win, c: c, opts: opts}
	v.ctx, v.cancel = context.WithCancel(context.Background())
	v.build()
	return v
}

// Content is the window content: the tabs under a banner for host problems.
func (v *View) Content() fyne.CanvasObject { return v.content }

// Close cancels calls in flight.
func (v *View) Close() { v.cancel() }

// ShowTab selects a tab. UI goroutine only.
func (v *View) ShowTab(t Tab) { v.tabs.SelectIndex(int(t)) }

// Status is the last status read, nil before the first success. UI
// goroutine only.
func (v *View) Status() *api.Status { return v.status }

// MachineID is this machine's code as last read, "" if unknown. UI goroutine
// only.
func (v *View) MachineID() string {
	if v.status == nil {
		return ""
	}
	return v.status.MachineID
}

func (v *View) build() {
	v.banner = newNotice(widget.DangerImportance)

	// Status card.
	v.machineID = selectable("—")
	v.copyBtn = widget.NewButtonWithIcon("", theme.ContentCopyIcon(), v.CopyMachineID)
	v.copyNote = widget.NewLabel("")
	v.copyNote.Importance = widget.LowImportance
	v.edition = widget.NewLabel("—")
	v.licenseKey = widget.NewLabel("—")
	v.badge = newBadge()
	v.badge.set("")
	v.grace = newNotice(widget.WarningImportance)
	v.problem = newNotice(widget.DangerImportance)
	v.notes = newNotice(widget.WarningImportance)
	v.lastRefresh = widget.NewLabel(lang.L("Never refreshed"))
	v.lastRefresh.Wrapping = fyne.TextWrapWord
	v.actionNote = newNotice(widget.MediumImportance)
	v.refreshBtn = widget.NewButtonWithIcon(lang.L("Refresh now"), theme.ViewRefreshIcon(), v.ManualRefresh)
	v.clearBtn = widget.NewButtonWithIcon(lang.L("Clear license…"), theme.DeleteIcon(), v.confirmClear)
	v.clearBtn.Importance = widget.DangerImportance
	v.clearBtn.Disable()
	v.goActivate = widget.NewButtonWithIcon(lang.L("Activate…"), theme.ConfirmIcon(), func() { v.ShowTab(TabActivate) })
	v.goActivate.Importance = widget.HighImportance
	v.goActivate.Hide()

	fields := container.New(layout.NewFormLayout(),
		bold(lang.L("Machine code")), container.NewHBox(v.machineID, v.copyBtn, v.copyNote),
		bold(lang.L("Edition")), v.edition,
		bold(lang.L("License key")), v.licenseKey,
		bold(lang.L("Status")), v.badge.object,
	)
	statusCard := widget.NewCard(lang.L("License status"), "", container.NewVBox(
		fields,
		v.grace.object,
		v.problem.object,
		v.notes.object,
		v.lastRefresh,
		v.actionNote.object,
		container.NewHBox(v.refreshBtn, v.clearBtn, v.goActivate),
	))
	v.details = newDetailsView()
	v.details.set(nil, lang.L("No license details yet."))
	detailsCard := widget.NewCard(lang.L("License details"), "", v.details.box)
	v.features = newFeaturesView()
	statusTab := container.NewVScroll(container.NewVBox(statusCard, v.features.card, detailsCard))

	// Activation form.
	v.actMachineID = selectable("—")
	v.actCopyBtn = widget.NewButtonWithIcon("", theme.ContentCopyIcon(), v.CopyMachineID)
	v.keyEntry = widget.NewEntry()
	v.keyEntry.SetPlaceHolder(lang.L("Paste your license key"))
	v.keyEntry.OnSubmitted = func(string) { v.submitActivation() }
	v.activateBtn = widget.NewButtonWithIcon(lang.L("Activate"), theme.ConfirmIcon(), v.submitActivation)
	v.activateBtn.Importance = widget.HighImportance
	u, err := url.Parse(v.opts.LicenseURL)
	if err != nil {
		u = &url.URL{}
	}
	v.licenseLink = widget.NewHyperlink(lang.L("Get a license"), u)
	v.activateResult = newNotice(widget.MediumImportance)
	v.actDetails = newDetailsView()
	hint := widget.NewLabel(lang.L("A license key is issued for this machine's code: copy it, get a key for it, then paste the key here."))
	hint.Wrapping = fyne.TextWrapWord
	actCard := widget.NewCard(lang.L("Activate a license"), "", container.NewVBox(
		hint,
		container.New(layout.NewFormLayout(),
			bold(lang.L("Machine code")), container.NewHBox(v.actMachineID, v.actCopyBtn),
			bold(lang.L("License key")), v.keyEntry,
		),
		container.NewHBox(v.activateBtn, v.licenseLink),
		v.activateResult.object,
		v.actDetails.box,
	))
	activateTab := container.NewVScroll(actCard)

	// Device switch form.
	v.newIDEntry = widget.NewEntry()
	v.newIDEntry.SetPlaceHolder("server_0123456789abcdef")
	v.newIDEntry.Validator = v.validateNewMachineID
	v.newIDEntry.OnChanged = func(string) { v.updateSwitchButton() }
	v.reasonEntry = widget.NewEntry()
	v.reasonEntry.SetPlaceHolder(lang.L("e.g. new server"))
	v.reasonEntry.Validator = validateReason
	v.reasonEntry.OnChanged = func(string) { v.updateSwitchButton() }
	v.switchBtn = widget.NewButtonWithIcon(lang.L("Request switch…"), theme.MailForwardIcon(), v.confirmSwitch)
	v.switchBtn.Disable()
	v.switchResult = newNotice(widget.MediumImportance)
	swHint := widget.NewLabel(lang.L("Move this license to another machine: enter the new machine's code (run `licensehost machine-id` there). This machine keeps the license during the switch window, then falls back to the community edition."))
	swHint.Wrapping = fyne.TextWrapWord
	swCard := widget.NewCard(lang.L("Switch device"), "", container.NewVBox(
		swHint,
		container.New(layout.NewFormLayout(),
			bold(lang.L("New machine code")), v.newIDEntry,
			bold(lang.L("Reason")), v.reasonEntry,
		),
		container.NewHBox(v.switchBtn),
		v.switchResult.object,
	))
	switchTab := container.NewVScroll(swCard)

	v.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon(lang.L("Status"), theme.InfoIcon(), statusTab),
		container.NewTabItemWithIcon(lang.L("Activate"), theme.LoginIcon(), activateTab),
		container.NewTabItemWithIcon(lang.L("Switch device"), theme.MailForwardIcon(), switchTab),
		container.NewTabItemWithIcon(lang.L("Offline"), theme.DocumentIcon(), v.buildOffline()),
	)
	v.tabs.OnSelected = func(*container.TabItem) {
		if v.tabs.SelectedIndex() == int(TabOffline) {
			v.RefreshActivations()
		}
	}
	v.content = container.NewBorder(v.banner.object, nil, nil, nil, v.tabs)
}

// do runs fn on the UI goroutine.
func (v *View) do(fn func()) {
	fyne.Do(func() {
		v.uiMu.Lock()
		defer v.uiMu.Unlock()
		fn()
	})
}

// async runs call in a goroutine; tests wait for it with wait.
func (v *View) async(call func()) {
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		call()
	}()
}

// wait blocks until every call started so far has finished (tests).
func (v *View) wait() { v.wg.Wait() }

// RefreshStatus re-reads the status in the background. Safe from any
// goroutine; an older read never overwrites a newer one.
func (v *View) RefreshStatus() {
	seq := v.seq.Add(1)
	v.async(func() {
		st, err := v.c.Status(v.ctx)
		if errors.Is(err, context.Canceled) && v.ctx.Err() != nil {
			return
		}
		v.do(func() {
			if seq < v.applied {
				return
			}
			v.applied = seq
			v.applyStatus(st, err)
		})
	})
}

func (v *View) applyStatus(st *api.Status, err error) {
	if err != nil {
		p := explain(err, "status", v.MachineID())
		v.banner.set(p)
		if v.opts.OnStatus != nil {
			v.opts.OnStatus(nil, p)
		}
		return
	}
	v.banner.set(Problem{})
	v.status = st
	v.machineID.SetText(orDash(st.MachineID))
	v.actMachineID.SetText(orDash(st.MachineID))
	v.edition.SetText(editionLabel(st))
	if st.LicenseKey == "" {
		v.licenseKey.SetText(lang.L("none"))
	} else {
		v.licenseKey.SetText(st.LicenseKey)
	}
	v.badge.set(st.Status)
	if g := graceNotice(st); g != "" {
		v.grace.set(Problem{Title: g})
	} else {
		v.grace.set(Problem{})
	}
	v.problem.set(statusProblem(st))
	if n := notesText(st); n != "" {
		v.notes.set(Problem{Title: lang.L("Setup warnings"), Detail: n})
	} else {
		v.notes.set(Problem{})
	}
	v.lastRefresh.SetText(lastRefreshText(st.LastRefresh))
	v.details.set(st.License, lang.L("As cached by the host from the last successful verification."))
	v.features.set(st)
	hasKey := st.LicenseKey != ""
	switch {
	case v.busy:
	case hasKey:
		v.clearBtn.Enable()
	default:
		v.clearBtn.Disable()
	}
	if !st.IsSponsored || st.Status == statusPending {
		v.goActivate.Show()
	} else {
		v.goActivate.Hide()
	}
	v.updateSwitchButton()
	if v.opts.OnStatus != nil {
		v.opts.OnStatus(st, Problem{})
	}
}

// CopyMachineID puts the machine code on the clipboard. UI goroutine only.
func (v *View) CopyMachineID() {
	id := v.MachineID()
	if id == "" {
		return
	}
	fyne.CurrentApp().Clipboard().SetContent(id)
	v.copyNote.SetText(lang.L("Copied"))
}

// setBusy disables the action buttons while a call to the license server
// runs.
func (v *View) setBusy(b bool) {
	v.busy = b
	for _, w := range []fyne.Disableable{v.refreshBtn, v.activateBtn, v.clearBtn, v.switchBtn} {
		if b {
			w.Disable()
		} else {
			w.Enable()
		}
	}
	if !b {
		if v.status == nil || v.status.LicenseKey == "" {
			v.clearBtn.Disable()
		}
		v.updateSwitchButton()
	}
}

// ManualRefresh asks the host to verify the key with the license server now
// (heartbeat), shows the answer, then re-reads the status. Without a stored
// key it only re-reads the status. UI goroutine only.
func (v *View) ManualRefresh() {
	if v.busy {
		return
	}
	if v.status == nil || v.status.LicenseKey == "" {
		v.actionNote.set(Problem{})
		v.RefreshStatus()
		return
	}
	v.setBusy(true)
	v.actionNote.setInfo(lang.L("Contacting the license server…"))
	mid := v.MachineID()
	v.async(func() {
		resp, err := v.c.Heartbeat(v.ctx)
		v.do(func() {
			v.setBusy(false)
			if err != nil {
				v.actionNote.set(explain(err, "heartbeat", mid))
				return
			}
			v.actionNote.setInfo(lang.L("Verified with the license server: {{.Status}}.", map[string]any{"Status": statusLabel(resp.Status)}))
		})
		v.RefreshStatus()
	})
}

func (v *View) submitActivation() {
	if v.busy {
		return
	}
	key := strings.TrimSpace(v.keyEntry.Text)
	if key == "" {
		v.activateResult.set(Problem{Kind: KindBadKeyFormat, Title: lang.L("Enter a license key first.")})
		return
	}
	v.setBusy(true)
	v.activateResult.setInfo(lang.L("Contacting the license server…"))
	v.actDetails.set(nil, "")
	mid := v.MachineID()
	v.async(func() {
		resp, err := v.c.Activate(v.ctx, key)
		// The activation's own answer first (docs/tray.md)…
		v.do(func() {
			v.setBusy(false)
			v.showActivation(resp, err, mid)
		})
		// …then the status, which never touches the activation area.
		v.RefreshStatus()
	})
}

func (v *View) showActivation(resp *api.ActionResponse, err error, machineID string) {
	if err != nil {
		p := explain(err, "activate", machineID)
		var ae *hostclient.ActionError
		if errors.As(err, &ae) && ae.Response != nil {
			if fb := ae.Response.Fallback; fb != nil && fb.Status != "" {
				p.Detail += "\n" + lang.L("The installation stays: {{.Status}}.", map[string]any{"Status": statusLabel(fb.Status)})
			}
			if len(ae.Response.License) > 0 {
				v.actDetails.set(ae.Response.License, lang.L("Details sent by the license server with this answer."))
			}
		}
		v.activateResult.set(p)
		return
	}
	v.keyEntry.SetText("")
	v.activateResult.setSuccess(lang.L("License activated. Status: {{.Status}}.", map[string]any{"Status": statusLabel(resp.Status)}))
	v.actDetails.set(resp.License, lang.L("Details from the license server, just now."))
}

func (v *View) confirmClear() {
	if v.busy {
		return
	}
	d := dialog.NewConfirm(lang.L("Clear the license?"),
		lang.L("The license key is removed from this installation, which falls back to the community edition.\nYou can activate the same key again later."),
		func(ok bool) {
			if ok {
				v.clear()
			}
		}, v.win)
	d.SetConfirmText(lang.L("Clear license"))
	d.SetConfirmImportance(widget.DangerImportance)
	d.SetDismissText(lang.L("Cancel"))
	d.Show()
}

func (v *View) clear() {
	v.setBusy(true)
	mid := v.MachineID()
	v.async(func() {
		_, err := v.c.Clear(v.ctx)
		v.do(func() {
			v.setBusy(false)
			if err != nil {
				v.actionNote.set(explain(err, "clear", mid))
				return
			}
			v.actionNote.setInfo(lang.L("License cleared: the installation runs as the community edition."))
			v.activateResult.set(Problem{})
			v.actDetails.set(nil, "")
		})
		v.RefreshStatus()
	})
}

func (v *View) validateNewMachineID(s string) error {
	s = strings.TrimSpace(s)
	if !engine.ValidMachineID(s) {
		return errors.New(lang.L("A machine code is server_ followed by 16 lowercase hex characters."))
	}
	if s == v.MachineID() {
		return errors.New(lang.L("That is this machine's own code."))
	}
	return nil
}

// validateReason checks the reason as the host will (engine.ValidateReason).
func validateReason(s string) error {
	switch {
	case len(s) > engine.MaxReasonBytes:
		return errors.New(lang.L("The reason is too long."))
	case engine.ValidateReason(s) != nil:
		return errors.New(lang.L("The reason holds characters that are not allowed."))
	}
	return nil
}

func (v *View) updateSwitchButton() {
	ok := !v.busy && v.status != nil && v.status.LicenseKey != "" &&
		v.validateNewMachineID(v.newIDEntry.Text) == nil && validateReason(v.reasonEntry.Text) == nil
	if ok {
		v.switchBtn.Enable()
	} else {
		v.switchBtn.Disable()
	}
}

func (v *View) confirmSwitch() {
	if v.busy {
		return
	}
	newID := strings.TrimSpace(v.newIDEntry.Text)
	if err := v.validateNewMachineID(newID); err != nil {
		v.switchResult.set(Problem{Kind: KindBadRequest, Title: err.Error()})
		return
	}
	reason := strings.TrimSpace(v.reasonEntry.Text)
	d := dialog.NewConfirm(lang.L("Move the license?"),
		lang.L("The license moves to {{.ID}}. This machine keeps it during the switch window, then falls back to the community edition.", map[string]any{"ID": newID}),
		func(ok bool) {
			if ok {
				v.switchDevice(newID, reason)
			}
		}, v.win)
	d.SetConfirmText(lang.L("Move license"))
	d.SetDismissText(lang.L("Cancel"))
	d.Show()
}

func (v *View) switchDevice(newID, reason string) {
	v.setBusy(true)
	v.switchResult.setInfo(lang.L("Contacting the license server…"))
	mid := v.MachineID()
	v.async(func() {
		resp, err := v.c.SwitchDevice(v.ctx, newID, reason)
		v.do(func() {
			v.setBusy(false)
			if err != nil {
				v.switchResult.set(explain(err, "switch", mid))
				return
			}
			v.switchResult.setSuccess(lang.L("The license moves to {{.ID}}. Status here: {{.Status}}.",
				map[string]any{"ID": newID, "Status": statusLabel(resp.Status)}))
		})
		v.RefreshStatus()
	})
}

// notice is a titled message block, hidden when empty.
type notice struct {
	title, detail *widget.Label
	object        *fyne.Container
	importance    widget.Importance
	problem       Problem
}

func newNotice(imp widget.Importance) *notice {
	n := &notice{title: widget.NewLabel(""), detail: widget.NewLabel(""), importance: imp}
	n.title.TextStyle.Bold = true
	n.title.Wrapping = fyne.TextWrapWord
	n.detail.Wrapping = fyne.TextWrapWord
	n.object = container.NewVBox(n.title, n.detail)
	n.object.Hide()
	return n
}

func (n *notice) set(p Problem) {
	n.problem = p
	n.title.Importance = n.importance
	n.title.SetText(p.Title)
	n.detail.SetText(p.Detail)
	if p.Detail == "" {
		n.detail.Hide()
	} else {
		n.detail.Show()
	}
	if p.Title == "" && p.Detail == "" {
		n.object.Hide()
	} else {
		n.object.Show()
	}
}

func (n *notice) setInfo(s string) {
	n.set(Problem{Title: s})
	n.title.Importance = widget.MediumImportance
	n.title.Refresh()
}

func (n *notice) setSuccess(s string) {
	n.set(Problem{Title: s})
	n.title.Importance = widget.SuccessImportance
	n.title.Refresh()
}

// text is the notice's shown text (tests).
func (n *notice) text() string {
	if !n.object.Visible() {
		return ""
	}
	return n.problem.String()
}

func bold(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.TextStyle.Bold = true
	return l
}

func selectable(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Selectable = true
	return l
}
