// Package packaging holds the package definitions of licensehost (nfpm
// configurations, systemd units, maintainer scripts, desktop entries) and
// their install test, which `make test-package` runs against the built
// .deb files. See docs/install.md. It has no Go API.
package packaging
