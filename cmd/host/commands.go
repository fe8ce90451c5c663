package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/fingerprint"
	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/internal/hostdir"
)

// newRoot is the licensehost command tree. The root command is the daemon;
// every other command is listed here. To add one, write a function like
// heartbeatCommand below and add it to the list (docs/CONTRIBUTING.md).
func newRoot(getenv func(string) string) *cobra.Command {
	root := daemonCommand("licensehost", getenv)
	root.Short = "a license host for any application"
	root.Long = `licensehost — a license host for any application.

Run without a command it is the daemon and its local HTTP API (the same as
'licensehost serve'); with a command it is the CLI that talks to a running
daemon. Settings: a flag wins over its environment variable, which wins over
the --config file, which wins over the default.`
	root.Args = nil // cli.Execute: an argument of the root is an unknown command

	serve := daemonCommand("serve", getenv)
	serve.Aliases = []string{"daemon"}
	serve.Short = "run the daemon (what licensehost does without a command)"

	root.AddCommand(
		serve,
		machineIDCommand(getenv),
		statusCommand(getenv),
		activateCommand(getenv),
		heartbeatCommand(getenv),
		clearCommand(getenv),
		switchDeviceCommand(getenv),
		cli.Group(&cobra.Command{Use: "quota", Short: "check or consume quota"},
			quotaCheckCommand(getenv), quotaConsumeCommand(getenv)),
		featuresCommand(getenv),
		activationCommand(getenv),
		backupCommand(getenv),
		restoreCommand(getenv),
		eventsCommand(getenv),
		webCommand(getenv),
		cli.Group(&cobra.Command{Use: "policy", Short: "manage quota policy modules"},
			policyReloadCommand(getenv)),
	)
	cli.SetVersion(root, version, true)
	return root
}

// daemonCommand runs the daemon with the settings of daemonSettings.
func daemonCommand(use string, getenv func(string) string) *cobra.Command {
	var cfg daemonConfig
	c := &cobra.Command{Use: use, Args: cli.ExactArgs()}
	settings := daemonSettings(c.Flags(), &cfg)
	c.RunE = func(c *cobra.Command, _ []string) error {
		if err := cfg.complete(settings, getenv); err != nil {
			return err
		}
		return runDaemon(c.Context(), cfg, c.OutOrStdout(), c.ErrOrStderr())
	}
	return c
}

func machineIDCommand(getenv func(string) string) *cobra.Command {
	var explain, asJSON bool
	var override, dataDir string
	c := &cobra.Command{
		Use:   "machine-id",
		Short: "print this machine's code (works without a running daemon)",
		Args:  cli.ExactArgs(),
	}
	settings := cli.Bind(c.Flags(), machineIDSetting(&override, "the pinned machine code, if the daemon runs with one"),
		dataDirSetting(&dataDir, "data directory whose installation key --explain shows"))
	c.RunE = func(c *cobra.Command, _ []string) error {
		if err := settings.Resolve(getenv); err != nil {
			return err
		}
		rep, err := fingerprint.Compute(fingerprint.Options{Override: override})
		if err != nil {
			return cli.Usagef("machine-id: %v", err)
		}
		out := c.OutOrStdout()
		var inst installationKeyView
		if explain {
			inst = readInstallationKey(dataDir)
		}
		switch {
		case asJSON && explain:
			return printJSON(out, struct {
				fingerprint.Report
				InstallationKey *installationKeyView `json:"installationKey"`
			}{rep, &inst})
		case asJSON:
			return printJSON(out, api.MachineID{MachineID: rep.Code})
		case explain:
			fmt.Fprintln(out, strings.TrimRight(rep.Text(), "\n"))
			fmt.Fprintln(out, inst.text())
		default:
			fmt.Fprintln(out, rep.Code)
		}
		return nil
	}
	c.Flags().BoolVar(&explain, "explain", false, "show every signal and whether it counted")
	c.Flags().BoolVar(&asJSON, "json", false, "JSON output for scripts")
	return c
}

// clientCommand completes c, a command that talks to the running daemon:
// it gets the clientSettings flags and --json, and do runs with a client.
// c.Args validates arguments and flags before the token file is read.
func clientCommand(getenv func(string) string, c *cobra.Command,
	do func(ctx context.Context, cl *hostclient.Client, out printer, args []string) error) *cobra.Command {
	var cfg clientConfig
	var asJSON bool
	settings := clientSettings(c.Flags(), &cfg)
	c.Flags().BoolVar(&asJSON, "json", false, "JSON output for scripts")
	if c.Args == nil {
		c.Args = cli.ExactArgs()
	}
	c.RunE = func(c *cobra.Command, args []string) error {
		if err := cfg.complete(settings, getenv); err != nil {
			return err
		}
		tok, err := hostdir.ReadToken(cfg.TokenFile)
		if err != nil && !errors.Is(err, hostdir.ErrTokenFileInsecure) {
			return fmt.Errorf("%w (is the daemon started? it creates the token file on first start)", err)
		}
		cl, err := hostclient.New(cfg.Host, tok, hostclient.WithActionTimeout(2*time.Minute))
		if err != nil {
			return settings.Invalid("host", err)
		}
		return do(c.Context(), cl, printer{w: c.OutOrStdout(), json: asJSON}, args)
	}
	return c
}

func statusCommand(getenv func(string) string) *cobra.Command {
	return clientCommand(getenv, &cobra.Command{Use: "status", Short: "show the license status (never calls the license server)"},
		func(ctx context.Context, cl *hostclient.Client, out printer, _ []string) error {
			st, err := cl.Status(ctx)
			if err != nil {
				return err
			}
			return out.status(st)
		})
}

