package store

import "errors"

var (
	// ErrNotFound: no such license, type or metadata key.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: Create* found the name or key already taken.
	ErrExists = errors.New("store: already exists")
	// ErrLocked: the data directory is held by another process (a running
	// server); use its admin API instead.
	ErrLocked = errors.New("store: data directory is in use by another process")
)
