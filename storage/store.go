// Package storage is the Badger-backed engine.Store: the license record,
// usage counters with idempotency keys, and the bounded event log, all in one
// embedded Badger database with synchronous writes. It is the only package
// that imports Badger.
//
// Layout (every key starts with a one-byte kind and a slash):
//
//	m/format          store layout version (uint64, big endian)
//	r                 the record, JSON, carrying its SchemaVersion
//	m/evseq           last event sequence number assigned
//	e/<seq:8>         one event, JSON; seq big endian, so keys sort by age
//	c/<counter>       usage counter (int64, big endian)
//	k/<key>           idempotency entry: the first answer, JSON
//	i/<unixnano:8><key>  time index of idempotency entries, for cheap trimming
//	f/…, g/…          feature licensing: pre-authorization, grants (features.go)
package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/licensehost/licensehost/engine"
)

var _ engine.Store = (*Store)(nil)

// storeFormat is the key layout version written under m/format.
const storeFormat = 1

var (
	keyFormat  = []byte("m/format")
	keyRecord  = []byte("r")
	keyEvSeq   = []byte("m/evseq")
	prefEvent  = []byte("e/")
	prefCount  = []byte("c/")
	prefIdem   = []byte("k/")
	prefIdemAt = []byte("i/")
)

// trimChunk bounds the deletes of one trimming transaction, far below
// Badger's per-transaction limit.
const trimChunk = 256

// Store is an engine.Store on a Badger database. It is safe for concurrent
// use. Every write is fsynced before the method returns.
type Store struct {
	dir    string
	db     *badger.DB
	limits engine.StoreLimits
	log    *slog.Logger

	closeMu sync.RWMutex // held shared by every call, exclusively by Close
	closed  bool
	// shut is closed for the calls that touch no Badger state (the
	// generations, read at every quota check): an atomic load, where the
	// read lock's shared counter moves between the cores on every call.
	shut atomic.Bool

	// writeMu serialises Update and AppendEvent, which share the record and
	// the event sequence: Update's fn runs exactly once per call.
	writeMu sync.Mutex

	// Group commit of Consume calls (see submit).
	groupMu    sync.Mutex
	groupQueue []*consumeOp
	groupBusy  bool

	conflicts atomic.Int64 // transactions retried after badger.ErrConflict

	// recordGen is the record's write generation (RecordGeneration): Update
	// adds one once its transaction has committed, before it returns.
	recordGen atomic.Uint64
	// grantsGen is the grants' write generation (GrantsGeneration):
	// PutGrants and DeleteGrants add one after their transaction.
	grantsGen atomic.Uint64

	idemMu     sync.Mutex
	idemCount  int       // idempotency entries stored
	idemOldest time.Time // time of the oldest entry; zero when none
	trimming   bool
}

// Open opens (creating when needed, mode 0700) the store in dir. Errors are
// *OpenError matching engine.ErrLocked when another process holds the
// directory, engine.ErrCorrupt when dir is not a readable store (including a
// directory holding other files, which Open never writes over), and
// engine.ErrSchemaTooNew when a newer licensehost wrote it.
func Open(dir string, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return openWith(dir, opts, badgerOptions(dir, log))
}

// openWith opens dir with explicit Badger options (tests measure others).
func openWith(dir string, opts Options, bopt badger.Options) (*Store, error) {
	if dir == "" {
		return nil, &OpenError{Dir: dir, Msg: "no data directory given", Err: engine.ErrInvalidRequest}
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	pre, err := preflight(dir)
	if err != nil {
		return nil, err
	}
	db, err := openBadger(bopt)
	if err != nil {
		return nil, classifyOpenError(dir, err)
	}
	s := &Store{dir: dir, db: db, limits: opts.Limits.WithDefaults(), log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.init(pre.existed); err != nil {
		_ = db.Close()
		return nil, err
	}
	for _, n := range pre.notes {
		s.log.Info("store: "+n, "dir", dir)
	}
	for _, name := range pre.removed {
		s.log.Warn("store: removed the empty write-ahead log "+name+": a crash while it was being created leaves one (nothing lost; Badger cannot open it), but if it was cut to nothing by damage, the writes it held are lost", "dir", dir)
	}
	for _, l := range pre.losses {
		s.log.Warn("store: "+l.String(), "dir", dir)
	}
	return s, nil
}

// openBadger turns a panic inside badger.Open (it has some for unreadable
// files) into an error.
func openBadger(bopt badger.Options) (db *badger.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("badger panicked while opening: %v", p)
		}
	}()
	return badger.Open(bopt)
}

