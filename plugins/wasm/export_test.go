package wasm

// WithWazeroTimeout returns c with wazero's own timeout mechanism
// (WithCloseOnContextDone and a context.WithTimeout per call) in place of
// fuel metering, for benchmarks that compare the two.
func WithWazeroTimeout(c Config) Config {
	c.wazeroTimeout = true
	return c
}

// Meter exposes the module rewriter to tests.
var Meter = meter
