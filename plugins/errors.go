package plugins

import "errors"

// ErrManifest wraps every problem with the manifest's content.
var ErrManifest = errors.New("invalid policy manifest")

// ModuleError is a module that could not be loaded.
type ModuleError struct {
	Module string // the manifest's name for it
	Path   string
	Err    error
}

func (e *ModuleError) Error() string {
	return "policy module " + e.Module + " (" + e.Path + "): " + e.Err.Error()
}

func (e *ModuleError) Unwrap() error { return e.Err }
