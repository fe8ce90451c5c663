package hostclient

import "github.com/licensehost/licensehost/internal/hostdir"

// ReadTokenFile reads a bearer token from path, trimming surrounding white
// space. An empty file gives ErrEmptyToken. When the file is readable by its
// group or others (Unix), the token is returned together with an error
// matching ErrTokenFileInsecure: callers may warn and go on, or refuse.
func ReadTokenFile(path string) (string, error) { return hostdir.ReadToken(path) }

// DefaultDataDir is the daemon's default data directory:
// $XDG_DATA_HOME/licensehost, else ~/.local/share/licensehost.
func DefaultDataDir() (string, error) { return hostdir.Default() }

// DefaultTokenFile is the admin token file in the default data directory.
func DefaultTokenFile() (string, error) {
	d, err := hostdir.Default()
	if err != nil {
		return "", err
	}
	return hostdir.TokenFile(d), nil
}
