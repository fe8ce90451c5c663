package remote

import "errors"

// ErrInvalidConfig is wrapped by the error New returns for a bad Config.
var ErrInvalidConfig = errors.New("invalid license server client configuration")
