package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/licensehost/licensehost/engine"
)

// Checks of a store's files before Badger opens them (docs/storage.md,
// "Damaged files"). Badger repairs some damage silently — it truncates a
// write-ahead log at the first bad entry, replays a MANIFEST only up to its
// first bad change set and then deletes the tables it no longer references
// — and panics on some damaged tables in goroutines no caller can recover.
// preflight finds these cases first: it refuses the store (engine.ErrCorrupt)
// where opening would lose data silently or crash, and reports what the
// write-ahead log replay will drop, so Open can log it.

// walLoss is what a write-ahead log (.mem) replay will drop.
type walLoss struct {
	file     string
	at, used int64 // replay stops at at; the file holds data up to used
	txns     int   // complete, intact transactions found after at
	keys     []string
	// headerCut: the file is shorter than its header
	headerCut bool
}

func (l walLoss) String() string {
	if l.headerCut {
		return fmt.Sprintf("write-ahead log %s is cut to %d bytes, shorter than its header; lost: every write it held (those since the last table was written)", l.file, l.used)
	}
	lost := "the write that was in progress when the process stopped (never acknowledged) — or, if the file was damaged, acknowledged writes that can no longer be read"
	if l.txns > 0 {
		lost = fmt.Sprintf("the damaged transaction and %d intact acknowledged transaction(s) after it, which held: %s", l.txns, strings.Join(l.keys, "; "))
	}
	return fmt.Sprintf("write-ahead log %s: %d bytes after offset %d do not replay and are dropped; lost: %s", l.file, l.used-l.at, l.at, lost)
}

// preflightReport is what preflight found in a store that may be opened.
type preflightReport struct {
	existed bool // the directory holds a store that has written data
	losses  []walLoss
	notes   []string // harmless findings, logged at info
	removed []string // empty write-ahead logs removed, logged at warning
}

// preflight checks dir's Badger files; memFileSize is the preallocated size
// of a write-ahead log file.
func preflight(dir string) (preflightReport, error) {
	var rep preflightReport
	entries, err := os.ReadDir(dir)
	if err != nil {
		return rep, &OpenError{Dir: dir, Msg: "cannot list the data directory", Err: err}
	}
	var ssts []uint64
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".sst"):
			id, ok := table.ParseFileID(name)
			if !ok {
				continue
			}
			ssts = append(ssts, id)
			rep.existed = true
		case strings.HasSuffix(name, ".mem"):
			if fi, err := e.Info(); err == nil && fi.Size() == 0 {
				// Created by a process killed before it sized the file:
				// it never held a write, and Badger refuses to open it.
				if err := os.Remove(filepath.Join(dir, name)); err != nil {
					return rep, &OpenError{Dir: dir, Msg: "cannot remove the empty write-ahead log " + name, Err: err}
				}
				rep.removed = append(rep.removed, name)
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return rep, &OpenError{Dir: dir, Msg: "cannot read " + name, Err: err}
			}
			loss, wrote := scanWAL(name, b)
			rep.existed = rep.existed || wrote
			if loss != nil {
				rep.losses = append(rep.losses, *loss)
			}
		case strings.HasSuffix(name, ".vlog"):
			if fi, err := e.Info(); err == nil && fi.Size() > walHeaderSize {
				rep.existed = true
			}
		}
	}
	referenced, err := checkManifest(dir, ssts, &rep)
	if err != nil {
		return rep, err
	}
	// Only the tables the MANIFEST references hold data: Badger deletes the
	// others (a table being written when the process was killed, empty or
	// cut short, is one of them).
	for _, id := range ssts {
		if !referenced[id] {
			continue
		}
		name := table.IDToFilename(id)
		if err := checkTable(filepath.Join(dir, name)); err != nil {
			return rep, corrupt(dir, "table "+name+" is damaged", err)
		}
	}
	return rep, nil
}

// corrupt is the OpenError of a damaged store.
func corrupt(dir, msg string, err error) *OpenError {
	return &OpenError{Dir: dir, Kind: engine.ErrCorrupt, Msg: msg, Err: err}
}

