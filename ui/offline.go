package ui

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/hostclient"
)

// maxActivationFile bounds what the tray reads from an opened file: one
// byte more than an activation file may have (64 KiB), so that the host
// refuses a larger one as too large rather than a cut one as damaged.
const maxActivationFile = 64<<10 + 1

// offlineView is the Offline tab: save a request file, open an activation
// file, the installed files (docs/activation-files.md).
type offlineView struct {
	keyEntry   *widget.Entry
	saveBtn    *widget.Button
	openBtn    *widget.Button
	result     *notice
	list       *fyne.Container
	installKey *widget.Label
}

func (v *View) buildOffline() fyne.CanvasObject {
	o := &offlineView{}
	v.offline = o
	o.keyEntry = widget.NewEntry()
	o.keyEntry.SetPlaceHolder(lang.L("License key (optional)"))
	o.saveBtn = widget.NewButtonWithIcon(lang.L("Save request file…"), theme.DocumentSaveIcon(), v.saveRequest)
	o.openBtn = widget.NewButtonWithIcon(lang.L("Open activation file…"), theme.FolderOpenIcon(), v.openActivation)
	o.openBtn.Importance = widget.HighImportance
	o.result = newNotice(widget.MediumImportance)
	o.installKey = widget.NewLabel("—")
	o.installKey.Wrapping = fyne.TextWrapBreak
	o.list = container.NewVBox(widget.NewLabel(lang.L("No activation files installed.")))
	hint := widget.NewLabel(lang.L("For a machine that never reaches a license server: save a request file, send it to your vendor (USB stick, e-mail), then open the activation file you get back."))
	hint.Wrapping = fyne.TextWrapWord
	card := widget.NewCard(lang.L("Offline activation"), "", container.NewVBox(
		hint,
		container.NewBorder(nil, nil, bold(lang.L("License key")), nil, o.keyEntry),
		container.NewHBox(o.saveBtn, o.openBtn),
		o.result.object,
	))
	listCard := widget.NewCard(lang.L("Installed activation files"), "", container.NewVBox(
		container.NewBorder(nil, nil, bold(lang.L("Installation key")), nil, o.installKey),
		o.list,
	))
	return container.NewVScroll(container.NewVBox(card, listCard))
}

// saveFile and openFile default to fyne's dialogs in the window; a hook
// of Options runs off the UI goroutine, as a dialog's answer comes later.
func (v *View) saveFile(name string, data []byte, done func(string, error)) {
	if v.opts.SaveFile != nil {
		v.async(func() { v.opts.SaveFile(name, data, done) })
		return
	}
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			done("", err)
			return
		}
		_, werr := w.Write(data)
		if cerr := w.Close(); werr == nil {
			werr = cerr
		}
		done(w.URI().Path(), werr)
	}, v.win)
	d.SetFileName(name)
	d.Show()
}

func (v *View) openFile(done func([]byte, string, error)) {
	if v.opts.OpenFile != nil {
		v.async(func() { v.opts.OpenFile(done) })
		return
	}
	dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			done(nil, "", err)
			return
		}
		defer r.Close()
		b, err := io.ReadAll(io.LimitReader(r, maxActivationFile))
		done(b, r.URI().Path(), err)
	}, v.win).Show()
}

func (v *View) saveRequest() {
	o := v.offline
	key := strings.TrimSpace(o.keyEntry.Text)
	o.saveBtn.Disable()
	o.result.setInfo(lang.L("Writing the request…"))
	v.async(func() {
		a, err := v.c.ActivationRequest(v.ctx, key)
		v.do(func() {
			o.saveBtn.Enable()
			if err != nil {
				o.result.set(explainOffline(err))
				return
			}
			name := "licensehost-request-" + a.MachineID + ".txt"
			v.saveFile(name, []byte(a.File), func(path string, err error) {
				v.do(func() {
					switch {
					case err != nil:
						o.result.set(Problem{KindOther, lang.L("Could not save the file"), err.Error()})
					case path == "":
						o.result.setInfo("")
					default:
						o.result.setSuccess(lang.L("Request saved to {{.Path}}. Send it to your vendor.", map[string]any{"Path": path}))
					}
				})
			})
		})
	})
}

