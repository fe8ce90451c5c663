package wasm

// WithPerCallContext returns c with the timeout sandbox using a
// context.WithTimeout per call, the straightforward alternative to the
// instance's reusable timer context, for benchmarks.
func WithPerCallContext(c Config) Config {
	c.perCallContext = true
	return c
}
