package server

import "time"

// SetSessionClock replaces the session table's clock (tests of expiry).
func SetSessionClock(s *Server, now func() time.Time) {
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	s.sessions.now = now
}

// SessionCount is the number of sessions in the table.
func SessionCount(s *Server) int {
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	return len(s.sessions.m)
}
