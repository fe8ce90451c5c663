package wasm

// WithoutChildRlimit makes compile children skip setrlimit while f runs, as
// under a seccomp filter that refuses it: the parent's RSS watch must bound
// them.
func WithoutChildRlimit(f func()) {
	childEnv = []string{envNoRlimit + "=1"}
	defer func() { childEnv = nil }()
	f()
}
