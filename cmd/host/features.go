package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/internal/cli"
)

// featuresCommand is `licensehost features` (a table of every known feature;
// --json) with `licensehost features check NAME` (docs/features.md).
func featuresCommand(getenv func(string) string) *cobra.Command {
	c := clientCommand(getenv, &cobra.Command{Use: "features", Short: "list the product's features and their licenses"},
		func(ctx context.Context, cl *hostclient.Client, out printer, _ []string) error {
			fr, err := cl.Features(ctx)
			if err != nil {
				return err
			}
			return out.features(fr)
		})
	c.AddCommand(clientCommand(getenv, &cobra.Command{
		Use:   "check NAME",
		Short: "may feature NAME be used for new work now? (exit 0 yes, 1 no; the reason on stderr)",
		Args:  cli.ValidArg("NAME", engine.ValidFeatureName, "%q is not a feature name (1-64 characters of [a-z0-9._-])"),
	}, func(ctx context.Context, cl *hostclient.Client, out printer, args []string) error {
		res, err := cl.CheckFeature(ctx, args[0])
		if err != nil {
			return err
		}
		return out.featureCheck(res)
	}))
	return c
}

func fmtDays(d *float64) string {
	if d == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", *d)
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.Local().Format(time.RFC3339)
}

func (p printer) features(fr *api.FeaturesResponse) error {
	if p.json {
		return printJSON(p.w, fr)
	}
	if fr.Product == "" && len(fr.Features) == 0 {
		fmt.Fprintln(p.w, "no product file (--product) and no feature grants: feature licensing is off")
		return nil
	}
	if fr.Product != "" {
		fmt.Fprintf(p.w, "product: %s\n", fr.Product)
	}
	if pa := fr.Preauth; pa != nil {
		state := fmt.Sprintf("%.1f days left", pa.DaysLeft)
		switch {
		case pa.Superseded:
			state = "superseded by a temporary or formal license"
		case pa.DaysLeft <= 0:
			state = "over"
		}
		fmt.Fprintf(p.w, "pre-authorization: %s (started %s, ends %s)\n", state,
			pa.StartedAt.Local().Format(time.RFC3339), pa.EndsAt.Local().Format(time.RFC3339))
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FEATURE\tSTATUS\tKIND\tSOURCE\tEXPIRES\tDAYS LEFT\tTITLE")
	for _, f := range fr.Features {
		st := "enabled"
		if !f.Enabled {
			st = "refused: " + f.Reason
		}
		kind, src := f.Kind, f.Source
		if kind == "" {
			kind, src = "-", "-"
		}
		exp := fmtTime(f.ExpiresAt)
		if f.Kind == "" {
			exp = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, st, kind, src, exp, fmtDays(f.DaysLeft), f.Title)
	}
	return tw.Flush()
}

func (p printer) featureCheck(res *api.FeatureCheckResponse) error {
	if p.json {
		if err := printJSON(p.w, res); err != nil {
			return err
		}
	} else if res.Allowed {
		fmt.Fprintf(p.w, "%s: allowed (%s license, source %s, expires %s, days left %s)\n",
			res.Feature, res.Kind, res.Source, fmtTime(res.ExpiresAt), fmtDays(res.DaysLeft))
	}
	if !res.Allowed {
		msg := res.Feature + ": refused: " + res.Reason
		if res.Message != "" {
			msg += " (" + res.Message + ")"
		}
		return &cli.ExitError{Code: 1, Msg: msg}
	}
	return nil
}

// statusFeatures adds the feature lines to the status text.
func statusFeatures(st *api.Status, row func(k, v string)) {
	if len(st.Features) > 0 {
		on := 0
		for _, f := range st.Features {
			if f.Enabled {
				on++
			}
		}
		row("features", fmt.Sprintf("%d of %d enabled ('licensehost features' lists them)", on, len(st.Features)))
	}
	if pa := st.Preauth; pa != nil {
		switch {
		case pa.Superseded:
			row("pre-authorization", "superseded by a temporary or formal license")
		case pa.DaysLeft <= 0:
			row("pre-authorization", "over since "+pa.EndsAt.Local().Format(time.RFC3339))
		default:
			row("pre-authorization", fmt.Sprintf("%.1f days left (ends %s)", pa.DaysLeft, pa.EndsAt.Local().Format(time.RFC3339)))
		}
	}
}
