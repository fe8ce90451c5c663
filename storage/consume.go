package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/licensehost/licensehost/engine"
)

// idemEntry is the stored first answer of an idempotency key.
type idemEntry struct {
	Counter  string `json:"c"`
	Answer   []byte `json:"a"`
	Used     int64  `json:"u"`
	Admitted bool   `json:"ok"`
	At       int64  `json:"t"` // unix nanoseconds of ConsumeRequest.Now
}

// Consume implements engine.Store. It reads the idempotency key (a live
// entry is replayed without calling decide), reads the counter, calls decide,
// adds N when admitted and stores the answer under the key — all inside one
// Badger transaction.
//
// Concurrent calls are group-committed: the first caller becomes the leader
// and runs every call queued meanwhile (up to maxGroup) one after the other
// in a single transaction, so they share one commit and one fsync. Inside
// the transaction each call sees the writes of the calls before it, so a
// shared counter is never over-admitted and a repeated idempotency key is
// replayed. Badger's conflict detection (serialisable snapshot isolation)
// still guards against other writers; on a conflict the whole group is
// retried, calling decide again (it is side-effect free by contract).
func (s *Store) Consume(ctx context.Context, req engine.ConsumeRequest, decide engine.ConsumeFunc) (engine.ConsumeResult, error) {
	if req.N <= 0 {
		return engine.ConsumeResult{}, fmt.Errorf("consume %d items: %w", req.N, engine.ErrInvalidRequest)
	}
	if err := s.enter(ctx, "Consume"); err != nil {
		return engine.ConsumeResult{}, err
	}
	defer s.closeMu.RUnlock()
	op := &consumeOp{ctx: ctx, req: req, decide: decide, now: req.Now, done: make(chan struct{}), lead: make(chan struct{})}
	if op.now.IsZero() {
		op.now = time.Now()
	}
	s.submit(op)
	if op.err != nil {
		return engine.ConsumeResult{}, op.err
	}
	if req.IdempotencyKey != "" && !op.res.Replayed {
		s.noteIdem(op.now, op.newKey)
	}
	return op.res, nil
}

// maxGroup bounds the calls of one group commit, far below Badger's
// per-transaction limit (each call writes at most four keys).
const maxGroup = 256

// consumeOp is one Consume call waiting in, or running in, a group.
type consumeOp struct {
	ctx    context.Context
	req    engine.ConsumeRequest
	decide engine.ConsumeFunc
	now    time.Time

	res    engine.ConsumeResult
	err    error
	newKey bool

	done chan struct{} // closed when res/err are final
	lead chan struct{} // closed when this op must lead the next group
}

// submit queues op and returns when it has run. With no group running the
// caller leads; otherwise it waits, either for its result or to be handed the
// lead for the next group.
func (s *Store) submit(op *consumeOp) {
	s.groupMu.Lock()
	s.groupQueue = append(s.groupQueue, op)
	if s.groupBusy {
		s.groupMu.Unlock()
		select {
		case <-op.done:
			return
		case <-op.lead:
		}
		s.groupMu.Lock()
	}
	s.groupBusy = true
	n := min(len(s.groupQueue), maxGroup)
	group := slices.Clone(s.groupQueue[:n])
	s.groupQueue = slices.Delete(s.groupQueue, 0, n)
	s.groupMu.Unlock()

	s.runGroup(group)

	s.groupMu.Lock()
	if len(s.groupQueue) > 0 {
		close(s.groupQueue[0].lead) // stays busy: the next leader takes over
	} else {
		s.groupBusy = false
	}
	s.groupMu.Unlock()
}

// runGroup runs ops in one transaction, retrying on a conflict, and
// publishes every op's result.
func (s *Store) runGroup(ops []*consumeOp) {
	defer func() {
		for _, op := range ops {
			close(op.done)
		}
	}()
	for {
		live := ops[:0:0]
		for _, op := range ops {
			if err := op.ctx.Err(); err != nil {
				op.err = err
				continue
			}
			live = append(live, op)
		}
		if len(live) == 0 {
			return
		}
		err := s.db.Update(func(txn *badger.Txn) error {
			for _, op := range live {
				if err := s.consumeInTxn(txn, op); err != nil {
					return err
				}
			}
			return nil
		})
		if errors.Is(err, badger.ErrConflict) {
			s.conflicts.Add(1)
			continue
		}
		if err != nil {
			for _, op := range live {
				op.err = fmt.Errorf("storage: consume: %w", err)
			}
		}
		return
	}
}

// consumeInTxn runs one call inside the group's transaction. Errors of the
// call itself (decide's error, overflow) go to op.err, before anything of
// the call is written; a returned error aborts the whole transaction.
func (s *Store) consumeInTxn(txn *badger.Txn, op *consumeOp) error {
	op.res, op.err, op.newKey = engine.ConsumeResult{}, nil, false
	req, now := op.req, op.now
	var old *idemEntry
	if req.IdempotencyKey != "" {
		e, err := getIdem(txn, req.IdempotencyKey)
		if err != nil {
			return err
		}
		if e != nil && now.Sub(time.Unix(0, e.At)) < s.limits.IdempotencyTTL {
			op.res = engine.ConsumeResult{Answer: e.Answer, Used: e.Used, Admitted: e.Admitted, Replayed: true}
			return nil
		}
		old = e // nil, or expired: replaced below
	}
	cur, err := getU64(txn, counterKey(req.Counter))
	if err != nil {
		return err
	}
	used := int64(cur)
	answer, admit, err := op.decide(used)
	if err != nil {
		op.err = err // unchanged, as the interface promises
		return nil
	}
	if admit {
		if used > math.MaxInt64-req.N {
			op.err = fmt.Errorf("consume %d items: counter %q would overflow: %w", req.N, req.Counter, engine.ErrInvalidRequest)
			return nil
		}
		used += req.N
		if err := txn.Set(counterKey(req.Counter), u64(uint64(used))); err != nil {
			return err
		}
	}
	op.res = engine.ConsumeResult{Answer: bytes.Clone(answer), Used: used, Admitted: admit}
	if req.IdempotencyKey == "" {
		return nil
	}
	if old != nil {
		if err := txn.Delete(idemAtKey(old.At, req.IdempotencyKey)); err != nil {
			return err
		}
	}
	e := idemEntry{Counter: req.Counter, Answer: answer, Used: used, Admitted: admit, At: now.UnixNano()}
	raw, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("storage: encode idempotency entry: %w", err)
	}
	if err := txn.Set(idemKey(req.IdempotencyKey), raw); err != nil {
		return err
	}
	op.newKey = old == nil
	return txn.Set(idemAtKey(e.At, req.IdempotencyKey), nil)
}

