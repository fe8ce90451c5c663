package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/fingerprint"
	"github.com/licensehost/licensehost/hostclient"
)

// parseInterleaved parses flags that may come before, between or after the
// positional arguments (licensehost activate KEY --json).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func cmdMachineID(args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("machine-id", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	explain := fs.Bool("explain", false, "show every signal and whether it counted")
	asJSON := fs.Bool("json", false, "JSON output")
	override := fs.String("machine-id", "", "pinned machine code")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("machine-id: unexpected argument %q", pos[0])
	}
	if *override == "" {
		*override = getenv("LICENSEHOST_MACHINE_ID")
	}
	rep, err := fingerprint.Compute(fingerprint.Options{Override: *override})
	if err != nil {
		return usagef("machine-id: %v", err)
	}
	switch {
	case *asJSON && *explain:
		return printJSON(stdout, rep)
	case *asJSON:
		return printJSON(stdout, api.MachineID{MachineID: rep.Code})
	case *explain:
		fmt.Fprintln(stdout, strings.TrimRight(rep.Text(), "\n"))
	default:
		fmt.Fprintln(stdout, rep.Code)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// clientFlags are shared by every subcommand that talks to the daemon.
type clientFlags struct {
	host, tokenFile string
	json            bool
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.host, "host", "", "daemon URL (default http://"+api.DefaultListen+")")
	fs.StringVar(&c.tokenFile, "token-file", "", "token file (default <data-dir>/"+api.TokenFileName+")")
	fs.BoolVar(&c.json, "json", false, "JSON output for scripts")
}

func (c *clientFlags) client(getenv func(string) string) (*hostclient.Client, error) {
	host := c.host
	if host == "" {
		host = getenv(envURL)
	}
	if host == "" {
		if l := getenv(envListen); l != "" {
			host = "http://" + l
		} else {
			host = "http://" + api.DefaultListen
		}
	}
	tf := c.tokenFile
	if tf == "" {
		tf = getenv(envTokenFile)
	}
	if tf == "" {
		dir := getenv(envDataDir)
		if dir == "" {
			d, err := hostclient.DefaultDataDir()
			if err != nil {
				return nil, err
			}
			dir = d
		}
		tf = filepath.Join(dir, api.TokenFileName)
	}
	tok, err := hostclient.ReadTokenFile(tf)
	if err != nil && !errors.Is(err, hostclient.ErrTokenFileInsecure) {
		return nil, fmt.Errorf("%w (is the daemon started? it creates the token file on first start)", err)
	}
	cl, err := hostclient.New(host, tok, hostclient.WithActionTimeout(2*time.Minute))
	if err != nil {
		return nil, usagef("--host=%q: %v", host, err)
	}
	return cl, nil
}

func runCLI(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	cmd := args[0]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cf clientFlags
	cf.register(fs)
	var reason, resource, idem string
	var batch, used int64 = 0, -1
	var limit int
	switch cmd {
	case "status", "activate", "heartbeat", "clear", "events":
		fs.IntVar(&limit, "limit", 20, "events to show")
	case "switch-device":
		fs.StringVar(&reason, "reason", "", "why the license moves")
	case "quota":
		fs.Int64Var(&batch, "batch", 0, "items to create")
		fs.Int64Var(&used, "used", -1, "items existing (check only; default: the host's counter)")
		fs.StringVar(&resource, "resource", "", "usage counter name")
		fs.StringVar(&idem, "idempotency-key", "", "consume only: a retry with the same key counts once")
	case "policy":
	default:
		return usagef("unknown command %q (see licensehost help)", cmd)
	}
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	want := map[string]int{"status": 0, "heartbeat": 0, "clear": 0, "events": 0, "activate": 1, "switch-device": 1, "quota": 1, "policy": 1}[cmd]
	if len(pos) != want {
		return usagef("%s: want %d argument(s), got %d (see licensehost help)", cmd, want, len(pos))
	}
	// Validate everything local before reading the token or calling out.
	switch cmd {
	case "switch-device":
		if !engine.ValidMachineID(pos[0]) {
			return usagef("switch-device: %q is not a machine code (server_ followed by 16 lowercase hex characters)", pos[0])
		}
	case "quota":
		if pos[0] != "check" && pos[0] != "consume" {
			return usagef("quota: want check or consume, got %q", pos[0])
		}
		if batch < 1 {
			return usagef("quota %s: --batch must be at least 1", pos[0])
		}
	case "events":
		if limit < 1 || limit > 10000 {
			return usagef("events: --limit must be between 1 and 10000")
		}
	case "policy":
		if pos[0] != "reload" {
			return usagef("policy: want reload, got %q", pos[0])
		}
	}
	cl, err := cf.client(getenv)
	if err != nil {
		return err
	}
	out := printer{w: stdout, json: cf.json}
	switch cmd {
	case "status":
		st, err := cl.Status(ctx)
		if err != nil {
			return err
		}
		return out.status(st)
	case "activate":
		res, err := cl.Activate(ctx, pos[0])
		return out.action("activate", res, err)
	case "heartbeat":
		res, err := cl.Heartbeat(ctx)
		return out.action("heartbeat", res, err)
	case "clear":
		res, err := cl.Clear(ctx)
		return out.action("clear", res, err)
	case "switch-device":
		res, err := cl.SwitchDevice(ctx, pos[0], reason)
		return out.action("switch-device", res, err)
	case "quota":
		var res *api.QuotaResponse
		switch pos[0] {
		case "check":
			req := api.QuotaCheckRequest{Batch: batch, Resource: resource}
			if used >= 0 {
				req.Used = &used
			}
			res, err = cl.QuotaCheck(ctx, req)
		case "consume":
			res, err = cl.QuotaConsume(ctx, api.QuotaConsumeRequest{Batch: batch, Resource: resource, IdempotencyKey: idem})
		default:
			return usagef("quota: want check or consume, got %q", pos[0])
		}
		return out.quota(res, err)
	case "events":
		return eventsCmd(ctx, cl, out, limit)
	case "policy":
		return policyReload(ctx, cl, out)
	}
	return nil
}

