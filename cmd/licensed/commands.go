package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/internal/licserver"
	"github.com/licensehost/licensehost/internal/licserver/store"
	"github.com/licensehost/licensehost/internal/signing"
)

// app is what every command shares: the environment and the data
// directory (a persistent flag of the root).
type app struct {
	getenv  func(string) string
	dataDir string
	dirSet  *cli.Settings
}

// dir resolves the data directory: flag, LICENSED_DATA_DIR, default.
func (a *app) dir() (string, error) {
	if err := completeDataDir(a.dirSet, &a.dataDir, a.getenv); err != nil {
		return "", err
	}
	return a.dataDir, nil
}

// newRoot is the licensed command tree. To add a command, write a function
// like pubkeyCommand and add it here (admin commands: admin.go; see
// docs/CONTRIBUTING.md).
func newRoot(getenv func(string) string) *cobra.Command {
	a := &app{getenv: getenv}
	root := &cobra.Command{
		Use:   "licensed",
		Short: "licensehost's on-prem license server and its admin CLI",
		Long: `licensed — licensehost's on-prem license server (the fixed remote contract
with Ed25519-signed answers) and its admin CLI. Admin commands open the data
directory directly, or use the admin API of the server that holds it.
See docs/licensed.md.`,
	}
	a.dirSet = dataDirSetting(root.PersistentFlags(), &a.dataDir)
	root.AddCommand(
		initCommand(a),
		serveCommand(a),
		pubkeyCommand(a),
		cli.Group(&cobra.Command{Use: "key", Short: "issue and manage license keys"},
			keyIssueCommand(a), keyListCommand(a),
			keyActionCommand(a, "show", "show a key, its devices and switches"),
			keyActionCommand(a, "suspend", "suspend a key (resume undoes it)"),
			keyActionCommand(a, "resume", "resume a suspended key"),
			keyActionCommand(a, "revoke", "revoke a key, for good"),
			keyUnbindCommand(a)),
		cli.Group(&cobra.Command{Use: "type", Short: "manage license types"},
			typeAddCommand(a), typeListCommand(a)),
		cli.Group(&cobra.Command{Use: "activation", Short: "offline activation files: issue from a request, release by a receipt"},
			activationIssueCommand(a), activationReleaseCommand(a), activationListCommand(a)),
		cli.Group(&cobra.Command{Use: "signing-key", Short: "signing keys by kid: list, rotate"},
			signingKeyListCommand(a), signingKeyRotateCommand(a)),
		auditCommand(a),
	)
	cli.SetVersion(root, version, true)
	return root
}

func initCommand(a *app) *cobra.Command {
	var appName string
	c := &cobra.Command{Use: "init", Short: "create the signing key, admin token and store", Args: cli.ExactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			d, err := a.dir()
			if err != nil {
				return err
			}
			dir := licserver.DataDir(d)
			res, err := licserver.Init(dir, appName, time.Now(), store.Options{})
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			fmt.Fprintf(out, "initialized %s\n", d)
			fmt.Fprintf(out, "public key (pin it on hosts with --server-public-key):\n%s\n", signing.EncodePublicKey(res.PublicKey))
			fmt.Fprintf(out, "its kid for activation files: %s (hosts trust it with --vendor-key %s=<public key>)\n",
				licserver.DefaultKid(res.PublicKey), licserver.DefaultKid(res.PublicKey))
			fmt.Fprintf(out, "admin token: %s (mode 0600)\n", dir.Token())
			return nil
		}}
	c.Flags().StringVar(&appName, "app-name", licserver.DefaultAppName, "applicationName in answers")
	return c
}

func pubkeyCommand(a *app) *cobra.Command {
	var asPEM bool
	c := &cobra.Command{Use: "pubkey", Short: "print the public key to pin on hosts", Args: cli.ExactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			d, err := a.dir()
			if err != nil {
				return err
			}
			pub, err := licserver.DataDir(d).LoadPublicKey()
			if err != nil {
				return err
			}
			if !asPEM {
				fmt.Fprintln(c.OutOrStdout(), signing.EncodePublicKey(pub))
				return nil
			}
			b, err := signing.MarshalPublicKeyPEM(pub)
			if err != nil {
				return err
			}
			_, err = c.OutOrStdout().Write(b)
			return err
		}}
	c.Flags().BoolVar(&asPEM, "pem", false, "print PEM instead of base64")
	return c
}

func serveCommand(a *app) *cobra.Command {
	var cfg serveConfig
	c := &cobra.Command{Use: "serve", Short: "run the license server (default " + defaultListen + ")", Args: cli.ExactArgs()}
	settings := serveSettings(c.Flags(), &cfg)
	c.RunE = func(c *cobra.Command, _ []string) error {
		d, err := a.dir()
		if err != nil {
			return err
		}
		level, err := cfg.complete(settings, a.getenv)
		if err != nil {
			return err
		}
		return serve(c.Context(), d, cfg, level, c.ErrOrStderr())
	}
	return c
}

// serve runs the server on data directory d until ctx is done.
func serve(ctx context.Context, d string, cfg serveConfig, level slog.Level, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	dir := licserver.DataDir(d)
	keys, err := dir.LoadKeyring()
	if err != nil {
		return err
	}
	kid, priv := keys.Current()
	token, err := dir.LoadToken()
	if err != nil {
		return err
	}
	st, err := store.Open(dir.DB(), store.Options{Logger: log})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("another licensed is running on %s", d)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := licserver.NewService(licserver.Config{
		Store: st, Logger: log, SetRates: true, ChurnRate: cfg.ChurnRate, RequestRate: cfg.RequestRate,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           licserver.Handler(licserver.HandlerConfig{Service: svc, Keys: keys, AdminToken: token, Logger: log}),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	base := "http://" + dialable(ln.Addr().(*net.TCPAddr))
	if err := dir.WriteAddr(base); err != nil {
		ln.Close()
		return err
	}
	defer os.Remove(dir.Addr())
	log.Info("licensed listening", "addr", ln.Addr().String(), "url", base, "data_dir", d,
		"public_key", signing.EncodePublicKey(priv.Public().(ed25519.PublicKey)), "kid", kid, "version", version)

	gcDone := make(chan struct{})
	go func() {
		defer close(gcDone)
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				st.RunGC()
			}
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-gcDone
	return err
}

// dialable turns a listen address into one a local client can dial.
func dialable(a *net.TCPAddr) string {
	ip := a.IP
	if ip == nil || ip.IsUnspecified() {
		if ip.To4() == nil && ip != nil {
			ip = net.IPv6loopback
		} else {
			ip = net.IPv4(127, 0, 0, 1)
		}
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(a.Port))
}