// checkDir creates dir when missing and refuses a dir that exists but can
// never be a store: a file, or a directory with files but no Badger MANIFEST.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return &OpenError{Dir: dir, Msg: "cannot create the data directory", Err: err}
		}
		return nil
	case err != nil:
		return &OpenError{Dir: dir, Msg: "cannot read the data directory", Err: err}
	case !fi.IsDir():
		return &OpenError{Dir: dir, Kind: engine.ErrCorrupt, Msg: "the data directory is a file, not a directory"}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return &OpenError{Dir: dir, Msg: "cannot list the data directory", Err: err}
	}
	var foreign []string
	for _, e := range entries {
		switch e.Name() {
		case badger.ManifestFilename:
			return nil
		case "LOCK", "KEYREGISTRY": // left by a first open that died early
		default:
			foreign = append(foreign, e.Name())
		}
	}
	if len(foreign) > 0 {
		if len(foreign) > 3 {
			foreign = append(foreign[:3], "…")
		}
		return &OpenError{Dir: dir, Kind: engine.ErrCorrupt, Err: errNotAStore,
			Msg: fmt.Sprintf("the directory holds files (%s) but no store; refusing to create one over them", strings.Join(foreign, ", "))}
	}
	return nil
}

func classifyOpenError(dir string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Cannot acquire directory lock") || errors.Is(err, syscall.EWOULDBLOCK):
		return &OpenError{Dir: dir, Kind: engine.ErrLocked, Err: err,
			Msg: "the data directory is locked; another licensehost may be running on it"}
	case errors.Is(err, fs.ErrPermission) || strings.Contains(msg, "permission denied"):
		return &OpenError{Dir: dir, Msg: "permission denied", Err: err}
	default:
		return &OpenError{Dir: dir, Kind: engine.ErrCorrupt, Err: err,
			Msg: "the data directory cannot be read as a store"}
	}
}

// init checks the layout marker and record schema, trims what the limits no
// longer allow and loads the idempotency bookkeeping.
//
// existed tells that the directory held a store that had written data
// before this Open: such a store without its layout marker lost its
// contents (a damaged MANIFEST, say) and is refused, never re-created empty.
func (s *Store) init(existed bool) error {
	err := s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(keyFormat)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
			it := txn.NewIterator(badger.IteratorOptions{})
			it.Rewind()
			empty := !it.Valid()
			it.Close()
			if !empty {
				return &OpenError{Dir: s.dir, Kind: engine.ErrCorrupt, Err: errNotAStore,
					Msg: "a Badger database without a licensehost layout marker"}
			}
			if existed {
				return &OpenError{Dir: s.dir, Kind: engine.ErrCorrupt,
					Msg: "the store's files hold data but it reads as empty (a damaged MANIFEST or table); refusing to start over with an empty store"}
			}
			return txn.Set(keyFormat, u64(storeFormat))
		case err != nil:
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if len(v) != 8 {
			return &OpenError{Dir: s.dir, Kind: engine.ErrCorrupt, Msg: fmt.Sprintf("bad layout marker %q", v)}
		}
		if f := binary.BigEndian.Uint64(v); f > storeFormat {
			return &OpenError{Dir: s.dir, Kind: engine.ErrSchemaTooNew,
				Msg: fmt.Sprintf("store layout %d was written by a newer licensehost; this build reads up to %d", f, storeFormat)}
		}
		if _, err := getRecord(txn); err != nil && !errors.Is(err, engine.ErrNotFound) {
			if errors.Is(err, engine.ErrSchemaTooNew) {
				return &OpenError{Dir: s.dir, Msg: "refusing to read it", Err: err}
			}
			return &OpenError{Dir: s.dir, Kind: engine.ErrCorrupt, Msg: "cannot read the record", Err: err}
		}
		return nil
	})
	if err != nil {
		var oe *OpenError
		if errors.As(err, &oe) {
			oe.Dir = s.dir
			return oe
		}
		return &OpenError{Dir: s.dir, Kind: engine.ErrCorrupt, Msg: "cannot initialise the store", Err: err}
	}
	if err := s.trimEventsOnOpen(); err != nil {
		return &OpenError{Dir: s.dir, Msg: "cannot trim the event log", Err: err}
	}
	if err := s.loadIdemState(); err != nil {
		return &OpenError{Dir: s.dir, Msg: "cannot read idempotency keys", Err: err}
	}
	return nil
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// enter takes the shared close lock and checks ctx; the caller must call
// s.closeMu.RUnlock when enter succeeded.
func (s *Store) enter(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return fmt.Errorf("storage %s: %w", op, engine.ErrClosed)
	}
	return nil
}

