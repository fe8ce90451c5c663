# licensehost — build, test, check, bench, run.
# Non-UI packages build and test with CGO_ENABLED=0; only ui/ and cmd/tray need cgo.

GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
# Packages that need cgo (Fyne). Everything else is tested with CGO_ENABLED=0.
UI_PKGS    = ./ui/... ./cmd/tray/...
NOUI_PKGS  = $(shell CGO_ENABLED=0 $(GO) list -e ./... 2>/dev/null | grep -v -e '/ui' -e '/cmd/tray')
# Debian packages a fresh machine lacks: X/GL headers for Fyne (cgo), Xvfb and
# D-Bus for the tray's end-to-end test, wabt for the hand-written WAT policy,
# imagemagick for make screenshots, a CJK font for the tray's Chinese UI,
# systemd (systemd-analyze, systemd-sysusers), desktop-file-utils and rpm for make test-package.
# chromium for the web admin page's browser tests (internal/web, chromedp).
# nodejs for the Node example (cmd/host TestNodeExample) and, with python3 and
# python3-cryptography, the activation-file snippets (internal/actfile); with CI set they fail if missing.
DEB_PKGS   = gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev \
             libxinerama-dev libxi-dev libxxf86vm-dev xvfb xauth dbus dbus-x11 wabt imagemagick \
             fonts-wqy-microhei systemd desktop-file-utils rpm chromium nodejs python3 python3-cryptography
BENCHTIME ?= 1s

.PHONY: all deps build test test-noui check fmt vet tidy bench run clean

all: build

## deps: install the Debian packages a fresh machine lacks (non-interactive), saying what it installs.
deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing Debian packages:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all Debian packages present"; fi

## build: the host daemon/CLI (no cgo).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/licensehost ./cmd/host

## run: run the host on its embedded defaults.
run: build
	./$(BIN)/licensehost

## test: every test, from a fresh machine.
test: deps test-noui test-ui

test-noui:
	CGO_ENABLED=0 $(GO) test -count=1 -timeout 15m $(NOUI_PKGS)
	cd sdk && CGO_ENABLED=0 $(GO) test -count=1 -timeout 5m ./...

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet: deps
	CGO_ENABLED=0 $(GO) vet $(NOUI_PKGS)
	cd sdk && CGO_ENABLED=0 $(GO) vet ./...
	$(GO) vet $(UI_PKGS)

tidy:
	$(GO) mod tidy
	@git diff --exit-code -- go.mod go.sum || { echo "go mod tidy changed go.mod/go.sum: commit the result"; exit 1; }

## check: gofmt, go vet, go mod tidy with no diff, then the tests.
check: fmt vet tidy test

## bench: the benchmarks recorded in docs/benchmarks.md.
bench:
	CGO_ENABLED=0 $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(NOUI_PKGS)

clean:
	rm -rf $(BIN)

# ---- licensed: the on-prem license server (issue 6; docs/licensed.md) ----
.PHONY: licensed demo bench-licensed

## licensed: the on-prem license server and its admin CLI (no cgo).
licensed:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/licensed ./cmd/licensed

## demo: start licensed and the host, issue a demo key, activate it, show status.
demo: build licensed
	BIN=$(BIN) ./scripts/demo.sh

## bench-licensed: verify req/s on loopback (docs/benchmarks-licensed.md).
bench-licensed:
	CGO_ENABLED=0 $(GO) test -run '^$$' -bench BenchmarkVerify -benchmem -benchtime 3s ./internal/licserver/

