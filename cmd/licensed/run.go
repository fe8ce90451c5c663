package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/licensehost/licensehost/internal/licserver"
	"github.com/licensehost/licensehost/internal/licserver/store"
	"github.com/licensehost/licensehost/internal/signing"
)

// Defaults.
const (
	defaultListen = "127.0.0.1:7480"
	envDataDir    = "LICENSED_DATA_DIR"
	envListen     = "LICENSED_LISTEN"
)

const usage = `usage: licensed COMMAND [flags]

  init      [--app-name NAME]                create keys, admin token and store
  serve     [--listen ADDR]                  run the server (default ` + defaultListen + `)
  pubkey    [--pem]                          print the public key to pin on hosts
  key issue --type T [--max-devices N] [--max-uses N] [--field1 S] [--field2 S]
            [--field3 S] [--expires WHEN] [--note S] [--json]
  key list  [--status S] [--type T] [--json]
  key show|suspend|resume|revoke KEY [--json]
  key unbind KEY MACHINE_ID
  type add  NAME [--display NAME] [--max-devices N] [--max-uses N]
            [--field1 S] [--field2 S] [--field3 S] [--validity 365d]
  type list [--json]
  audit     [--limit N] [--key KEY] [--json]
  version

Every command takes --data-dir DIR (default $` + envDataDir + `, else
~/.local/share/licensed). Admin commands open the data directory directly, or
use the admin API of the server that holds it.
`

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// Run runs licensed with args (without the program name) and returns the
// exit status: 0 ok, 1 failure, 2 bad command line.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := run(ctx, args, stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "licensed: %s (see 'licensed help')\n", ue.msg)
		return 2
	default:
		fmt.Fprintf(stderr, "licensed: %v\n", err)
		return 1
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("no command")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		return flag.ErrHelp
	case "version", "--version":
		fmt.Fprintln(stdout, "licensed", version)
		return nil
	case "init":
		return cmdInit(rest, stdout)
	case "serve":
		return cmdServe(ctx, rest, stderr)
	case "pubkey":
		return cmdPubkey(rest, stdout)
	case "key", "type":
		if len(rest) == 0 {
			return usagef("%s: missing subcommand", cmd)
		}
		return cmdAdmin(ctx, cmd+" "+rest[0], rest[1:], stdout, stderr)
	case "audit":
		return cmdAdmin(ctx, "audit", rest, stdout, stderr)
	}
	return usagef("unknown command %q", cmd)
}

// flags is a flag set that reports errors as usageErrors and allows flags
// after positional arguments.
type flags struct {
	*flag.FlagSet
	name    string
	dataDir *string
}

func newFlags(name string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := &flags{FlagSet: fs, name: name}
	f.dataDir = fs.String("data-dir", defaultDataDir(), "data directory")
	return f
}

func defaultDataDir() string {
	if d := os.Getenv(envDataDir); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "licensed")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "licensed")
	}
	return "licensed-data"
}

// parse parses args and returns the positional arguments; want is their
// exact count (-1: any).
func (f *flags) parse(args []string, want int) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%s: %v", f.name, err)
		}
		args = f.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if want >= 0 && len(pos) != want {
		if want == 0 {
			return nil, usagef("%s: unexpected argument %q", f.name, pos[0])
		}
		return nil, usagef("%s: want %d argument(s), got %d", f.name, want, len(pos))
	}
	if *f.dataDir == "" {
		return nil, usagef("%s: --data-dir must not be empty", f.name)
	}
	return pos, nil
}

func (f *flags) isSet(name string) bool {
	set := false
	f.Visit(func(fl *flag.Flag) {
		if fl.Name == name {
			set = true
		}
	})
	return set
}

func cmdInit(args []string, stdout io.Writer) error {
	f := newFlags("init")
	app := f.String("app-name", licserver.DefaultAppName, "applicationName in answers")
	if _, err := f.parse(args, 0); err != nil {
		return err
	}
	dir := licserver.DataDir(*f.dataDir)
	res, err := licserver.Init(dir, *app, time.Now(), store.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "initialized %s\n", *f.dataDir)
	fmt.Fprintf(stdout, "public key (pin it on hosts with --server-public-key):\n%s\n", signing.EncodePublicKey(res.PublicKey))
	fmt.Fprintf(stdout, "admin token: %s (mode 0600)\n", dir.Token())
	return nil
}

func cmdPubkey(args []string, stdout io.Writer) error {
	f := newFlags("pubkey")
	asPEM := f.Bool("pem", false, "print PEM instead of base64")
	if _, err := f.parse(args, 0); err != nil {
		return err
	}
	pub, err := licserver.DataDir(*f.dataDir).LoadPublicKey()
	if err != nil {
		return err
	}
	if *asPEM {
		b, err := signing.MarshalPublicKeyPEM(pub)
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	}
	fmt.Fprintln(stdout, signing.EncodePublicKey(pub))
	return nil
}

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	f := newFlags("serve")
	listenDefault := defaultListen
	if v := os.Getenv(envListen); v != "" {
		listenDefault = v
	}
	listen := f.String("listen", listenDefault, "address to listen on")
	logLevel := f.String("log-level", "info", "debug|info|warn|error")
	churnBurst := f.Int("churn-burst", licserver.DefaultChurnRate.Burst, "new device bindings and switches per key, burst (0 = unlimited)")
	churnEvery := f.Duration("churn-every", licserver.DefaultChurnRate.Every, "one churn token per this duration")
	reqBurst := f.Int("request-burst", licserver.DefaultRequestRate.Burst, "client requests per key, burst (0 = unlimited)")
	reqEvery := f.Duration("request-every", licserver.DefaultRequestRate.Every, "one request token per this duration")
	if _, err := f.parse(args, 0); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usagef("serve: bad --log-level %q", *logLevel)
	}
	if *churnBurst < 0 || *reqBurst < 0 || *churnEvery <= 0 || *reqEvery <= 0 {
		return usagef("serve: rate flags must be positive")
	}
	if _, _, err := net.SplitHostPort(*listen); err != nil {
		return usagef("serve: bad --listen %q: %v", *listen, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	dir := licserver.DataDir(*f.dataDir)
	priv, err := dir.LoadPrivateKey()
	if err != nil {
		return err
	}
	token, err := dir.LoadToken()
	if err != nil {
		return err
	}
	st, err := store.Open(dir.DB(), store.Options{Logger: log})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("another licensed is running on %s", *f.dataDir)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := licserver.NewService(licserver.Config{
		Store: st, Logger: log, SetRates: true,
		ChurnRate:   licserver.Rate{Burst: *churnBurst, Every: *churnEvery},
		RequestRate: licserver.Rate{Burst: *reqBurst, Every: *reqEvery},
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           licserver.Handler(licserver.HandlerConfig{Service: svc, PrivateKey: priv, AdminToken: token, Logger: log}),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	base := "http://" + dialable(ln.Addr().(*net.TCPAddr))
	if err := os.WriteFile(dir.Addr(), []byte(base+"\n"), 0o600); err != nil {
		ln.Close()
		return err
	}
	defer os.Remove(dir.Addr())
	log.Info("licensed listening", "addr", ln.Addr().String(), "url", base, "data_dir", *f.dataDir,
		"public_key", signing.EncodePublicKey(priv.Public().(ed25519.PublicKey)), "version", version)

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