// enterShut is enter for a call that reads no Badger state and so need not
// hold Close off: it fails once Close has begun, without the read lock.
func (s *Store) enterShut(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.shut.Load() {
		return fmt.Errorf("storage %s: %w", op, engine.ErrClosed)
	}
	return nil
}

// update runs fn in a read-write transaction, retrying on a conflict until
// it commits or ctx is done. fn's own errors come back unchanged.
func (s *Store) update(ctx context.Context, fn func(*badger.Txn) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.db.Update(fn)
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
		s.conflicts.Add(1)
	}
}

// Close implements engine.Store: it waits for calls in flight, then closes
// the database. Later calls fail with engine.ErrClosed; a second Close
// returns nil.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.shut.Store(true)
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("storage: close %s: %w", s.dir, err)
	}
	return nil
}

// Load implements engine.Store.
func (s *Store) Load(ctx context.Context) (engine.Record, error) {
	if err := s.enter(ctx, "Load"); err != nil {
		return engine.Record{}, err
	}
	defer s.closeMu.RUnlock()
	var rec engine.Record
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		rec, err = getRecord(txn)
		return err
	})
	return rec, err
}

// getRecord reads and decodes the record; engine.ErrNotFound when none.
func getRecord(txn *badger.Txn) (engine.Record, error) {
	item, err := txn.Get(keyRecord)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return engine.Record{}, engine.ErrNotFound
	}
	if err != nil {
		return engine.Record{}, fmt.Errorf("storage: read record: %w", err)
	}
	raw, err := item.ValueCopy(nil)
	if err != nil {
		return engine.Record{}, fmt.Errorf("storage: read record: %w", err)
	}
	var head struct {
		SchemaVersion int `json:"schemaVersion"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return engine.Record{}, fmt.Errorf("storage: decode record: %w", err)
	}
	if head.SchemaVersion > engine.SchemaVersion {
		return engine.Record{}, fmt.Errorf("storage: the record has schema version %d, written by a newer licensehost; this build reads up to %d: %w",
			head.SchemaVersion, engine.SchemaVersion, engine.ErrSchemaTooNew)
	}
	var rec engine.Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return engine.Record{}, fmt.Errorf("storage: decode record: %w", err)
	}
	return rec, nil
}

// Update implements engine.Store: the record and fn's events are written in
// one durable transaction. fn runs exactly once.
func (s *Store) Update(ctx context.Context, fn func(*engine.Record) ([]engine.Event, error)) error {
	if err := s.enter(ctx, "Update"); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	// After the commit (or a failed attempt, which may have committed):
	// a reader that sees the new generation reads the new record.
	defer s.recordGen.Add(1)

	// Updates and appends are serialised by writeMu and Consume touches
	// other keys, so the transaction cannot conflict; fn's result is kept
	// so that a retry (should Badger report one anyway) does not rerun fn.
	var (
		rec    engine.Record
		evs    []engine.Event
		ran    bool
		fnErr  error
		encRec []byte
	)
	err := s.update(ctx, func(txn *badger.Txn) error {
		if !ran {
			var err error
			rec, err = getRecord(txn)
			if errors.Is(err, engine.ErrNotFound) {
				rec, err = engine.Record{SchemaVersion: engine.SchemaVersion}, nil
			}
			if err != nil {
				return err
			}
			ran = true
			evs, fnErr = fn(&rec)
			if fnErr != nil {
				return fnErr
			}
			rec.SchemaVersion = engine.SchemaVersion
			if encRec, err = json.Marshal(rec); err != nil {
				return fmt.Errorf("storage: encode record: %w", err)
			}
		}
		if err := txn.Set(keyRecord, encRec); err != nil {
			return err
		}
		return s.appendEvents(txn, evs)
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// RecordGeneration implements engine.Store. Badger's directory lock makes
// this Store the only writer of its record, so every change goes through
// Update, which moves the generation after its commit.
func (s *Store) RecordGeneration(ctx context.Context) (uint64, error) {
	if err := s.enterShut(ctx, "RecordGeneration"); err != nil {
		return 0, err
	}
	return s.recordGen.Load(), nil
}

// AppendEvent implements engine.Store.
func (s *Store) AppendEvent(ctx context.Context, ev engine.Event) error {
	if err := s.enter(ctx, "AppendEvent"); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.update(ctx, func(txn *badger.Txn) error {
		return s.appendEvents(txn, []engine.Event{ev})
	})
}

// appendEvents assigns the next sequence numbers, writes evs and deletes the
// events that fall out of the bounded log. Sequence numbers are assigned in
// the same transaction, so they have no gaps and the event cap positions
// before the new one is simply seq - cap.
func (s *Store) appendEvents(txn *badger.Txn, evs []engine.Event) error {
	if len(evs) == 0 {
		return nil
	}
	seq, err := getU64(txn, keyEvSeq)
	if err != nil {
		return err
	}
	capacity := uint64(s.limits.EventLogCap)
	for _, ev := range evs {
		seq++
		ev.Seq = seq
		raw, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("storage: encode event: %w", err)
		}
		if err := txn.Set(eventKey(seq), raw); err != nil {
			return err
		}
		if seq > capacity {
			if err := txn.Delete(eventKey(seq - capacity)); err != nil {
				return err
			}
		}
	}
	return txn.Set(keyEvSeq, u64(seq))
}

// trimEventsOnOpen deletes events beyond the cap left by an earlier run with
// a larger cap.
func (s *Store) trimEventsOnOpen() error {
	for {
		more := false
		err := s.db.Update(func(txn *badger.Txn) error {
			last, err := getU64(txn, keyEvSeq)
			if err != nil || last <= uint64(s.limits.EventLogCap) {
				return err
			}
			floor := last - uint64(s.limits.EventLogCap) // delete seq ≤ floor
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefEvent})
			defer it.Close()
			n := 0
			for it.Rewind(); it.Valid(); it.Next() {
				k := it.Item().KeyCopy(nil)
				if binary.BigEndian.Uint64(k[len(prefEvent):]) > floor {
					break
				}
				if n == trimChunk {
					more = true
					break
				}
				if err := txn.Delete(k); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil || !more {
			return err
		}
	}
}

// Events implements engine.Store: up to limit events, newest first; limit ≤ 0
// means every retained event.
func (s *Store) Events(ctx context.Context, limit int) ([]engine.Event, error) {
	if err := s.enter(ctx, "Events"); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	var out []engine.Event
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefEvent, Reverse: true, PrefetchValues: true, PrefetchSize: 16})
		defer it.Close()
		for it.Seek(eventKey(math.MaxUint64)); it.Valid(); it.Next() {
			if limit > 0 && len(out) == limit {
				break
			}
			var ev engine.Event
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &ev) }); err != nil {
				return fmt.Errorf("storage: decode event %x: %w", it.Item().Key(), err)
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []engine.Event{}
	}
	return out, nil
}

// Usage implements engine.Store.
func (s *Store) Usage(ctx context.Context, counter string) (int64, error) {
	if err := s.enter(ctx, "Usage"); err != nil {
		return 0, err
	}
	defer s.closeMu.RUnlock()
	var used int64
	err := s.db.View(func(txn *badger.Txn) error {
		v, err := getU64(txn, counterKey(counter))
		used = int64(v)
		return err
	})
	return used, err
}

func eventKey(seq uint64) []byte { return append(bytes.Clone(prefEvent), u64(seq)...) }

func counterKey(c string) []byte { return append(bytes.Clone(prefCount), c...) }

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// getU64 reads a big-endian uint64; 0 when the key is missing.
func getU64(txn *badger.Txn, key []byte) (uint64, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var v uint64
	err = item.Value(func(b []byte) error {
		if len(b) != 8 {
			return fmt.Errorf("storage: key %q holds %d bytes, want 8", key, len(b))
		}
		v = binary.BigEndian.Uint64(b)
		return nil
	})
	return v, err
}
