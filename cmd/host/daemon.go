package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/fingerprint"
	"github.com/licensehost/licensehost/internal/activation"
	"github.com/licensehost/licensehost/internal/cli"
	"github.com/licensehost/licensehost/internal/hostdir"
	"github.com/licensehost/licensehost/internal/remote"
	"github.com/licensehost/licensehost/internal/server"
	"github.com/licensehost/licensehost/internal/signing"
	"github.com/licensehost/licensehost/internal/web"
	"github.com/licensehost/licensehost/storage"
)

// systemClock is the daemon's engine.Clock.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	lvl, _ := parseLevel(level)
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// ensureToken reads the token file at path, creating it on first start;
// groupRead: a file its group may read (0640; --app-token-group-read).
func ensureToken(path string, groupRead bool, log *slog.Logger) (token string, created bool, err error) {
	ensure, fix := hostdir.EnsureToken, "chmod 600"
	if groupRead {
		ensure, fix = hostdir.EnsureGroupToken, "chmod 640"
	}
	tok, created, insecure, err := ensure(path)
	if insecure {
		log.Warn("token file is readable by other users; run "+fix+" on it", "file", path)
	}
	return tok, created, err
}

// daemon is the running host.
type daemon struct {
	cfg     daemonConfig
	log     *slog.Logger
	store   *storage.Store
	eng     *engine.Engine
	srv     *http.Server
	ln      net.Listener
	ready   atomic.Bool
	metrics *server.Metrics
	pol     *policyHost
	act     *activation.Manager
	// startupVerify is decided on the record as it is at start, before the
	// first request is served: a request (an activation) must not change it.
	startupVerify    bool
	startupVerifyErr error
}

