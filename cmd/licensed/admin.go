package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/internal/licserver"
	"github.com/licensehost/licensehost/internal/licserver/store"
)

// adminCommand completes c, an admin command: it gets --json, and do runs
// with the data directory's Admin (licserver.DataDir.OpenAdmin: direct, or
// through the running server). c.Args validates the arguments and flags
// before anything is opened (a bad one is exit 2).
func adminCommand(a *app, c *cobra.Command, do func(ctx context.Context, adm licserver.Admin, out printer, args []string) error) *cobra.Command {
	return dataDirCommand(a, licserver.DataDir.OpenAdmin, c, do)
}

// dataDirCommand completes c: --json, no arguments unless c.Args says
// otherwise, and a RunE that opens the data directory's T and runs do.
func dataDirCommand[T any](a *app, open func(licserver.DataDir) (T, func(), error), c *cobra.Command, do func(ctx context.Context, x T, out printer, args []string) error) *cobra.Command {
	var asJSON bool
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	if c.Args == nil {
		c.Args = cli.ExactArgs()
	}
	c.RunE = func(c *cobra.Command, args []string) error {
		d, err := a.dir()
		if err != nil {
			return err
		}
		x, closeFn, err := open(licserver.DataDir(d))
		if err != nil {
			return err
		}
		defer closeFn()
		return do(c.Context(), x, printer{w: c.OutOrStdout(), info: c.ErrOrStderr(), json: asJSON}, args)
	}
	return c
}

// printer prints an answer as text or, with --json, as JSON; info is for
// remarks that must not mix with the answer (stderr).
type printer struct {
	w, info io.Writer
	json    bool
}