func activateCommand(getenv func(string) string) *cobra.Command {
	return clientCommand(getenv, &cobra.Command{Use: "activate KEY", Short: "verify a license key and store it", Args: cli.ExactArgs("KEY")},
		func(ctx context.Context, cl *hostclient.Client, out printer, args []string) error {
			res, err := cl.Activate(ctx, args[0])
			return out.action("activate", res, err)
		})
}

func heartbeatCommand(getenv func(string) string) *cobra.Command {
	return clientCommand(getenv, &cobra.Command{Use: "heartbeat", Short: "re-verify the stored license now"},
		func(ctx context.Context, cl *hostclient.Client, out printer, _ []string) error {
			res, err := cl.Heartbeat(ctx)
			return out.action("heartbeat", res, err)
		})
}

func clearCommand(getenv func(string) string) *cobra.Command {
	return clientCommand(getenv, &cobra.Command{Use: "clear", Short: "forget the license: back to community"},
		func(ctx context.Context, cl *hostclient.Client, out printer, _ []string) error {
			res, err := cl.Clear(ctx)
			return out.action("clear", res, err)
		})
}

func switchDeviceCommand(getenv func(string) string) *cobra.Command {
	var reason string
	c := clientCommand(getenv, &cobra.Command{
		Use: "switch-device NEW_ID --reason R", Short: "move the license to another machine",
		Args: cli.ValidArg("NEW_ID", engine.ValidMachineID, "%q is not a machine code (server_ followed by 16 lowercase hex characters)"),
	}, func(ctx context.Context, cl *hostclient.Client, out printer, args []string) error {
		res, err := cl.SwitchDevice(ctx, args[0], reason)
		return out.action("switch-device", res, err)
	})
	c.Flags().StringVar(&reason, "reason", "", "why the license moves")
	return c
}

// quotaFlags are the flags both quota commands share.
type quotaFlags struct {
	batch    int64
	resource string
}

func (q *quotaFlags) register(c *cobra.Command) *cobra.Command {
	c.Flags().Int64Var(&q.batch, "batch", 0, "items to create (at least 1)")
	c.Flags().StringVar(&q.resource, "resource", "", "usage counter name (default: the host's one counter)")
	c.Args = cobra.MatchAll(cli.ExactArgs(), func(c *cobra.Command, args []string) error {
		if q.batch < 1 {
			return cli.Usagef("%s: --batch must be at least 1", strings.TrimPrefix(c.CommandPath(), "licensehost "))
		}
		return nil
	})
	return c
}

func quotaCheckCommand(getenv func(string) string) *cobra.Command {
	var q quotaFlags
	var used int64
	c := clientCommand(getenv, &cobra.Command{Use: "check --batch N", Short: "may N more items be created? (exit 1 if not)"},
		func(ctx context.Context, cl *hostclient.Client, out printer, _ []string) error {
			req := api.QuotaCheckRequest{Batch: q.batch, Resource: q.resource}
			if used >= 0 {
				req.Used = &used
			}
			res, err := cl.QuotaCheck(ctx, req)
			return out.quota(res, err)
		})
	q.register(c)
	c.Flags().Int64Var(&used, "used", -1, "items existing (default: the host's counter)")
	return c
}

func quotaConsumeCommand(getenv func(string) string) *cobra.Command {
	var q quotaFlags
	var idem string
	c := clientCommand(getenv, &cobra.Command{Use: "consume --batch N", Short: "count N items, atomically and durably (exit 1 if refused)"},
		func(ctx context.Context, cl *hostclient.Client, out printer, _ []string) error {
			res, err := cl.QuotaConsume(ctx, api.QuotaConsumeRequest{Batch: q.batch, Resource: q.resource, IdempotencyKey: idem})
			return out.quota(res, err)
		})
	q.register(c)
	c.Flags().StringVar(&idem, "idempotency-key", "", "a retry with the same key counts once")
	return c
}

func eventsCommand(getenv func(string) string) *cobra.Command {
	var limit int
	c := clientCommand(getenv, &cobra.Command{
		Use: "events", Short: "show the newest events",
		Args: cobra.MatchAll(cli.ExactArgs(), func(c *cobra.Command, args []string) error {
			if limit < 1 || limit > 10000 {
				return cli.Usagef("events: --limit must be between 1 and 10000")
			}
			return nil
		}),
	}, func(ctx context.Context, cl *hostclient.Client, out printer, _ []string) error {
		evs, err := cl.Events(ctx, limit)
		if err != nil {
			return err
		}
		if out.json {
			return printJSON(out.w, evs)
		}
		for _, e := range evs {
			fmt.Fprintf(out.w, "%s  %-20s %s\n", e.At.Local().Format(time.RFC3339), e.Kind, e.Message)
		}
		return nil
	})
	c.Flags().IntVar(&limit, "limit", 20, "events to show, 1 to 10000")
	return c
}

func policyReloadCommand(getenv func(string) string) *cobra.Command {
	return clientCommand(getenv, &cobra.Command{Use: "reload", Short: "reload the policy modules of --policy-dir"},
		func(ctx context.Context, cl *hostclient.Client, out printer, _ []string) error {
			if err := cl.ReloadPolicy(ctx); err != nil {
				return err
			}
			fmt.Fprintln(out.w, "policies reloaded")
			return nil
		})
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printer prints a command's answer as text or, with --json, as JSON.
type printer struct {
	w    io.Writer
	json bool
}
