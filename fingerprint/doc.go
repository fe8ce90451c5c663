// Package fingerprint computes the host's machine code (docs/fingerprint.md).
//
// The algorithm is the seed's, kept exactly so that any language can
// reproduce it: collect signals into a map of string to string, serialise the
// map as a JSON object with its keys sorted, hash the JSON with SHA-256, take
// the first 16 lowercase hex characters and prefix "server_". [CodeFor] is that
// algorithm on its own; [Compute] collects the signals of this machine first.
//
// Which signals count depends on where the host runs. On a plain host: OS
// platform, architecture, CPU count and model, total memory in whole GiB,
// kernel major.minor, hostname, the container and virtualisation markers and
// the physical network interfaces. In a container only the signals every
// container on the same host shares: platform, architecture, CPU count and
// model, memory, kernel major.minor and — when it is bind-mounted from the
// host — the host's machine id. docs/fingerprint.md has the full table.
//
// Every input can be replaced through [Source] (the file tree standing for /,
// the environment, the hostname and the interface list), so tests run against
// fake /proc, /sys and /etc trees under testdata/. The package keeps no global
// state and never reads the clock.
package fingerprint
