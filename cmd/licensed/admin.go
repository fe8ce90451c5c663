package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/licensehost/licensehost/internal/licserver"
	"github.com/licensehost/licensehost/internal/licserver/store"
)

// openAdmin returns Admin over the data directory: directly when no server
// holds it, else through the running server's admin API (its address is
// in DIR/licensed.addr, its token in DIR/admin.token).
func openAdmin(dataDir string) (licserver.Admin, func(), error) {
	dir := licserver.DataDir(dataDir)
	if _, err := dir.LoadPublicKey(); err != nil {
		return nil, nil, err
	}
	st, err := store.Open(dir.DB(), store.Options{})
	if err == nil {
		svc, err := licserver.NewService(licserver.Config{Store: st})
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		return svc.AdminAs("cli"), func() { st.Close() }, nil
	}
	if !errors.Is(err, store.ErrLocked) {
		return nil, nil, err
	}
	addr, rerr := os.ReadFile(dir.Addr())
	if rerr != nil {
		return nil, nil, fmt.Errorf("%s is in use but %s is missing: is a licensed server running?", dataDir, dir.Addr())
	}
	token, err := dir.LoadToken()
	if err != nil {
		return nil, nil, err
	}
	return &licserver.AdminClient{BaseURL: strings.TrimSpace(string(addr)), Token: token}, func() {}, nil
}

