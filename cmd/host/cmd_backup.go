package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/licensehost/licensehost/fingerprint"
	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/internal/backup"
	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/storage"
)

// backupCommand is `licensehost backup FILE`: a consistent backup taken
// through the running daemon (docs/backup.md).
func backupCommand(getenv func(string) string) *cobra.Command {
	return clientCommand(getenv, &cobra.Command{Use: "backup FILE",
		Short: "write a backup of the whole local state while the daemon runs (restore it with 'licensehost restore')",
		Args:  cli.ExactArgs("FILE")},
		func(ctx context.Context, cl *hostclient.Client, out printer, args []string) error {
			path := args[0]
			tmp := path + ".tmp"
			f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // it holds the installation key and tokens
			if err != nil {
				return err
			}
			defer os.Remove(tmp)
			if _, err := cl.Backup(ctx, f); err != nil {
				f.Close()
				return err
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			m, err := verifyFile(tmp)
			if err != nil {
				return fmt.Errorf("the backup read back is not valid: %w", err)
			}
			if err := os.Rename(tmp, path); err != nil {
				return err
			}
			if out.json {
				return printJSON(out.w, m)
			}
			fmt.Fprintf(out.w, "backup of %s written to %s and verified (%d files, store %d bytes); it holds secrets: keep it like the data directory\n",
				m.MachineID, path, len(m.SHA256), m.Sizes[backup.DBName])
			return nil
		})
}

func verifyFile(path string) (backup.Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return backup.Manifest{}, err
	}
	defer f.Close()
	return backup.Verify(f)
}

// restoreCommand is `licensehost restore FILE [--data-dir DIR]`: with the
// daemon stopped, into an empty data directory.
func restoreCommand(getenv func(string) string) *cobra.Command {
	var dataDir, machineID string
	c := &cobra.Command{Use: "restore FILE [--data-dir DIR]",
		Short: "restore a backup into an empty data directory (the daemon stopped)",
		Args:  cli.ExactArgs("FILE"),
	}
	settings := cli.Bind(c.Flags(), dataDirSetting(&dataDir, "the empty data directory to restore into"),
		machineIDSetting(&machineID, "this machine's pinned code, if the daemon runs with one"))
	c.RunE = func(c *cobra.Command, args []string) error {
		if err := settings.Resolve(getenv); err != nil {
			return err
		}
		if err := defaultDataDir(&dataDir); err != nil {
			return err
		}
		f, err := os.Open(args[0])
		if err != nil {
			return &cli.ExitError{Code: 2, Msg: "restore: " + err.Error()}
		}
		defer f.Close()
		quiet := slog.New(slog.DiscardHandler)
		m, err := backup.Restore(f, dataDir, func(dbDir string, r io.Reader) error {
			return storage.Restore(dbDir, r, storage.Options{Logger: quiet})
		})
		switch {
		case errors.Is(err, backup.ErrNotBackup), errors.Is(err, backup.ErrDamaged), errors.Is(err, backup.ErrNotEmpty):
			return &cli.ExitError{Code: 2, Msg: "restore: " + err.Error()}
		case err != nil:
			return fmt.Errorf("restore: %w", err)
		}
		out := c.OutOrStdout()
		abs, _ := filepath.Abs(dataDir)
		fmt.Fprintf(out, "restored the backup of %s (taken %s) into %s\n", m.MachineID, m.CreatedAt.Format("2006-01-02 15:04:05 MST"), abs)
		if rep, err := fingerprint.Compute(fingerprint.Options{Override: machineID}); err == nil && rep.Code != m.MachineID {
			fmt.Fprintf(out, "note: this machine is %s, not %s: its license will show machine_changed and its activation files will not count here\n", rep.Code, m.MachineID)
		}
		return nil
	}
	return c
}