// checkTable opens one table with every block's checksum verified,
// turning a panic of Badger's table reader into an error.
func checkTable(path string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reading it panicked: %v", p)
		}
	}()
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil && !errors.Is(err, z.NewFile) {
		return err
	}
	// Close the file, never the table: a table's last DecrRef deletes it.
	defer func() { _ = mf.Close(-1) }()
	_, err = table.OpenTable(mf, table.Options{ChkMode: options.OnTableRead})
	return err
}

// checkManifest replays the MANIFEST as Badger will. A damaged tail is
// harmless unless tables on disk are then unreferenced: Badger would delete
// them, and the data they hold with them.
// It returns the set of tables the MANIFEST references.
func checkManifest(dir string, ssts []uint64, rep *preflightReport) (map[uint64]bool, error) {
	path := filepath.Join(dir, badger.ManifestFilename)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // checkDir refused a directory with files but no MANIFEST
	}
	if err != nil {
		return nil, &OpenError{Dir: dir, Msg: "cannot read the MANIFEST", Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &OpenError{Dir: dir, Msg: "cannot read the MANIFEST", Err: err}
	}
	m, end, err := badger.ReplayManifestFile(f, 0, badger.DefaultOptions(dir))
	if err != nil {
		return nil, corrupt(dir, "the MANIFEST is damaged", err)
	}
	referenced := map[uint64]bool{}
	for id := range m.Tables {
		referenced[id] = true
	}
	var orphans []string
	for _, id := range ssts {
		if !referenced[id] {
			orphans = append(orphans, table.IDToFilename(id))
		}
	}
	switch {
	case end < fi.Size() && len(orphans) > 0:
		return nil, corrupt(dir, fmt.Sprintf("the MANIFEST is damaged after byte %d of %d and no longer references %s, which opening would delete", end, fi.Size(), strings.Join(orphans, ", ")), nil)
	case end < fi.Size():
		rep.notes = append(rep.notes, fmt.Sprintf("the MANIFEST ends with %d bytes of an unfinished change (a crash while writing it); they are dropped, no table is lost", fi.Size()-end))
	case len(orphans) > 0:
		rep.notes = append(rep.notes, fmt.Sprintf("tables %s are not in the MANIFEST (a crash while a table was written); Badger removes them, their data is still in the write-ahead log", strings.Join(orphans, ", ")))
	}
	return referenced, nil
}