## policies: build the example policy modules and the wasm test fixtures
## (plugins/wasm/testdata; committed, see the README there). Needs wat2wasm (make deps).
POLICY_FIXTURES = plugins/wasm/testdata
.PHONY: policies
policies:
	cd sdk && for ex in builtin tiered grace; do \
		GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -buildvcs=false \
			-o ../$(POLICY_FIXTURES)/$$ex.wasm ./examples/$$ex || exit 1; done
	rm -f $(POLICY_FIXTURES)/grace.wasm
	wat2wasm sdk/examples/wat/policy.wat -o $(POLICY_FIXTURES)/wat.wasm
	$(POLICY_FIXTURES)/bigfunc.sh
	$(POLICY_FIXTURES)/hostcalls.sh
	for f in $(POLICY_FIXTURES)/*.wat; do wat2wasm --debug-names $$f -o $${f%.wat}.wasm || exit 1; done
	cd $(POLICY_FIXTURES) && $(GO) run ./encodings
	cd $(POLICY_FIXTURES) && sha256sum *.wasm > SHA256SUMS

## bench-http: wrk against bin/licensehost and a bare net/http JSON handler (bin/barejson),
## same machine, same run (docs/benchmarks.md). Installs wrk (Debian) if it is missing.
.PHONY: bench-http
bench-http: build
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/barejson ./scripts/barejson
	@command -v wrk >/dev/null || { echo "bench-http: installing the Debian package wrk"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk; }
	BIN=$(BIN) ./scripts/bench-http.sh

# ---- tray: the Fyne tray app and its views (issue 5; docs/tray.md) ----
.PHONY: tray test-ui screenshots screenshots-web bench-tray

## tray: the tray app (cgo: Fyne; the first build of go-gl takes 3-4 minutes, then the cache serves).
tray:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/licensehost-tray ./cmd/tray

## test-ui: ui/ headless widget tests (CGO_ENABLED=0), then cmd/tray's tests with the
## end-to-end tray test under Xvfb and a D-Bus session (needs make deps).
test-ui:
	CGO_ENABLED=0 $(GO) test -count=1 -timeout 10m ./ui/...
	LICENSEHOST_TRAY_E2E=1 xvfb-run -a -s '-screen 0 1280x800x24' dbus-run-session -- \
		$(GO) test -count=1 -timeout 10m ./cmd/tray/...

## screenshots: docs/img/tray-*.png from the real tray against the real host and licensed, under Xvfb,
## and docs/img/web-*.png (screenshots-web).
screenshots: build licensed tray screenshots-web
	BIN=$(BIN) xvfb-run -a -s '-screen 0 1280x800x24' dbus-run-session -- ./cmd/tray/screenshots.sh

## screenshots-web: docs/img/web-*.png from the web admin page in headless Chromium against the real host.
screenshots-web: deps
	LICENSEHOST_WEB_SHOTS=$(CURDIR)/docs/img CGO_ENABLED=0 $(GO) test -count=1 -run '^TestScreenshots$$' -v ./internal/web/

## bench-tray: the tray's idle RSS under Xvfb (docs/benchmarks-tray.md).
bench-tray:
	LICENSEHOST_TRAY_RSS=1 xvfb-run -a -s '-screen 0 1280x800x24' dbus-run-session -- \
		$(GO) test -count=1 -run TrayIdleRSS -v -timeout 10m ./cmd/tray/

# ---- packaging: .deb/.rpm packages, systemd units, install (issue 16; docs/install.md) ----
.PHONY: package package-noui package-tray test-package install install-tray

NFPM_VERSION = v2.45.2
NFPM         = $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)
DIST        ?= dist
# PKG_VERSION and PKG_ARCH are computed once, on first use.
PKG_VERSION ?= $(eval PKG_VERSION := $$(shell ./packaging/version.sh))$(PKG_VERSION)
PKG_ARCH    ?= $(eval PKG_ARCH := $$(shell $(GO) env GOARCH))$(PKG_ARCH)
PKG_FORMATS ?= deb rpm
# The nfpm configurations take the binaries from dist/stage (a fixed path).
PKG_STAGE    = dist/stage
PKG_LDFLAGS  = -s -w -X main.version=$(PKG_VERSION)
PKG_ENV      = PKG_VERSION=$(PKG_VERSION) PKG_ARCH=$(PKG_ARCH)
# nfpm_pkg,NAME: build the NAME package in every PKG_FORMATS format into DIST.
nfpm_pkg = for f in $(PKG_FORMATS); do $(PKG_ENV) $(NFPM) package --config packaging/nfpm/$(1).yaml \
	--packager $$f --target $(DIST)/ || exit 1; done

## package: dist/*.deb and *.rpm for licensehost, licensed and licensehost-tray, version from git.
package: package-noui package-tray

## package-noui: the licensehost and licensed packages (no cgo).
package-noui:
	@mkdir -p $(PKG_STAGE)
	CGO_ENABLED=0 GOARCH=$(PKG_ARCH) $(GO) build -trimpath -ldflags '$(PKG_LDFLAGS)' -o $(PKG_STAGE)/licensehost ./cmd/host
	CGO_ENABLED=0 GOARCH=$(PKG_ARCH) $(GO) build -trimpath -ldflags '$(PKG_LDFLAGS)' -o $(PKG_STAGE)/licensed ./cmd/licensed
	rm -f $(DIST)/licensehost_* $(DIST)/licensehost-[0-9]* $(DIST)/licensed[_-]*
	$(call nfpm_pkg,licensehost)
	$(call nfpm_pkg,licensed)

## package-tray: the licensehost-tray package (cgo: Fyne; needs make deps).
package-tray:
	@mkdir -p $(PKG_STAGE)
	$(GO) build -trimpath -ldflags '$(PKG_LDFLAGS)' -o $(PKG_STAGE)/licensehost-tray ./cmd/tray
	rm -f $(DIST)/licensehost-tray[_-]*
	$(call nfpm_pkg,licensehost-tray)

## test-package: build the packages, install them into a scratch root and check them
## (packaging/install_test.go). PACKAGE_TRAY=0 leaves the tray package out.
PACKAGE_TRAY ?= 1
test-package: package-noui $(if $(filter 1,$(PACKAGE_TRAY)),package-tray)
	LICENSEHOST_PACKAGE_DIR=$(abspath $(DIST)) LICENSEHOST_PACKAGE_TRAY=$(PACKAGE_TRAY) LICENSEHOST_PACKAGE_VERSION=$(PKG_VERSION) \
		CGO_ENABLED=0 $(GO) test -count=1 -timeout 10m -v ./packaging/

## install: install licensehost and licensed, their units and sysusers files from source
## (PREFIX=/usr/local, DESTDIR for staging). install-tray: the tray and its desktop entries.
PREFIX  ?= /usr/local
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR  ?= /etc
install: build licensed
	install -D -m 0755 $(BIN)/licensehost $(DESTDIR)$(PREFIX)/bin/licensehost
	install -D -m 0755 $(BIN)/licensed $(DESTDIR)$(PREFIX)/bin/licensed
	install -d $(DESTDIR)$(UNITDIR)
	for u in licensehost licensed; do \
		sed -e 's|/usr/bin/|$(PREFIX)/bin/|g' -e 's|/etc/|$(SYSCONFDIR)/|g' packaging/systemd/$$u.service \
			> $(DESTDIR)$(UNITDIR)/$$u.service && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.service && \
		install -D -m 0644 packaging/sysusers/$$u.conf $(DESTDIR)$(SYSUSERSDIR)/$$u.conf && \
		{ [ -e $(DESTDIR)$(SYSCONFDIR)/default/$$u ] || install -D -m 0644 packaging/default/$$u $(DESTDIR)$(SYSCONFDIR)/default/$$u; } || exit 1; \
	done
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/licensehost/policies
	[ -e $(DESTDIR)$(SYSCONFDIR)/licensehost/policies/policies.json ] || \
		install -m 0644 packaging/policies/policies.json $(DESTDIR)$(SYSCONFDIR)/licensehost/policies/policies.json
	@echo "installed; now: systemd-sysusers && systemctl daemon-reload && systemctl enable --now licensehost (docs/install.md)"

install-tray: tray
	install -D -m 0755 $(BIN)/licensehost-tray $(DESTDIR)$(PREFIX)/bin/licensehost-tray
	install -D -m 0644 packaging/desktop/io.licensehost.tray.desktop $(DESTDIR)$(PREFIX)/share/applications/io.licensehost.tray.desktop
	install -D -m 0644 cmd/tray/Icon.png $(DESTDIR)$(PREFIX)/share/icons/hicolor/256x256/apps/io.licensehost.tray.png
	install -D -m 0644 packaging/desktop/io.licensehost.tray-autostart.desktop $(DESTDIR)$(SYSCONFDIR)/xdg/autostart/io.licensehost.tray.desktop

# ---- reliability: the figures of docs/reliability.md (issue 12) ----
.PHONY: reliability torture fault-matrix bad-input forged-server damage-matrix bench-rss
# Each target runs one reliability run of cmd/host (the real binary) or storage
# and prints its RELIABILITY/DAMAGE lines; a run that finds a loss fails.
TORTURE_ROUNDS ?= 200
# run PATTERN PKG LINES: go test -v, keep the figure lines, keep go test's exit status.
define reliability_run
	@out=$$(mktemp); CGO_ENABLED=0 $(GO) test -count=1 -v -timeout 60m -run '$(1)' $(2) > $$out 2>&1; rc=$$?; \
	grep -E '^($(3)|--- FAIL|FAIL|ok|panic)' $$out; [ $$rc = 0 ] || tail -40 $$out; rm -f $$out; exit $$rc
endef

## torture: kill -9 at random moments while consuming and activating, TORTURE_ROUNDS rounds (200).
torture: export LICENSEHOST_RELIABILITY = torture
torture: export LICENSEHOST_TORTURE_ROUNDS = $(TORTURE_ROUNDS)
torture:
	$(call reliability_run,^TestReliabilityTorture$$,./cmd/host/,RELIABILITY)

## fault-matrix: every license server failure × activate (first / second key) and heartbeat.
fault-matrix: export LICENSEHOST_RELIABILITY = fault-matrix
fault-matrix:
	$(call reliability_run,^TestReliabilityFaultMatrix$$,./cmd/host/,RELIABILITY)

## bad-input: malformed requests to every route; no 5xx, nothing stored.
bad-input: export LICENSEHOST_RELIABILITY = bad-input
bad-input:
	$(call reliability_run,^TestReliabilityBadInput$$,./cmd/host/,RELIABILITY)

## forged-server: forged, replayed, stale and key-swapped answers against a pinned key.
forged-server: export LICENSEHOST_RELIABILITY = forged-server
forged-server:
	$(call reliability_run,^TestReliabilityForgedServer$$,./cmd/host/,RELIABILITY)

## damage-matrix: every Badger file kind flipped and cut; refused, intact or warned — never a panic or a silent loss.
damage-matrix: export LICENSEHOST_DAMAGE_MATRIX = 1
damage-matrix:
	$(call reliability_run,^TestFileDamage$$,./storage/,DAMAGE)

## bench-rss: the daemon's RSS (total, anonymous, file-backed) idle, right after 20 000 durable consumes and 40 s later (BenchmarkDaemonStartAndRSS, 3 runs; docs/reliability.md#memory).
bench-rss:
	CGO_ENABLED=0 $(GO) test -run '^$$' -bench 'DaemonStartAndRSS' -benchtime 3x ./cmd/host/

## reliability: all of the above.
reliability: torture fault-matrix bad-input forged-server damage-matrix bench-rss