type printer struct {
	w    io.Writer
	json bool
}

func fmtLimit(p *int64) string {
	if p == nil {
		return "unlimited"
	}
	return fmt.Sprint(*p)
}

func (p printer) status(st *api.Status) error {
	if p.json {
		return printJSON(p.w, st)
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("machine code", st.MachineID)
	row("edition", st.Edition)
	key := st.LicenseKey
	if key == "" {
		key = "(none)"
	}
	row("license key", key)
	status := st.Status
	if st.Reason != "" {
		status += " (" + st.Reason + ")"
	}
	row("status", status)
	row("sponsored", fmt.Sprint(st.IsSponsored))
	if st.GraceDaysLeft != nil {
		row("grace left", fmt.Sprintf("%.1f days (ends %s)", *st.GraceDaysLeft, st.GraceEndsAt.Local().Format(time.RFC3339)))
	}
	row("limits", fmt.Sprintf("total %s, batch %s", fmtLimit(st.Limits.Total), fmtLimit(st.Limits.Batch)))
	row("used", fmt.Sprint(st.Usage.Total))
	row("policy", st.Policy)
	if lr := st.LastRefresh; lr != nil {
		res := "ok"
		if !lr.Success {
			res = "failed"
		}
		code := "no HTTP answer"
		if lr.HTTPStatus != 0 {
			code = fmt.Sprintf("HTTP %d", lr.HTTPStatus)
		}
		row("last refresh", fmt.Sprintf("%s %s, %s: %s (%s)", lr.Kind, res, code, lr.Message, lr.At.Local().Format(time.RFC3339)))
	}
	if st.SwitchedTo != "" {
		row("switched to", st.SwitchedTo)
	}
	return tw.Flush()
}

func (p printer) action(name string, res *api.ActionResponse, err error) error {
	var ae *hostclient.ActionError
	if errors.As(err, &ae) && ae.Response != nil {
		res = ae.Response
	} else if err != nil {
		return err
	}
	if p.json {
		if perr := printJSON(p.w, res); perr != nil {
			return perr
		}
	} else {
		if res.Success {
			fmt.Fprintf(p.w, "%s ok: status %s\n", name, res.Status)
		} else {
			fmt.Fprintf(p.w, "%s failed: %s\n", name, res.Message)
			if re := res.RemoteError; re != nil {
				if re.HTTPStatus != 0 {
					fmt.Fprintf(p.w, "  license server: HTTP %d %s\n", re.HTTPStatus, re.Message)
				} else {
					fmt.Fprintf(p.w, "  license server: no answer (%s)\n", re.Message)
				}
			}
			if fb := res.Fallback; fb != nil {
				fmt.Fprintf(p.w, "  status now: %s (sponsored: %v)\n", fb.Status, fb.IsSponsored)
			}
		}
		if len(res.License) > 0 && string(res.License) != "null" {
			fmt.Fprintf(p.w, "  license: %s\n", strings.TrimSpace(string(res.License)))
		}
	}
	if !res.Success {
		return &exitError{code: 1}
	}
	return nil
}

func (p printer) quota(res *api.QuotaResponse, err error) error {
	if err != nil {
		return err
	}
	if p.json {
		if err := printJSON(p.w, res); err != nil {
			return err
		}
	} else {
		verdict := "allowed"
		if !res.Allowed {
			verdict = "refused: " + res.Reason
			if res.Message != "" {
				verdict += " (" + res.Message + ")"
			}
		}
		replay := ""
		if res.Replayed {
			replay = " [replayed]"
		}
		fmt.Fprintf(p.w, "%s%s — used %d, limits total %s batch %s, policy %s\n", verdict, replay, res.Used, fmtLimit(res.Limits.Total), fmtLimit(res.Limits.Batch), res.Policy)
	}
	if !res.Allowed {
		return &exitError{code: 1}
	}
	return nil
}

func eventsCmd(ctx context.Context, cl *hostclient.Client, out printer, limit int) error {
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
}

func policyReload(ctx context.Context, cl *hostclient.Client, out printer) error {
	if err := cl.ReloadPolicy(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out.w, "policies reloaded")
	return nil
}
