package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensehost/licensehost/internal/cli"
)

// webCommand prints the web admin page's address after checking the daemon
// serves it (docs/web.md). The page itself needs no token to load; signing
// in does, so the token file is named, never printed.
func webCommand(getenv func(string) string) *cobra.Command {
	var cfg clientConfig
	var asJSON bool
	c := &cobra.Command{
		Use:   "web",
		Short: "print the address of the web admin page",
		Args:  cli.ExactArgs(),
	}
	settings := clientSettings(c.Flags(), &cfg)
	c.Flags().BoolVar(&asJSON, "json", false, "JSON output for scripts")
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
		if asJSON {
			return printJSON(out, map[string]string{"url": page, "tokenFile": cfg.TokenFile})
		}
		fmt.Fprintln(out, page)
		fmt.Fprintf(out, "sign in with the admin token in %s (or the read-only app token: status only)\n", cfg.TokenFile)
		return nil
	}
	return c
}
