package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Key prefixes.
const (
	pLicense = "l/"
	pType    = "t/"
	pAudit   = "a/"
	pMeta    = "m/"
)

// Options configure Open. The zero value takes the defaults.
type Options struct {
	// ClientAuditRetention is how long client audit entries (verify,
	// switch) are kept; 0 means DefaultClientAuditRetention.
	ClientAuditRetention time.Duration
	// Logger receives badger's warnings and errors; nil discards them.
	Logger *slog.Logger
}

// DefaultClientAuditRetention keeps client audit entries for a year.
const DefaultClientAuditRetention = 365 * 24 * time.Hour

// maxConflictRetries bounds Update's retries on a transaction conflict.
const maxConflictRetries = 16

// Store is the Badger store. Safe for concurrent use.
type Store struct {
	db        *badger.DB
	retention time.Duration
	seq       atomic.Uint64

	mu      sync.RWMutex // guards closed against sends on writes
	closed  bool
	writes  chan writeReq
	writerW sync.WaitGroup
}

// writeReq is one Write call waiting for the group committer.
type writeReq struct {
	fn   func(tx *Tx) error
	done chan error
}

// maxGroup bounds how many Write calls share one transaction.
const maxGroup = 128

// Open opens (creating if needed) the store in dir. It returns an error
// matching ErrLocked when another process holds dir.
func Open(dir string, o Options) (*Store, error) {
	if o.ClientAuditRetention <= 0 {
		o.ClientAuditRetention = DefaultClientAuditRetention
	}
	opts := badger.DefaultOptions(dir).
		WithSyncWrites(true).
		WithNumVersionsToKeep(1).
		WithLogger(badgerLogger{o.Logger}).
		// A license server's data is small: keep the memory footprint small.
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithBlockCacheSize(16 << 20).
		WithIndexCacheSize(8 << 20).
		WithValueLogFileSize(64 << 20).
		WithNumCompactors(2)
	db, err := badger.Open(opts)
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return nil, fmt.Errorf("%w: %s: %w", ErrLocked, dir, err)
		}
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	s := &Store{db: db, retention: o.ClientAuditRetention}
	last, err := s.lastAuditSeq()
	if err != nil {
		db.Close()
		return nil, err
	}
	s.seq.Store(last)
	s.writes = make(chan writeReq, maxGroup)
	s.writerW.Add(1)
	go s.committer()
	return s, nil
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("store: closed")

// Close stops the group committer (after the writes already queued) and
// closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.writes)
	}
	s.mu.Unlock()
	s.writerW.Wait()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// RunGC runs Badger's value-log garbage collection once; call it now and
// then from a long-running server.
func (s *Store) RunGC() {
	for s.db.RunValueLogGC(0.5) == nil {
	}
}

func (s *Store) lastAuditSeq() (uint64, error) {
	var last uint64
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte(pAudit)})
		defer it.Close()
		// Seek past the largest possible audit key.
		it.Seek([]byte(pAudit + "\xff\xff\xff\xff\xff\xff\xff\xff\xff"))
		if it.ValidForPrefix([]byte(pAudit)) {
			k := it.Item().Key()
			last = binary.BigEndian.Uint64(k[len(pAudit):])
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: read audit sequence: %w", err)
	}
	return last, nil
}

// Update runs fn in a read-write transaction and commits it durably,
// retrying on a Badger transaction conflict. If fn errors nothing is
// written and the error is returned unchanged.
func (s *Store) Update(fn func(tx *Tx) error) error {
	for range maxConflictRetries {
		err := s.db.Update(func(txn *badger.Txn) error { return fn(&Tx{txn: txn, s: s}) })
		if errors.Is(err, badger.ErrConflict) {
			continue
		}
		return err
	}
	return fmt.Errorf("store: update: %w", badger.ErrConflict)
}

// Write runs fn, which must only write (PutLicense, Audit, …) and not base
// decisions on reads, in a transaction shared with concurrent Write calls:
// one durable commit (one fsync) for the whole group. It returns once the
// group is durable. If the group's commit fails, each fn is retried in a
// transaction of its own, so one bad write does not fail the others; fn may
// therefore run more than once.
func (s *Store) Write(fn func(tx *Tx) error) error {
	done := make(chan error, 1)
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	s.writes <- writeReq{fn: fn, done: done}
	s.mu.RUnlock()
	return <-done
}

