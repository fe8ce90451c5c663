package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/internal/cli"
)

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
	if st.Message != "" {
		row("", st.Message)
	}
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
	statusFeatures(st, row)
	for _, n := range st.Notes {
		row("warning", n)
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
		return &cli.ExitError{Code: 1}
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
		return &cli.ExitError{Code: 1}
	}
	return nil
}
