package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/licensehost/licensehost/api"

	"github.com/licensehost/licensehost/fingerprint"
	"github.com/licensehost/licensehost/internal/activation"
	"github.com/licensehost/licensehost/internal/backup"
)

// startActivations loads (or creates, on first start) the installation
// key and starts offline activation: installed files become grants again
// under the current trust set (docs/activation-files.md).
func (d *daemon) startActivations(cfg daemonConfig, report fingerprint.Report, log *slog.Logger) error {
	key, created, err := activation.LoadOrCreateKey(cfg.DataDir)
	if err != nil {
		return err
	}
	if created {
		log.Info("installation key created", "file", activation.KeyFile)
	}
	signals, err := json.Marshal(report)
	if err != nil {
		return fmt.Errorf("fingerprint report: %w", err)
	}
	d.act, err = activation.New(activation.Config{Engine: d.eng, Store: d.store, Key: key, Trust: cfg.Trust,
		Signals: signals, Logger: log})
	if err != nil {
		return err
	}
	d.eng.SetOffline(d.act)
	if err := d.act.Reconcile(context.Background()); err != nil {
		return fmt.Errorf("activation files: %w", err)
	}
	log.Info("offline activation", "installationKey", d.act.InstallationKey(), "trustedKids", d.act.Trusted())
	return nil
}

// installationKeyView is the installation key as machine-id --explain
// shows it.
type installationKeyView struct {
	DataDir   string `json:"dataDir"`
	PublicKey string `json:"publicKey,omitempty"` // base64; empty before the first start
	Error     string `json:"error,omitempty"`
}

func readInstallationKey(dataDir string) installationKeyView {
	if err := defaultDataDir(&dataDir); err != nil {
		return installationKeyView{Error: err.Error()}
	}
	v := installationKeyView{DataDir: dataDir}
	pub, found, err := activation.ReadPublicKey(dataDir)
	switch {
	case err != nil:
		v.Error = err.Error()
	case found:
		v.PublicKey = pub
	}
	return v
}

func (v installationKeyView) text() string {
	switch {
	case v.Error != "":
		return "installation key: unreadable (" + v.Error + ")"
	case v.PublicKey == "":
		return "installation key: none yet in " + v.DataDir + " (the daemon creates it at its first start)"
	}
	return "installation key: " + v.PublicKey + " (Ed25519, " + v.DataDir + "/" + activation.PubKeyFile + ")"
}

// backup writes a backup of the running daemon's whole state
// (docs/backup.md): the store's consistent snapshot, the installation key
// and the token files.
func (d *daemon) backup(ctx context.Context, w io.Writer) error {
	files := map[string]string{
		activation.KeyFile:    filepath.Join(d.cfg.DataDir, activation.KeyFile),
		activation.PubKeyFile: filepath.Join(d.cfg.DataDir, activation.PubKeyFile),
		api.TokenFileName:     d.cfg.TokenFile,
		sealKeyFile:           filepath.Join(d.cfg.DataDir, sealKeyFile),
	}
	if d.cfg.AppTokenFile != "" {
		files[api.AppTokenFileName] = d.cfg.AppTokenFile
	}
	m, err := backup.Write(w, backup.Source{
		DB:    func(w io.Writer) error { return d.store.Backup(ctx, w) },
		Files: files, MachineID: d.eng.MachineID(), HostVersion: version, Now: time.Now(),
	})
	if err != nil {
		return err
	}
	d.log.Info("backup written", "store bytes", m.Sizes[backup.DBName], "files", len(m.SHA256)-1)
	return nil
}
