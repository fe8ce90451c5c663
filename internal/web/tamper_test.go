package web_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/storage"
)

// Someone edited the stored record of a stopped host (through the store, so
// the database stays valid; docs/reliability.md, "Tamper evidence"): the page
// shows status tampered in words, the host's message and what to do, and the
// setup warnings of the status; Refresh now restores the license once the
// license server answers.
func TestBrowserTamperedRecord(t *testing.T) {
	srv := newLicenseServer(t)
	dir := activatedDataDir(t, srv)

	st, err := storage.Open(filepath.Join(dir, "db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(context.Background(), func(r *engine.Record) ([]engine.Event, error) {
		r.LimitTotal = engine.Int64(900) // 500 → 900, the seal no longer matches
		return nil, nil
	})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	// The license server is down, so the startup verification cannot
	// replace the record with a genuine one.
	srv.SetDown(true)
	h := startHostIn(t, srv, dir)
	status, err := h.client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if status.Status != "tampered" || status.Message == "" || len(status.Notes) == 0 {
		t.Fatalf("edited record: %+v", status)
	}
	tb := newTab(t, "en-US,en")
	tb.open(h.url + "/")
	tb.signIn(h.admin)
	tb.waitText("#status .badge", "Data altered")
	var sym, cls string
	tb.eval(`document.querySelector('#status [data-f="sym"]').textContent`, &sym)
	tb.eval(`document.querySelector('#status .badge').className`, &cls)
	if sym == "" || cls != "badge bad" {
		t.Errorf("badge symbol %q class %q", sym, cls)
	}
	tb.waitText(`#status [data-f="problem"]`, "Local license data was altered")
	tb.waitText(`#status [data-f="problem"]`, status.Message)
	tb.waitText(`#status [data-f="problem"]`, "Press Refresh now to verify it with the license server again")
	tb.waitText(`#status [data-f="notes"]`, "Setup warnings")
	tb.waitText(`#status [data-f="notesList"] li`, status.Notes[0])

	// The same words in Chinese (shared with the tray); the notes stay as
	// the host gives them.
	zh := newTab(t, "zh-CN,zh")
	zh.open(h.url + "/")
	zh.signIn(h.admin)
	zh.waitText("#status .badge", "数据被改动")
	zh.waitText(`#status [data-f="problem"]`, "本地许可证数据被改动")
	zh.waitText(`#status [data-f="problem"]`, "立即刷新")
	zh.waitText(`#status [data-f="notes"]`, "配置警告")
	zh.waitText(`#status [data-f="notesList"] li`, status.Notes[0])
	zh.noConsoleErrors()

	// The license server answers again: Refresh now verifies the license
	// and the notice goes away.
	srv.SetDown(false)
	tb.click(`#status [data-act="refresh"]`)
	tb.waitText("#status .badge", "Active")
	tb.waitJS("the problem hidden", `document.querySelector('#status [data-f="problem"]').hidden`)
	tb.noConsoleErrors()

}
