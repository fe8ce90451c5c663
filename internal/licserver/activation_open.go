package licserver

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/licensehost/licensehost/internal/licserver/store"
)

// OpenAdmin returns Admin over the data directory for the CLI's admin
// commands: directly (audited as "cli") when no server holds the
// directory, else through the running server's admin API
// (DIR/licensed.addr, DIR/admin.token).
func (d DataDir) OpenAdmin() (Admin, func(), error) {
	if _, err := d.LoadPublicKey(); err != nil {
		return nil, nil, err
	}
	return openDir(d, func(s *Service) Admin { return s.AdminAs("cli") }, func(c *AdminClient) Admin { return c })
}

// OpenActivations returns the activation and signing-key operations over
// the data directory, the way OpenAdmin does, so a rotation reaches the
// server that signs.
func (d DataDir) OpenActivations() (ActivationAdmin, func(), error) {
	keys, err := d.LoadKeyring()
	if err != nil {
		return nil, nil, err
	}
	return openDir(d, func(s *Service) ActivationAdmin { return s.ActivationsAs("cli", keys) },
		func(c *AdminClient) ActivationAdmin { return c })
}

// openDir opens the store of d and gives local's view of a service over
// it; when a running server holds the store, remote's view of a client of
// that server's admin API instead. The func closes what was opened.
func openDir[T any](d DataDir, local func(*Service) T, remote func(*AdminClient) T) (T, func(), error) {
	var zero T
	st, err := store.Open(d.DB(), store.Options{})
	if err == nil {
		svc, err := NewService(Config{Store: st})
		if err != nil {
			st.Close()
			return zero, nil, err
		}
		return local(svc), func() { st.Close() }, nil
	}
	if !errors.Is(err, store.ErrLocked) {
		return zero, nil, err
	}
	addr, rerr := os.ReadFile(d.Addr())
	if rerr != nil {
		return zero, nil, fmt.Errorf("%s is in use but %s is missing: is a licensed server running?", string(d), d.Addr())
	}
	token, err := d.LoadToken()
	if err != nil {
		return zero, nil, err
	}
	return remote(&AdminClient{BaseURL: strings.TrimSpace(string(addr)), Token: token}), func() {}, nil
}
