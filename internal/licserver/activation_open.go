package licserver

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/licensehost/licensehost/internal/licserver/store"
)

// OpenActivations returns the activation and signing-key operations over
// the data directory, as the CLI's other admin commands work: directly
// (audited as "cli") when no server holds the directory, else through the
// running server's admin API (DIR/licensed.addr, DIR/admin.token), so a
// rotation reaches the server that signs.
func (d DataDir) OpenActivations() (ActivationAdmin, func(), error) {
	keys, err := d.LoadKeyring()
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(d.DB(), store.Options{})
	if err == nil {
		svc, err := NewService(Config{Store: st})
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		return svc.ActivationsAs("cli", keys), func() { st.Close() }, nil
	}
	if !errors.Is(err, store.ErrLocked) {
		return nil, nil, err
	}
	addr, rerr := os.ReadFile(d.Addr())
	if rerr != nil {
		return nil, nil, fmt.Errorf("%s is in use but %s is missing: is a licensed server running?", string(d), d.Addr())
	}
	token, err := d.LoadToken()
	if err != nil {
		return nil, nil, err
	}
	return &AdminClient{BaseURL: strings.TrimSpace(string(addr)), Token: token}, func() {}, nil
}
