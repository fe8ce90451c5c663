package storage

import (
	"errors"
	"fmt"
	"strings"

	"github.com/licensehost/licensehost/engine"
)

// OpenError is what Open returns when the data directory cannot be used as a
// store. errors.Is matches both Kind (engine.ErrLocked, engine.ErrCorrupt or
// engine.ErrSchemaTooNew, when one applies) and the underlying error.
type OpenError struct {
	Dir  string
	Kind error  // a sentinel of package engine, or nil
	Msg  string // what went wrong, for people
	Err  error  // the underlying error, or nil
}

func (e *OpenError) Error() string {
	s := fmt.Sprintf("storage: open %s: %s", e.Dir, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if errors.Is(e.Kind, engine.ErrCorrupt) && !errors.Is(e.Err, errNotAStore) {
		s += fmt.Sprintf(" — the store is damaged: restore a backup (licensehost restore), or move %s aside to start with an empty store", e.Dir)
	}
	// One line, whatever the underlying error holds.
	return strings.Join(strings.Fields(s), " ")
}

// Unwrap returns Kind and Err, so errors.Is finds either.
func (e *OpenError) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// errNotAStore is the underlying error when a directory holds files but no
// store.
var errNotAStore = errors.New("not a licensehost store")