// table prints v as JSON, or as a table with header and one row per item.
func table[T any](p printer, items []T, header string, row func(T) []any) error {
	if p.json {
		return printJSON(p.w, items)
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	format := strings.Repeat("%v\t", strings.Count(header, "\t")) + "%v\n"
	for _, it := range items {
		fmt.Fprintf(tw, format, row(it)...)
	}
	return tw.Flush()
}

// limitFlags are the limits and custom fields of key issue and type add.
type limitFlags struct {
	maxDevices, maxUses int64
	field1, field2      string
	field3              string
}

func (l *limitFlags) register(c *cobra.Command, maxDevicesDefault int64, suffix string) {
	c.Flags().Int64Var(&l.maxDevices, "max-devices", maxDevicesDefault, "machines bound at once (0 = unlimited)"+suffix)
	c.Flags().Int64Var(&l.maxUses, "max-uses", 0, "device bindings ever (0 = unlimited)"+suffix)
	c.Flags().StringVar(&l.field1, "field1", "", `customField1: total quota ("" = unlimited)`+suffix)
	c.Flags().StringVar(&l.field2, "field2", "", `customField2: batch quota ("" = unlimited)`+suffix)
	c.Flags().StringVar(&l.field3, "field3", "", "customField3"+suffix)
}

func (l *limitFlags) check(c *cobra.Command) error {
	if l.maxDevices < 0 || l.maxUses < 0 {
		return cli.Usagef("%s: limits must not be negative", c.Name())
	}
	return nil
}

func keyIssueCommand(a *app) *cobra.Command {
	var lim limitFlags
	var typ, expires, note string
	var req licserver.IssueRequest
	c := adminCommand(a, &cobra.Command{
		Use: "issue --type T", Short: "issue a license key (printed on stdout)",
		Args: cobra.MatchAll(cli.ExactArgs(), func(c *cobra.Command, args []string) error {
			if typ == "" {
				return cli.Usagef("key issue: --type is required")
			}
			req = licserver.IssueRequest{Type: typ, Note: note}
			set := c.Flags().Changed
			if set("max-devices") {
				req.MaxDevices = &lim.maxDevices
			}
			if set("max-uses") {
				req.MaxUses = &lim.maxUses
			}
			if set("field1") {
				req.CustomField1 = &lim.field1
			}
			if set("field2") {
				req.CustomField2 = &lim.field2
			}
			if set("field3") {
				req.CustomField3 = &lim.field3
			}
			if set("expires") {
				t, err := licserver.ParseWhen(expires, time.Now())
				if err != nil {
					return cli.Usagef("key issue: bad --expires: %v", err)
				}
				req.ExpiresAt = &t
			}
			return lim.check(c)
		}),
	}, func(ctx context.Context, adm licserver.Admin, out printer, _ []string) error {
		l, err := adm.IssueKey(ctx, req)
		if err != nil {
			return err
		}
		if out.json {
			return printJSON(out.w, l)
		}
		fmt.Fprintln(out.w, l.Key)
		fmt.Fprintf(out.info, "issued a %s key: max devices %s, expires %s\n", l.Type, limit(l.MaxDevices), expiry(l.ExpiresAt))
		return nil
	})
	c.Flags().StringVar(&typ, "type", "", "license type (required)")
	lim.register(c, 0, "; default: the type's")
	c.Flags().StringVar(&expires, "expires", "", "RFC 3339, YYYY-MM-DD, 30d, 36h or never; default: the type's validity")
	c.Flags().StringVar(&note, "note", "", "free text, e.g. the customer")
	return c
}

func keyListCommand(a *app) *cobra.Command {
	var status, typ string
	c := adminCommand(a, &cobra.Command{
		Use: "list", Short: "list keys",
		Args: cobra.MatchAll(cli.ExactArgs(), func(c *cobra.Command, args []string) error {
			switch store.Status(status) {
			case "", store.StatusActive, store.StatusSuspended, store.StatusRevoked:
				return nil
			}
			return cli.Usagef("key list: bad --status %q", status)
		}),
	}, func(ctx context.Context, adm licserver.Admin, out printer, _ []string) error {
		ls, err := adm.ListKeys(ctx, licserver.KeyFilter{Status: store.Status(status), Type: typ})
		if err != nil {
			return err
		}
		return table(out, ls, "KEY\tSTATUS\tTYPE\tDEVICES\tUSES\tEXPIRES\tNOTE", func(l store.License) []any {
			return []any{l.Key, l.Status, l.Type, fmt.Sprintf("%d/%s", len(l.Devices), limit(l.MaxDevices)),
				fmt.Sprintf("%d/%s", l.CurrentUses, limit(l.MaxUses)), expiry(l.ExpiresAt), l.Note}
		})
	})
	c.Flags().StringVar(&status, "status", "", "active, suspended or revoked")
	c.Flags().StringVar(&typ, "type", "", "license type")
	return c
}

// keyActionCommand is key show, or a status change (suspend, resume, revoke).
func keyActionCommand(a *app, action, short string) *cobra.Command {
	return adminCommand(a, &cobra.Command{Use: action + " KEY", Short: short, Args: cli.ExactArgs("KEY")},
		func(ctx context.Context, adm licserver.Admin, out printer, args []string) error {
			var l store.License
			var err error
			if action == "show" {
				l, err = adm.GetKey(ctx, args[0])
			} else {
				l, err = adm.SetKeyStatus(ctx, args[0], licserver.KeyAction(action))
			}
			switch {
			case err != nil:
				return err
			case out.json:
				return printJSON(out.w, l)
			case action == "show":
				return printLicense(out.w, l)
			}
			fmt.Fprintf(out.w, "%s: %s\n", l.Key, l.Status)
			return nil
		})
}

func keyUnbindCommand(a *app) *cobra.Command {
	return adminCommand(a, &cobra.Command{Use: "unbind KEY MACHINE_ID", Short: "release a machine's binding", Args: cli.ExactArgs("KEY", "MACHINE_ID")},
		func(ctx context.Context, adm licserver.Admin, out printer, args []string) error {
			l, err := adm.UnbindDevice(ctx, args[0], args[1])
			if err != nil {
				return err
			}
			if out.json {
				return printJSON(out.w, l)
			}
			fmt.Fprintf(out.w, "%s: unbound %s, %d device(s) left\n", l.Key, args[1], len(l.Devices))
			return nil
		})
}

func typeAddCommand(a *app) *cobra.Command {
	var lim limitFlags
	var act typeActivationFlags
	var display, validity string
	var t store.LicenseType
	c := adminCommand(a, &cobra.Command{
		Use: "add NAME", Short: "add a license type",
		Args: cobra.MatchAll(cli.ExactArgs("NAME"), func(c *cobra.Command, args []string) error {
			t = store.LicenseType{Name: args[0], DisplayName: display, MaxDevices: lim.maxDevices, MaxUses: lim.maxUses,
				CustomField1: lim.field1, CustomField2: lim.field2, CustomField3: lim.field3}
			if err := act.complete(&t); err != nil {
				return err
			}
			if validity != "" {
				d, err := licserver.ParseDuration(validity)
				if err != nil {
					return cli.Usagef("type add: bad --validity: %v", err)
				}
				t.Validity = d
			}
			return lim.check(c)
		}),
	}, func(ctx context.Context, adm licserver.Admin, out printer, _ []string) error {
		t, err := adm.AddType(ctx, t)
		if err != nil {
			return err
		}
		if out.json {
			return printJSON(out.w, t)
		}
		fmt.Fprintf(out.w, "added type %s (%s)\n", t.Name, t.DisplayName)
		return nil
	})
	c.Flags().StringVar(&display, "display", "", "display name (default: NAME)")
	lim.register(c, 1, "")
	c.Flags().StringVar(&validity, "validity", "", "lifetime of new keys: 365d, 720h (default: never expire)")
	act.register(c)
	return c
}

func typeListCommand(a *app) *cobra.Command {
	return adminCommand(a, &cobra.Command{Use: "list", Short: "list license types"},
		func(ctx context.Context, adm licserver.Admin, out printer, _ []string) error {
			ts, err := adm.ListTypes(ctx)
			if err != nil {
				return err
			}
			return table(out, ts, "NAME\tDISPLAY\tDEVICES\tUSES\tFIELD1\tFIELD2\tFIELD3\tVALIDITY", func(t store.LicenseType) []any {
				v := "never expires"
				if t.Validity > 0 {
					v = t.Validity.String()
				}
				return []any{t.Name, t.DisplayName, limit(t.MaxDevices), limit(t.MaxUses),
					fmt.Sprintf("%q", t.CustomField1), fmt.Sprintf("%q", t.CustomField2), fmt.Sprintf("%q", t.CustomField3), v}
			})
		})
}

func auditCommand(a *app) *cobra.Command {
	var n int
	var key string
	c := adminCommand(a, &cobra.Command{
		Use: "audit", Short: "show the audit log, newest first",
		Args: cobra.MatchAll(cli.ExactArgs(), func(c *cobra.Command, args []string) error {
			if n <= 0 {
				return cli.Usagef("audit: --limit must be positive")
			}
			return nil
		}),
	}, func(ctx context.Context, adm licserver.Admin, out printer, _ []string) error {
		es, err := adm.AuditLog(ctx, n, key)
		if err != nil {
			return err
		}
		return table(out, es, "SEQ\tAT\tACTOR\tACTION\tKEY\tMACHINE\tOUTCOME\tDETAIL", func(e store.AuditEntry) []any {
			return []any{e.Seq, e.At.UTC().Format(time.RFC3339), e.Actor, e.Action, e.Key, e.MachineID, e.Outcome, e.Detail}
		})
	})
	c.Flags().IntVar(&n, "limit", 50, "entries, newest first")
	c.Flags().StringVar(&key, "key", "", "only entries about this key")
	return c
}

func limit(n int64) string {
	if n == 0 {
		return "∞"
	}
	return fmt.Sprint(n)
}

func expiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func printLicense(w io.Writer, l store.License) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "key:\t%s\n", l.Key)
	fmt.Fprintf(tw, "status:\t%s\n", l.Status)
	fmt.Fprintf(tw, "type:\t%s\n", l.Type)
	fmt.Fprintf(tw, "devices:\t%d of %s\n", len(l.Devices), limit(l.MaxDevices))
	fmt.Fprintf(tw, "uses:\t%d of %s\n", l.CurrentUses, limit(l.MaxUses))
	fmt.Fprintf(tw, "customField1/2/3:\t%q %q %q\n", l.CustomField1, l.CustomField2, l.CustomField3)
	fmt.Fprintf(tw, "expires:\t%s\n", expiry(l.ExpiresAt))
	fmt.Fprintf(tw, "created:\t%s\n", l.CreatedAt.UTC().Format(time.RFC3339))
	if l.Note != "" {
		fmt.Fprintf(tw, "note:\t%s\n", l.Note)
	}
	for _, d := range l.Devices {
		fmt.Fprintf(tw, "device:\t%s activated %s, last seen %s from %s\n", d.MachineID,
			d.ActivatedAt.UTC().Format(time.RFC3339), d.LastSeenAt.UTC().Format(time.RFC3339), d.LastIP)
	}
	for _, r := range l.Released {
		fmt.Fprintf(tw, "switched:\t%s -> %s at %s\n", r.MachineID, r.MovedTo, r.At.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}
