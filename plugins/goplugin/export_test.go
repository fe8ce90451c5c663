package goplugin

// Pid returns the running plugin's process id, 0 when none runs.
func (p *Policy) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil || p.proc.client.ReattachConfig() == nil {
		return 0
	}
	return p.proc.client.ReattachConfig().Pid
}

// Direct reports whether the running plugin's calls go over its direct
// channel (not net/rpc).
func (p *Policy) Direct() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proc != nil && p.proc.direct != ""
}