func idemKey(k string) []byte { return append(bytes.Clone(prefIdem), k...) }

func idemAtKey(at int64, k string) []byte {
	b := binary.BigEndian.AppendUint64(bytes.Clone(prefIdemAt), uint64(at)^(1<<63)) // sign flip: sorts negative times first
	return append(b, k...)
}

func parseIdemAtKey(k []byte) (at int64, key string) {
	rest := k[len(prefIdemAt):]
	return int64(binary.BigEndian.Uint64(rest[:8]) ^ (1 << 63)), string(rest[8:])
}

// getIdem returns the entry of key, or nil when none.
func getIdem(txn *badger.Txn, key string) (*idemEntry, error) {
	item, err := txn.Get(idemKey(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var e idemEntry
	if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
		return nil, fmt.Errorf("storage: decode idempotency entry %q: %w", key, err)
	}
	return &e, nil
}

// idemSlack is how far past IdempotencyKeep the key count may grow before a
// trim brings it back: trimming is amortised over many calls, and the count
// never exceeds 2×IdempotencyKeep.
func (s *Store) idemSlack() int {
	return min(s.limits.IdempotencyKeep, max(1, s.limits.IdempotencyKeep/16))
}

// loadIdemState counts the stored idempotency keys and finds the oldest.
func (s *Store) loadIdemState() error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefIdemAt})
		defer it.Close()
		n := 0
		for it.Rewind(); it.Valid(); it.Next() {
			if n == 0 {
				at, _ := parseIdemAtKey(it.Item().Key())
				s.idemOldest = time.Unix(0, at)
			}
			n++
		}
		s.idemCount = n
		return nil
	})
}

// noteIdem records a committed idempotency entry and trims when the count or
// the age of the oldest entry is past the limits. One caller trims at a time;
// the others carry on.
func (s *Store) noteIdem(at time.Time, added bool) {
	s.idemMu.Lock()
	if added {
		s.idemCount++
	}
	if s.idemOldest.IsZero() || at.Before(s.idemOldest) {
		s.idemOldest = at
	}
	due := s.idemCount > s.limits.IdempotencyKeep+s.idemSlack() ||
		at.Sub(s.idemOldest) >= s.limits.IdempotencyTTL
	if !due || s.trimming {
		s.idemMu.Unlock()
		return
	}
	s.trimming = true
	s.idemMu.Unlock()

	err := s.trimIdem(at)

	s.idemMu.Lock()
	s.trimming = false
	s.idemMu.Unlock()
	if err != nil {
		// Not fatal: replays past the TTL are refused on read, and the next
		// call trims again.
		s.log.Warn("storage: trimming idempotency keys failed", "dir", s.dir, "err", err)
	}
}

// trimIdem deletes the oldest idempotency entries beyond IdempotencyKeep and
// every entry older than IdempotencyTTL at now, walking the time index from
// the oldest, in transactions of at most trimChunk entries.
func (s *Store) trimIdem(now time.Time) error {
	for {
		var (
			deleted int
			oldest  time.Time
			more    bool
		)
		err := s.db.Update(func(txn *badger.Txn) error {
			deleted, oldest, more = 0, time.Time{}, false
			s.idemMu.Lock()
			excess := s.idemCount - s.limits.IdempotencyKeep
			s.idemMu.Unlock()
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefIdemAt})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				at, key := parseIdemAtKey(it.Item().Key())
				t := time.Unix(0, at)
				if deleted >= excess && now.Sub(t) < s.limits.IdempotencyTTL {
					oldest = t
					return nil
				}
				if deleted == trimChunk {
					more = true
					return nil
				}
				if err := txn.Delete(it.Item().KeyCopy(nil)); err != nil {
					return err
				}
				// The entry itself goes only if this index key is still its
				// own (a concurrent Consume may have just replaced it; then
				// the conflict check aborts this transaction anyway).
				if e, err := getIdem(txn, key); err != nil {
					return err
				} else if e != nil && e.At == at {
					if err := txn.Delete(idemKey(key)); err != nil {
						return err
					}
				}
				deleted++
			}
			return nil
		})
		if errors.Is(err, badger.ErrConflict) {
			return nil // a concurrent Consume won; a later call trims again
		}
		if err != nil {
			return err
		}
		s.idemMu.Lock()
		s.idemCount -= deleted
		if s.idemCount <= 0 {
			s.idemCount, s.idemOldest = 0, time.Time{}
		} else if !oldest.IsZero() {
			s.idemOldest = oldest
		}
		s.idemMu.Unlock()
		if !more {
			return nil
		}
	}
}