// startDaemon opens everything and starts listening; it does not block.
func startDaemon(cfg daemonConfig, stdout io.Writer, log *slog.Logger) (*daemon, error) {
	d := &daemon{cfg: cfg, log: log}
	report, err := fingerprint.Compute(fingerprint.Options{Override: cfg.MachineID})
	if err != nil {
		return nil, fmt.Errorf("machine code: %w", err)
	}
	if report.Override {
		log.Warn("machine code is pinned, not computed", "code", report.Code, "by", report.OverrideSource, "computed", report.Computed)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	store, err := storage.Open(filepath.Join(cfg.DataDir, "db"), storage.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	d.store = store
	ok := false
	defer func() {
		if !ok {
			d.closeAll()
		}
	}()

	rcfg := remote.Config{BaseURL: cfg.LicenseServer, TotalTimeout: cfg.RemoteTimeout, Logger: log, UserAgent: "licensehost/" + version}
	var proofs engine.ProofChecker
	if cfg.ServerPublicKey != "" {
		pub, err := signing.ParsePublicKey(cfg.ServerPublicKey)
		if err != nil {
			return nil, cli.Usagef("--server-public-key: %v", err)
		}
		v, err := signing.NewVerifier(signing.VerifierConfig{PublicKeys: []ed25519Key{pub}})
		if err != nil {
			return nil, err
		}
		rcfg.Verifier = v
		proofs = remote.ProofChecker{Keys: []ed25519Key{pub}}
		log.Info("license server answers must be signed", "key", signing.Fingerprint(pub))
	}
	rc, err := remote.New(rcfg)
	if err != nil {
		return nil, cli.Usagef("--license-server: %v", err)
	}

	d.metrics = server.NewMetrics()
	d.pol, err = newPolicyHost(cfg.PolicyDir, cfg.DataDir, log, d.metrics)
	if err != nil {
		return nil, err
	}
	var prod engine.Product
	if cfg.Product != nil {
		prod = cfg.Product.Product
	}
	notes := trustNotes(cfg.LicenseServer, cfg.ServerPublicKey)
	for _, n := range notes {
		log.Warn(n)
	}
	sealKey, sealNew, err := loadSealKey(cfg.DataDir, log)
	if err != nil {
		return nil, err
	}
	d.eng, err = engine.New(engine.Options{
		Store: store, Remote: rc, Clock: daemonClock, Policy: d.pol.policy(), Config: cfg.Engine,
		MachineID: report.Code, Signals: report.SignalMap(), Logger: log, Observer: d.metrics,
		Product: prod,
		OpWait:  opWait(cfg.RemoteTimeout),
		SealKey: sealKey, SealKeyNew: sealNew, Proofs: proofs,
	})
	if err != nil {
		return nil, err
	}
	if _, err := d.eng.CheckIntegrity(context.Background()); err != nil {
		return nil, fmt.Errorf("checking the license record: %w", err)
	}
	// The pre-authorization starts at the first start with the product.
	if err := d.eng.StartFeatures(context.Background()); err != nil {
		return nil, fmt.Errorf("feature licensing state: %w", err)
	}
	if cfg.Product != nil {
		log.Info("feature licensing", "product", prod.Name, "file", cfg.Product.Path, "features", len(prod.Features))
	}

	if err := d.startActivations(cfg, report, log); err != nil {
		return nil, err
	}

	admin, created, err := ensureToken(cfg.TokenFile, false, log)
	if err != nil {
		return nil, fmt.Errorf("admin token %s: %w", cfg.TokenFile, err)
	}
	var app string
	if cfg.AppTokenFile != "" {
		if app, _, err = ensureToken(cfg.AppTokenFile, cfg.AppTokenGroupRead, log); err != nil {
			return nil, fmt.Errorf("app token %s: %w", cfg.AppTokenFile, err)
		}
	}
	var page http.Handler
	if !cfg.NoWeb {
		if page, err = web.New(web.Options{LicenseURL: cfg.LicenseURL}); err != nil {
			return nil, err
		}
	}
	api, err := server.New(d.eng, server.Options{
		AdminToken: admin, AppToken: app, Logger: log, Metrics: d.metrics, Activations: d.act, Backup: d.backup,
		Policies: d.pol.info(), Ready: d.ready.Load, Page: page, Notes: notes,
	})
	if err != nil {
		return nil, err
	}
	d.ln, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	d.srv = &http.Server{
		Handler: api, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: writeTimeout(cfg.RemoteTimeout), IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	d.startupVerify, d.startupVerifyErr = d.eng.NeedsStartupVerify(context.Background())
	go func() {
		if err := d.srv.Serve(d.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	ok = true
	d.ready.Store(true)

	fmt.Fprintf(stdout, "licensehost %s listening on http://%s\n", version, d.ln.Addr())
	if page != nil {
		fmt.Fprintf(stdout, "admin page: http://%s/ (sign in with the admin token)\n", d.ln.Addr())
	}
	fmt.Fprintf(stdout, "machine code: %s\n", report.Code)
	if created {
		fmt.Fprintf(stdout, "admin token file (created, mode 0600): %s\n", cfg.TokenFile)
	} else {
		fmt.Fprintf(stdout, "admin token file: %s\n", cfg.TokenFile)
	}
	fmt.Fprintf(stdout, "data directory: %s\n", cfg.DataDir)
	log.Info("started", "listen", d.ln.Addr().String(), "machineId", report.Code, "licenseServer", cfg.LicenseServer, "policy", d.pol.describe())
	return d, nil
}

// background runs the startup verification, the daily heartbeat, the clock
// tick and SIGHUP policy reloads until ctx is done.
func (d *daemon) background(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(3)
	go func() {
		defer wg.Done()
		need, err := d.startupVerify, d.startupVerifyErr
		if err != nil {
			d.log.Warn("startup verification check failed", "err", err)
			return
		}
		if need {
			res, err := d.eng.Heartbeat(ctx)
			switch {
			case err != nil:
				d.log.Warn("startup verification failed", "err", err)
			case res.Success:
				d.log.Info("startup verification ok", "status", res.Evaluation.Status)
			default:
				d.log.Warn("startup verification failed; grace rules apply", "status", res.Evaluation.Status, "message", res.Message)
			}
		}
	}()
	go func() {
		defer wg.Done()
		_ = d.eng.RunHeartbeats(ctx, engine.SchedulerOptions{})
	}()
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := d.eng.Tick(ctx); err != nil && ctx.Err() == nil {
					d.log.Warn("clock tick failed", "err", err)
				}
			case <-hup:
				if d.pol.info() == nil {
					d.log.Info("SIGHUP: no policy directory configured; nothing to reload")
					continue
				}
				if err := d.pol.info().Reload(ctx); err != nil {
					d.log.Error("SIGHUP: policy reload refused; previous policies stay in force", "err", err)
				} else {
					d.log.Info("SIGHUP: policies reloaded", "policy", d.pol.describe())
				}
			}
		}
	}()
}

// shutdown stops accepting, finishes in-flight requests, then closes the
// policies and the store.
func (d *daemon) shutdown(ctx context.Context) error {
	d.ready.Store(false)
	var errs []error
	if d.srv != nil {
		if err := d.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	// Closing the store flushes its memtable, which Badger retries for
	// ever when it cannot write (a full disk, a data directory removed
	// under it): give up when ctx ends instead of hanging. Nothing
	// acknowledged is lost: every commit was synced to the store's log,
	// which the next start replays.
	closed := make(chan error, 1)
	go func() { closed <- d.closeAll() }()
	select {
	case err := <-closed:
		errs = append(errs, err)
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("closing the store did not finish in time (%w); exiting without it: every acknowledged write was synced to the store's log, which the next start replays", context.Cause(ctx)))
	}
	return errors.Join(errs...)
}

func (d *daemon) closeAll() error {
	var errs []error
	if d.pol != nil {
		errs = append(errs, d.pol.close(context.Background()))
	}
	if d.store != nil {
		errs = append(errs, d.store.Close())
		d.store = nil
	}
	return errors.Join(errs...)
}

// runDaemon runs until the first SIGINT/SIGTERM (or until ctx is done),
// shuts down gracefully, and exits at once on a second signal.
func runDaemon(ctx context.Context, cfg daemonConfig, stdout, stderr io.Writer) error {
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	d, err := startDaemon(cfg, stdout, log)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	d.background(ctx, &wg)
	setGCTargets()
	go returnMemoryWhenIdle(ctx)

	select {
	case sig := <-sigs:
		log.Info("shutting down", "signal", sig.String())
	case <-ctx.Done():
		log.Info("shutting down", "reason", context.Cause(ctx).Error())
	}
	go func() {
		sig := <-sigs
		log.Error("second signal: exiting now", "signal", sig.String())
		os.Exit(1)
	}()
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer scancel()
	wg.Wait()
	err = d.shutdown(sctx)
	if err == nil {
		log.Info("stopped")
	}
	return err
}