func cmdAdmin(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	f := newFlags(cmd)
	asJSON := f.Bool("json", false, "print JSON")
	var (
		pos []string
		err error
		do  func(licserver.Admin) error
	)
	switch cmd {
	case "key issue":
		typ := f.String("type", "", "license type (required)")
		maxDev := f.Int64("max-devices", 0, "machines bound at once (0 = unlimited); default: the type's")
		maxUses := f.Int64("max-uses", 0, "device bindings ever (0 = unlimited); default: the type's")
		f1 := f.String("field1", "", "customField1: total quota (\"\" = unlimited); default: the type's")
		f2 := f.String("field2", "", "customField2: batch quota; default: the type's")
		f3 := f.String("field3", "", "customField3; default: the type's")
		expires := f.String("expires", "", "RFC 3339, YYYY-MM-DD, 30d, 36h or never; default: the type's validity")
		note := f.String("note", "", "free text, e.g. the customer")
		if pos, err = f.parse(args, 0); err != nil {
			return err
		}
		if *typ == "" {
			return usagef("key issue: --type is required")
		}
		req := licserver.IssueRequest{Type: *typ, Note: *note}
		if f.isSet("max-devices") {
			req.MaxDevices = maxDev
		}
		if f.isSet("max-uses") {
			req.MaxUses = maxUses
		}
		if f.isSet("field1") {
			req.CustomField1 = f1
		}
		if f.isSet("field2") {
			req.CustomField2 = f2
		}
		if f.isSet("field3") {
			req.CustomField3 = f3
		}
		if f.isSet("expires") {
			t, err := licserver.ParseWhen(*expires, time.Now())
			if err != nil {
				return usagef("key issue: bad --expires: %v", err)
			}
			req.ExpiresAt = &t
		}
		if (req.MaxDevices != nil && *req.MaxDevices < 0) || (req.MaxUses != nil && *req.MaxUses < 0) {
			return usagef("key issue: limits must not be negative")
		}
		do = func(a licserver.Admin) error {
			l, err := a.IssueKey(ctx, req)
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(stdout, l)
			}
			fmt.Fprintln(stdout, l.Key)
			fmt.Fprintf(stderr, "issued a %s key: max devices %s, expires %s\n", l.Type, limit(l.MaxDevices), expiry(l.ExpiresAt))
			return nil
		}
	case "key list":
		status := f.String("status", "", "active|suspended|revoked")
		typ := f.String("type", "", "license type")
		if pos, err = f.parse(args, 0); err != nil {
			return err
		}
		switch store.Status(*status) {
		case "", store.StatusActive, store.StatusSuspended, store.StatusRevoked:
		default:
			return usagef("key list: bad --status %q", *status)
		}
		do = func(a licserver.Admin) error {
			ls, err := a.ListKeys(ctx, licserver.KeyFilter{Status: store.Status(*status), Type: *typ})
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(stdout, ls)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tSTATUS\tTYPE\tDEVICES\tUSES\tEXPIRES\tNOTE")
			for _, l := range ls {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%s\t%d/%s\t%s\t%s\n", l.Key, l.Status, l.Type,
					len(l.Devices), limit(l.MaxDevices), l.CurrentUses, limit(l.MaxUses), expiry(l.ExpiresAt), l.Note)
			}
			return tw.Flush()
		}
	case "key show", "key suspend", "key resume", "key revoke":
		if pos, err = f.parse(args, 1); err != nil {
			return err
		}
		action := strings.TrimPrefix(cmd, "key ")
		do = func(a licserver.Admin) error {
			var l store.License
			var err error
			if action == "show" {
				l, err = a.GetKey(ctx, pos[0])
			} else {
				l, err = a.SetKeyStatus(ctx, pos[0], licserver.KeyAction(action))
			}
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(stdout, l)
			}
			if action != "show" {
				fmt.Fprintf(stdout, "%s: %s\n", l.Key, l.Status)
				return nil
			}
			return printLicense(stdout, l)
		}
	case "key unbind":
		if pos, err = f.parse(args, 2); err != nil {
			return err
		}
		do = func(a licserver.Admin) error {
			l, err := a.UnbindDevice(ctx, pos[0], pos[1])
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(stdout, l)
			}
			fmt.Fprintf(stdout, "%s: unbound %s, %d device(s) left\n", l.Key, pos[1], len(l.Devices))
			return nil
		}
	case "type add":
		display := f.String("display", "", "display name (default: NAME)")
		maxDev := f.Int64("max-devices", 1, "machines bound at once (0 = unlimited)")
		maxUses := f.Int64("max-uses", 0, "device bindings ever (0 = unlimited)")
		f1 := f.String("field1", "", "customField1: total quota (\"\" = unlimited)")
		f2 := f.String("field2", "", "customField2: batch quota (\"\" = unlimited)")
		f3 := f.String("field3", "", "customField3")
		validity := f.String("validity", "", "lifetime of new keys: 365d, 720h (default: never expire)")
		if pos, err = f.parse(args, 1); err != nil {
			return err
		}
		t := store.LicenseType{Name: pos[0], DisplayName: *display, MaxDevices: *maxDev, MaxUses: *maxUses,
			CustomField1: *f1, CustomField2: *f2, CustomField3: *f3}
		if *validity != "" {
			d, err := licserver.ParseDuration(*validity)
			if err != nil {
				return usagef("type add: bad --validity: %v", err)
			}
			t.Validity = d
		}
		if t.MaxDevices < 0 || t.MaxUses < 0 {
			return usagef("type add: limits must not be negative")
		}
		do = func(a licserver.Admin) error {
			t, err := a.AddType(ctx, t)
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(stdout, t)
			}
			fmt.Fprintf(stdout, "added type %s (%s)\n", t.Name, t.DisplayName)
			return nil
		}
	case "type list":
		if pos, err = f.parse(args, 0); err != nil {
			return err
		}
		do = func(a licserver.Admin) error {
			ts, err := a.ListTypes(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(stdout, ts)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDISPLAY\tDEVICES\tUSES\tFIELD1\tFIELD2\tFIELD3\tVALIDITY")
			for _, t := range ts {
				v := "never expires"
				if t.Validity > 0 {
					v = t.Validity.String()
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%q\t%q\t%q\t%s\n", t.Name, t.DisplayName, limit(t.MaxDevices),
					limit(t.MaxUses), t.CustomField1, t.CustomField2, t.CustomField3, v)
			}
			return tw.Flush()
		}
	case "audit":
		n := f.Int("limit", 50, "entries, newest first")
		key := f.String("key", "", "only entries about this key")
		if pos, err = f.parse(args, 0); err != nil {
			return err
		}
		if *n <= 0 {
			return usagef("audit: --limit must be positive")
		}
		do = func(a licserver.Admin) error {
			es, err := a.AuditLog(ctx, *n, *key)
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(stdout, es)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tAT\tACTOR\tACTION\tKEY\tMACHINE\tOUTCOME\tDETAIL")
			for _, e := range es {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.UTC().Format(time.RFC3339), e.Actor,
					e.Action, e.Key, e.MachineID, e.Outcome, e.Detail)
			}
			return tw.Flush()
		}
	default:
		return usagef("unknown command %q", cmd)
	}
	_ = pos
	a, closeFn, err := openAdmin(*f.dataDir)
	if err != nil {
		return err
	}
	defer closeFn()
	return do(a)
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
