package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/internal/lickey"
	"github.com/licensehost/licensehost/internal/licserver"
	"github.com/licensehost/licensehost/internal/licserver/store"
)

// Offline activation and signing keys (docs/activation-files.md).

// activationCommand completes c, a command over the activation and
// signing-key operations: like adminCommand, directly on the data
// directory or through the running server's admin API.
func activationCommand(a *app, c *cobra.Command, do func(ctx context.Context, act licserver.ActivationAdmin, out printer, args []string) error) *cobra.Command {
	return dataDirCommand(a, licserver.DataDir.OpenActivations, c, do)
}

// readFileArg reads a request or receipt file (at most what a file may be,
// plus one byte so an oversized one is refused as such); "-" is stdin.
func readFileArg(flag, path string) ([]byte, error) {
	if path == "" {
		return nil, cli.Usagef("%s is required", flag)
	}
	b, err := cli.ReadFileArg(path, actfile.MaxFileSize)
	if err != nil {
		return nil, &cli.ExitError{Code: 2, Msg: err.Error()}
	}
	return b, nil
}

// fileFailure makes a bad request or receipt file an exit-2 line.
func fileFailure(cmd string, err error) error {
	if errors.Is(err, licserver.ErrInvalid) {
		return &cli.ExitError{Code: 2, Msg: cmd + ": " + err.Error()}
	}
	return err
}

func activationIssueCommand(a *app) *cobra.Command {
	var request, key, output string
	c := activationCommand(a, &cobra.Command{Use: "issue --request FILE [--key KEY] [-o FILE]",
		Short: "turn a host's request file into an activation file (a device binding of the key)"},
		func(ctx context.Context, act licserver.ActivationAdmin, out printer, _ []string) error {
			b, err := readFileArg("--request", request)
			if err != nil {
				return err
			}
			f, err := act.IssueActivation(ctx, b, key)
			if err != nil {
				return fileFailure("activation issue", err)
			}
			if out.json {
				return printJSON(out.w, f)
			}
			if err := cli.WriteFileArg(out.w, output, f.File, 0o644); err != nil {
				return err
			}
			again := ""
			if f.Reissued {
				again = " (the installation's existing file, handed out again)"
			}
			fmt.Fprintf(out.info, "activation file %s: %s license for %s, signed by kid %s%s\n", f.Serial, f.Kind, f.MachineID, f.Kid, again)
			return nil
		})
	c.Flags().StringVar(&request, "request", "", "the host's request file ('-' = stdin)")
	c.Flags().StringVar(&key, "key", "", "the license key (default: the key in the request)")
	c.Flags().StringVarP(&output, "output", "o", "", "write the activation file to FILE (default: stdout)")
	return c
}

func activationReleaseCommand(a *app) *cobra.Command {
	var receipt string
	c := activationCommand(a, &cobra.Command{Use: "release --receipt FILE",
		Short: "accept a host's uninstall receipt: a migratable license's device binding is freed"},
		func(ctx context.Context, act licserver.ActivationAdmin, out printer, _ []string) error {
			b, err := readFileArg("--receipt", receipt)
			if err != nil {
				return err
			}
			r, err := act.ReleaseActivation(ctx, b)
			if err != nil {
				return fileFailure("activation release", err)
			}
			if out.json {
				return printJSON(out.w, r)
			}
			what := "released"
			if r.Already {
				what = "already released"
			}
			bound := "the device slot is free"
			if !r.Freed {
				bound = "not migratable: the machine stays bound"
			}
			fmt.Fprintf(out.w, "%s %s from %s; %s\n", what, r.Serial, r.MachineID, bound)
			return nil
		})
	c.Flags().StringVar(&receipt, "receipt", "", "the host's uninstall receipt ('-' = stdin)")
	return c
}

