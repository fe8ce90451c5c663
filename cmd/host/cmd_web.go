package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/internal/hostdir"
)

// webCommand prints the web admin page's address after checking the daemon
// serves it (docs/web.md). The page itself needs no token to load; signing
// in does, so the token file is named, never printed.
func webCommand(getenv func(string) string) *cobra.Command {
	var cfg clientConfig
	var asJSON, link bool
	c := &cobra.Command{
		Use:   "web",
		Short: "print the address of the web admin page",
		Args:  cli.ExactArgs(),
	}
	settings := clientSettings(c.Flags(), &cfg)
	c.Flags().BoolVar(&asJSON, "json", false, "JSON output for scripts")
	c.Flags().BoolVar(&link, "link", false, "print a one-time sign-in link instead (admin, works once within 5 minutes)")
	c.RunE = func(c *cobra.Command, _ []string) error {
		if err := cfg.complete(settings, getenv); err != nil {
			return err
		}
		page := strings.TrimRight(cfg.Host, "/") + "/"
		ctx, cancel := context.WithTimeout(c.Context(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, page, nil)
		if err != nil {
			return settings.Invalid("host", err)
		}
		cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := cl.Do(req)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("the daemon at %s did not answer in time", cfg.Host)
			}
			return fmt.Errorf("the daemon is not running at %s (start it with `licensehost`): %v", cfg.Host, err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusNotFound:
			return fmt.Errorf("the daemon at %s serves no admin page: it runs with --no-web", cfg.Host)
		case resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html"):
			return fmt.Errorf("the daemon at %s answered %s for its admin page", cfg.Host, resp.Status)
		}
		out := c.OutOrStdout()
		if link {
			return printLink(ctx, out, cfg, page, asJSON)
		}
		if asJSON {
			return printJSON(out, map[string]string{"url": page, "tokenFile": cfg.TokenFile})
		}
		fmt.Fprintln(out, page)
		fmt.Fprintf(out, "sign in with the admin token in %s (or the read-only app token: status only)\n", cfg.TokenFile)
		return nil
	}
	return c
}

// printLink asks the daemon (with the admin token) for a one-time sign-in
// code and prints <page>#signin=<code>. The code is in the fragment, which
// browsers never send to a server; the page removes it from the address bar.
func printLink(ctx context.Context, out io.Writer, cfg clientConfig, page string, asJSON bool) error {
	tok, err := hostdir.ReadToken(cfg.TokenFile)
	if err != nil && !errors.Is(err, hostdir.ErrTokenFileInsecure) {
		return fmt.Errorf("%w (the link needs the admin token)", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(cfg.Host, "/")+api.PathSessionLink, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("the daemon at %s: %v", cfg.Host, err)
	}
	defer resp.Body.Close()
	var body struct {
		api.SessionLink
		Message string `json:"message"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the daemon refused a sign-in link (%s): %s", resp.Status, body.Message)
	}
	u := page + "#signin=" + body.Code
	if asJSON {
		return printJSON(out, map[string]any{"url": u, "expiresAt": body.ExpiresAt})
	}
	fmt.Fprintln(out, u)
	fmt.Fprintf(out, "signs a browser in as admin once, until %s\n", body.ExpiresAt.Local().Format("2006-01-02 15:04:05"))
	return nil
}
