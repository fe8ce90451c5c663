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
# imagemagick for make screenshots, a CJK font for the tray's Chinese UI.
DEB_PKGS   = gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev \
             libxinerama-dev libxi-dev libxxf86vm-dev xvfb xauth dbus dbus-x11 wabt imagemagick \
             fonts-wqy-microhei
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
	wat2wasm sdk/examples/wat/policy.wat -o $(POLICY_FIXTURES)/wat.wasm
	for f in $(POLICY_FIXTURES)/*.wat; do wat2wasm --debug-names $$f -o $${f%.wat}.wasm || exit 1; done
	cd $(POLICY_FIXTURES) && sha256sum *.wasm > SHA256SUMS

# ---- tray: the Fyne tray app and its views (issue 5; docs/tray.md) ----
.PHONY: tray test-ui screenshots bench-tray

## tray: the tray app (cgo: Fyne; the first build of go-gl takes 3-4 minutes, then the cache serves).
tray:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/licensehost-tray ./cmd/tray

## test-ui: ui/ headless widget tests (CGO_ENABLED=0), then cmd/tray's tests with the
## end-to-end tray test under Xvfb and a D-Bus session (needs make deps).
test-ui:
	CGO_ENABLED=0 $(GO) test -count=1 -timeout 10m ./ui/...
	LICENSEHOST_TRAY_E2E=1 xvfb-run -a -s '-screen 0 1280x800x24' dbus-run-session -- \
		$(GO) test -count=1 -timeout 10m ./cmd/tray/...

## screenshots: docs/img/tray-*.png from the real tray against the real host and licensed, under Xvfb.
screenshots: build licensed tray
	BIN=$(BIN) xvfb-run -a -s '-screen 0 1280x800x24' dbus-run-session -- ./cmd/tray/screenshots.sh

## bench-tray: the tray's idle RSS under Xvfb (docs/benchmarks-tray.md).
bench-tray:
	LICENSEHOST_TRAY_RSS=1 xvfb-run -a -s '-screen 0 1280x800x24' dbus-run-session -- \
		$(GO) test -count=1 -run TrayIdleRSS -v -timeout 10m ./cmd/tray/