func activationListCommand(a *app) *cobra.Command {
	var key string
	c := activationCommand(a, &cobra.Command{Use: "list [--key KEY]", Short: "list the activation files issued"},
		func(ctx context.Context, act licserver.ActivationAdmin, out printer, _ []string) error {
			xs, err := act.ListActivations(ctx, key)
			if err != nil {
				return err
			}
			return table(out, xs, "SERIAL\tKEY\tMACHINE\tKIND\tKID\tISSUED\tRELEASED", func(x store.IssuedActivation) []any {
				rel := "-"
				if !x.ReleasedAt.IsZero() {
					rel = x.ReleasedAt.UTC().Format(time.RFC3339)
				}
				return []any{x.Serial, lickey.Mask(x.Key), x.MachineID, x.Kind, x.Kid, x.IssuedAt.UTC().Format(time.RFC3339), rel}
			})
		})
	c.Flags().StringVar(&key, "key", "", "only the files of this key")
	return c
}

func signingKeyListCommand(a *app) *cobra.Command {
	return activationCommand(a, &cobra.Command{Use: "list", Short: "list the signing keys: kid, public key, current"},
		func(ctx context.Context, act licserver.ActivationAdmin, out printer, _ []string) error {
			ks, err := act.SigningKeys(ctx)
			if err != nil {
				return err
			}
			return table(out, ks, "KID\tPUBLIC KEY\tCURRENT", func(k licserver.KeyInfo) []any {
				cur := ""
				if k.Current {
					cur = "current"
				}
				return []any{k.Kid, k.PublicKey, cur}
			})
		})
}

func signingKeyRotateCommand(a *app) *cobra.Command {
	var kid string
	c := activationCommand(a, &cobra.Command{Use: "rotate [--kid KID]",
		Short: "make a new current signing key; old keys stay listed, and files they signed stay valid where trusted",
		Args: cobra.MatchAll(cli.ExactArgs(), func(c *cobra.Command, args []string) error {
			if kid != "" && !actfile.ValidKid(kid) {
				return cli.Usagef("signing-key rotate: --kid must be 1-64 of [A-Za-z0-9._-]")
			}
			return nil
		})},
		func(ctx context.Context, act licserver.ActivationAdmin, out printer, _ []string) error {
			k, err := act.RotateSigningKey(ctx, kid)
			if err != nil {
				return err
			}
			if out.json {
				return printJSON(out.w, k)
			}
			fmt.Fprintf(out.w, "new current signing key %s: %s\n", k.Kid, k.PublicKey)
			fmt.Fprintf(out.info, "hosts trust it with --vendor-key %s=%s (or the product file's vendorKeys); hosts pinning --server-public-key need the new key too\n", k.Kid, k.PublicKey)
			return nil
		})
	c.Flags().StringVar(&kid, "kid", "", "the new key's kid (default: derived from the key)")
	return c
}

// typeActivationFlags are type add's flags of what an activation file of
// the type grants.
type typeActivationFlags struct {
	kind                      string
	features                  []string
	uninstallable, migratable bool
}

func (f *typeActivationFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.kind, "kind", "", "temporary or formal: the kind of its activation files (default formal)")
	c.Flags().StringSliceVar(&f.features, "features", nil, "features its activation files grant, comma-separated")
	c.Flags().BoolVar(&f.uninstallable, "uninstallable", false, "a formal license that may be uninstalled (giving a receipt)")
	c.Flags().BoolVar(&f.migratable, "migratable", false, "an uninstallable license whose release frees its device slot")
}

func (f *typeActivationFlags) complete(t *store.LicenseType) error {
	if f.kind != "" {
		if _, err := actfile.ParseKind(f.kind); err != nil {
			return cli.Usagef("type add: --kind must be temporary or formal")
		}
	}
	t.Kind, t.Uninstallable, t.Migratable = f.kind, f.uninstallable, f.migratable
	for _, x := range f.features {
		if x = strings.TrimSpace(x); x != "" {
			if !actfile.ValidFeatureName(x) {
				return cli.Usagef("type add: feature %q: 1-64 characters of [a-z0-9._-]", x)
			}
			t.Features = append(t.Features, x)
		}
	}
	return nil
}
