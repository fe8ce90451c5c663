package activation

import "errors"

// Refusals of the host's activation operations, each with its own plain
// message (docs/activation-files.md, "Installing"). File-format and
// signature refusals are internal/actfile's sentinels, returned wrapped.
var (
	// ErrWrongMachine: the file is bound to another machine code or
	// installation key.
	ErrWrongMachine = errors.New("this activation file is for another machine")
	// ErrAlreadyUninstalled: the serial was uninstalled here; it can never
	// be installed here again.
	ErrAlreadyUninstalled = errors.New("this activation file was uninstalled here and can never be installed again")
	// ErrExpired: the license in the file has expired.
	ErrExpired = errors.New("this activation file has expired")
	// ErrIssuedInFuture: the file's issue time is later than this
	// machine's time (beyond the tolerance): the clock is wrong.
	ErrIssuedInFuture = errors.New("this activation file was issued in the future: check this machine's clock")
	// ErrNotInstalled: no installed file with that serial.
	ErrNotInstalled = errors.New("no activation file with that serial is installed")
	// ErrNotUninstallable: a temporary license, or a formal one its vendor
	// did not make uninstallable.
	ErrNotUninstallable = errors.New("this license cannot be uninstalled")
	// ErrUninstallExpired: an expired license cannot be uninstalled, only
	// deleted.
	ErrUninstallExpired = errors.New("this license has expired: it cannot be uninstalled, only deleted")
	// ErrInForce: only expired (or no longer trusted) files can be deleted.
	ErrInForce = errors.New("this license is in force: only expired or untrusted files can be deleted (uninstall it instead, if it is uninstallable)")
	// ErrInvalidSerial: a serial that cannot exist.
	ErrInvalidSerial = errors.New("invalid serial")
)