// committer commits queued writes in groups: whatever queued up while the
// previous group was being committed goes into the next transaction.
func (s *Store) committer() {
	defer s.writerW.Done()
	group := make([]writeReq, 0, maxGroup)
	for r := range s.writes {
		group = append(group[:0], r)
	fill:
		for len(group) < maxGroup {
			select {
			case r, ok := <-s.writes:
				if !ok {
					break fill
				}
				group = append(group, r)
			default:
				break fill
			}
		}
		err := s.Update(func(tx *Tx) error {
			for _, r := range group {
				if err := r.fn(tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil || len(group) == 1 {
			for _, r := range group {
				r.done <- err
			}
			continue
		}
		for _, r := range group {
			r.done <- s.Update(r.fn)
		}
	}
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(tx *Tx) error) error {
	return s.db.View(func(txn *badger.Txn) error { return fn(&Tx{txn: txn, s: s}) })
}

// Tx is a transaction handed to Update or View callbacks.
type Tx struct {
	txn *badger.Txn
	s   *Store
}

func (tx *Tx) get(key string, v any) error {
	it, err := tx.txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: get: %w", err)
	}
	return it.Value(func(b []byte) error {
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("store: decode %q: %w", key, err)
		}
		return nil
	})
}

func (tx *Tx) put(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %q: %w", key, err)
	}
	if err := tx.txn.Set([]byte(key), b); err != nil {
		return fmt.Errorf("store: set: %w", err)
	}
	return nil
}

func (tx *Tx) exists(key string) (bool, error) {
	_, err := tx.txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: get: %w", err)
	}
	return true, nil
}

func scan[T any](tx *Tx, prefix string, fn func(T) bool) error {
	it := tx.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Prefix: []byte(prefix)})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var v T
		err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &v) })
		if err != nil {
			return fmt.Errorf("store: decode %q: %w", it.Item().Key(), err)
		}
		if !fn(v) {
			return nil
		}
	}
	return nil
}

// License returns the license with the canonical key; ErrNotFound when none.
func (tx *Tx) License(key string) (License, error) {
	var l License
	err := tx.get(pLicense+key, &l)
	return l, err
}

// PutLicense writes l (creating or replacing it).
func (tx *Tx) PutLicense(l License) error { return tx.put(pLicense+l.Key, l) }

// CreateLicense writes l; ErrExists when its key is taken.
func (tx *Tx) CreateLicense(l License) error { return tx.create(pLicense+l.Key, l) }

// Licenses calls fn for every license in key order until fn returns false.
func (tx *Tx) Licenses(fn func(License) bool) error { return scan(tx, pLicense, fn) }

// Type returns the license type; ErrNotFound when none.
func (tx *Tx) Type(name string) (LicenseType, error) {
	var t LicenseType
	err := tx.get(pType+name, &t)
	return t, err
}

// CreateType writes t; ErrExists when its name is taken.
func (tx *Tx) CreateType(t LicenseType) error { return tx.create(pType+t.Name, t) }

// create writes v at key; ErrExists when key is taken.
func (tx *Tx) create(key string, v any) error {
	ok, err := tx.exists(key)
	if err != nil {
		return err
	}
	if ok {
		return ErrExists
	}
	return tx.put(key, v)
}

// Types calls fn for every license type in name order until fn returns false.
func (tx *Tx) Types(fn func(LicenseType) bool) error { return scan(tx, pType, fn) }

// Meta reads a metadata string; ErrNotFound when unset.
func (tx *Tx) Meta(name string) (string, error) {
	var v string
	err := tx.get(pMeta+name, &v)
	return v, err
}

// PutMeta writes a metadata string.
func (tx *Tx) PutMeta(name, value string) error { return tx.put(pMeta+name, value) }

// Audit appends e to the audit log within the transaction, assigning its
// sequence number. Client entries expire after the retention.
func (tx *Tx) Audit(e AuditEntry) error {
	e.Seq = tx.s.seq.Add(1)
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("store: encode audit: %w", err)
	}
	k := make([]byte, len(pAudit)+8)
	copy(k, pAudit)
	binary.BigEndian.PutUint64(k[len(pAudit):], e.Seq)
	entry := badger.NewEntry(k, b)
	if e.Client {
		entry = entry.WithTTL(tx.s.retention)
	}
	if err := tx.txn.SetEntry(entry); err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// AuditLog returns up to limit audit entries, newest first, optionally only
// those about key.
func (tx *Tx) AuditLog(limit int, key string) ([]AuditEntry, error) {
	var out []AuditEntry
	it := tx.txn.NewIterator(badger.IteratorOptions{Reverse: true, PrefetchValues: true, PrefetchSize: 64, Prefix: []byte(pAudit)})
	defer it.Close()
	for it.Seek([]byte(pAudit + "\xff\xff\xff\xff\xff\xff\xff\xff\xff")); it.ValidForPrefix([]byte(pAudit)) && len(out) < limit; it.Next() {
		var e AuditEntry
		if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &e) }); err != nil {
			return nil, fmt.Errorf("store: decode audit: %w", err)
		}
		if key == "" || e.Key == key {
			out = append(out, e)
		}
	}
	return out, nil
}

// badgerLogger forwards badger's warnings and errors to slog and drops its
// chatty info and debug lines.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	if b.l != nil {
		b.l.Error("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
	}
}

func (b badgerLogger) Warningf(f string, a ...any) {
	if b.l != nil {
		b.l.Warn("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
	}
}
func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