// Write-ahead log format (Badger v4 memtable .mem files): a 20-byte header
// (key id, IV), then entries: meta byte, user-meta byte, uvarint key length,
// uvarint value length, uvarint expiry, key (user key + 8-byte version),
// value, CRC-32C of all of that. Entries of a transaction carry bitTxn; a
// bitFinTxn entry whose value is the commit version ends it. Replay stops at
// the first entry that does not decode or check, or that breaks a
// transaction; only whole transactions are kept. scanWAL mirrors that (read
// only: it is diagnostics, Badger does the replay) and then looks past the
// stopping point for intact transactions, which are what the damage lost.
const (
	walHeaderSize = 20
	walBitTxn     = 1 << 6
	walBitFinTxn  = 1 << 7
	walMaxKey     = 1 << 16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type walEntry struct {
	meta       byte
	key, value []byte
	next       int
}

// walEntryAt decodes the entry at off, or reports that none checks there.
func walEntryAt(b []byte, off int) (walEntry, bool) {
	if off+2 > len(b) {
		return walEntry{}, false
	}
	p := off + 2
	var lens [3]uint64
	for i := range lens {
		v, n := binary.Uvarint(b[p:])
		if n <= 0 {
			return walEntry{}, false
		}
		lens[i], p = v, p+n
	}
	kl, vl := lens[0], lens[1]
	if kl > walMaxKey || kl < 8 || vl > uint64(len(b)) || uint64(p)+kl+vl+4 > uint64(len(b)) {
		return walEntry{}, false
	}
	end := p + int(kl) + int(vl)
	if crc32.Checksum(b[off:end], castagnoli) != binary.BigEndian.Uint32(b[end:end+4]) {
		return walEntry{}, false
	}
	return walEntry{meta: b[off], key: b[p : p+int(kl)], value: b[p+int(kl) : end], next: end + 4}, true
}

// walTxnAt decodes one whole transaction (or a lone entry) at off; it
// returns its entries and the offset after it.
func walTxnAt(b []byte, off int) ([]walEntry, int, bool) {
	var txn []walEntry
	var ts uint64
	for {
		e, ok := walEntryAt(b, off)
		if !ok {
			return nil, 0, false
		}
		off = e.next
		switch {
		case e.meta&walBitTxn != 0:
			v := binary.BigEndian.Uint64(e.key[len(e.key)-8:])
			if ts == 0 {
				ts = v
			} else if v != ts {
				return nil, 0, false
			}
			txn = append(txn, e)
		case e.meta&walBitFinTxn != 0:
			// Badger stores the commit version in the key as
			// MaxUint64 - version and the value as its decimal text.
			if len(txn) == 0 || strconv.FormatUint(^ts, 10) != string(e.value) {
				return nil, 0, false
			}
			return txn, off, true
		default:
			if len(txn) > 0 {
				return nil, 0, false
			}
			return []walEntry{e}, off, true
		}
	}
}

// scanWAL returns what replaying one .mem file drops (nil when nothing) and
// whether the file holds any write.
func scanWAL(name string, b []byte) (*walLoss, bool) {
	used := len(b)
	for used > 0 && b[used-1] == 0 {
		used--
	}
	if len(b) < walHeaderSize {
		// Cut inside its header: nothing it held can be read.
		return &walLoss{file: name, used: int64(len(b)), headerCut: true}, true
	}
	at := walHeaderSize
	for at < used {
		_, next, ok := walTxnAt(b, at)
		if !ok {
			break
		}
		at = next
	}
	wrote := at > walHeaderSize
	if at >= used {
		return nil, wrote
	}
	loss := &walLoss{file: name, at: int64(at), used: int64(used)}
	seen := map[string]int{}
	var idem []string
	for p := at + 1; p < used; p++ {
		txn, next, ok := walTxnAt(b[:used], p)
		if !ok {
			continue
		}
		loss.txns++
		for _, e := range txn {
			k := e.key[:len(e.key)-8]
			if bytes.HasPrefix(k, prefIdem) {
				idem = append(idem, string(k[len(prefIdem):]))
				continue
			}
			if d := describeKey(k); d != "" {
				seen[d]++
			}
		}
		p = next - 1
	}
	for k, n := range seen {
		loss.keys = append(loss.keys, fmt.Sprintf("%s (%d write(s))", k, n))
	}
	sort.Strings(loss.keys)
	if len(idem) > 0 {
		shown := idem
		if len(shown) > 8 {
			shown = append(append([]string{}, idem[:4]...), "…", idem[len(idem)-2], idem[len(idem)-1])
		}
		loss.keys = append(loss.keys, fmt.Sprintf("%d idempotency key(s): %s", len(idem), strings.Join(shown, " ")))
	}
	return loss, true
}

// describeKey names a store key for people (the layout is in store.go).
func describeKey(k []byte) string {
	switch {
	case bytes.Equal(k, keyRecord):
		return "the license record"
	case bytes.HasPrefix(k, prefCount):
		return fmt.Sprintf("usage counter %q", k[len(prefCount):])
	case bytes.HasPrefix(k, prefIdem):
		return fmt.Sprintf("idempotency key %q", k[len(prefIdem):])
	case bytes.HasPrefix(k, prefIdemAt):
		return "" // the idempotency keys are listed
	case bytes.HasPrefix(k, prefEvent), bytes.Equal(k, keyEvSeq):
		return "event log"
	case bytes.HasPrefix(k, []byte("!badger!")):
		return ""
	}
	return fmt.Sprintf("key %q", k)
}