func (v *View) openActivation() {
	o := v.offline
	v.openFile(func(data []byte, path string, err error) {
		v.do(func() {
			switch {
			case err != nil:
				o.result.set(Problem{KindOther, lang.L("Could not read the file"), err.Error()})
				return
			case path == "" && data == nil:
				return // cancelled
			}
			o.openBtn.Disable()
			o.result.setInfo(lang.L("Installing…"))
			v.async(func() {
				a, err := v.c.InstallActivation(v.ctx, data)
				v.do(func() {
					o.openBtn.Enable()
					if err != nil {
						o.result.set(explainOffline(err))
						return
					}
					msg := lang.L("Installed {{.Serial}}: {{.Kind}} license, features {{.Features}}.", map[string]any{
						"Serial": a.Activation.Serial, "Kind": kindLabel(a.Activation.Kind), "Features": featureList(a.Activation)})
					if a.Already {
						msg = lang.L("{{.Serial}} was installed already.", map[string]any{"Serial": a.Activation.Serial})
					}
					o.result.setSuccess(msg)
				})
				v.RefreshActivations()
				v.RefreshStatus()
			})
		})
	})
}

// RefreshActivations reloads the list of installed files.
func (v *View) RefreshActivations() {
	v.async(func() {
		l, err := v.c.Activations(v.ctx)
		v.do(func() { v.showActivations(l, err) })
	})
}

func (v *View) showActivations(l *api.Activations, err error) {
	o := v.offline
	if err != nil {
		o.list.Objects = []fyne.CanvasObject{widget.NewLabel(explainOffline(err).Title)}
		o.list.Refresh()
		return
	}
	o.installKey.SetText(l.InstallationKey)
	if len(l.Activations) == 0 {
		o.list.Objects = []fyne.CanvasObject{widget.NewLabel(lang.L("No activation files installed."))}
		o.list.Refresh()
		return
	}
	objs := make([]fyne.CanvasObject, 0, len(l.Activations))
	for _, a := range l.Activations {
		expires := lang.L("never expires")
		if a.ExpiresAt != nil {
			expires = lang.L("expires {{.When}}", map[string]any{"When": a.ExpiresAt.Local().Format(time.DateTime)})
		}
		line := fmt.Sprintf("%s — %s, %s (%s), %s", a.Serial, kindLabel(a.Kind), a.LicenseType, featureList(a), expires)
		lbl := widget.NewLabel(line)
		lbl.Wrapping = fyne.TextWrapWord
		state := widget.NewLabel(stateLabel(a.State))
		if a.State != "in_force" {
			state.Importance = widget.WarningImportance
		} else {
			state.Importance = widget.SuccessImportance
		}
		objs = append(objs, container.NewBorder(nil, nil, state, nil, lbl))
	}
	o.list.Objects = objs
	o.list.Refresh()
}

func featureList(a api.Activation) string {
	if len(a.Features) == 0 {
		return lang.L("none")
	}
	n := make([]string, len(a.Features))
	for i, f := range a.Features {
		n[i] = f.Name
	}
	return strings.Join(n, ", ")
}

func stateLabel(s string) string {
	switch s {
	case "in_force":
		return lang.L("in force")
	case "expired":
		return lang.L("expired")
	case "untrusted":
		return lang.L("not trusted")
	case "wrong_machine":
		return lang.L("other machine")
	}
	return s
}

// explainOffline words a refused offline-activation call: the host's own
// message (it names what is wrong with the file) under a title.
func explainOffline(err error) Problem {
	var ae *hostclient.ActivationError
	if !errors.As(err, &ae) {
		return explain(err, "activation", "")
	}
	title := lang.L("This file cannot be installed")
	switch ae.Code {
	case "wrong_machine":
		title = lang.L("This activation file is for another machine")
	case "untrusted_key":
		title = lang.L("This activation file is not signed by a trusted vendor key")
	case "expired":
		title = lang.L("This activation file has expired")
	case "already_uninstalled":
		title = lang.L("This activation file was uninstalled here")
	}
	return Problem{KindBadRequest, title, ae.Message}
}
