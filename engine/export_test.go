package engine

// CloneRecord exposes Record.clone to the external tests (recordcache_test.go).
func CloneRecord(r Record) Record { return r.clone() }
