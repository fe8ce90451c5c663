package licserver

import (
	"errors"
	"runtime"
)

func isErr(err, target error) bool { return errors.Is(err, target) }

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
