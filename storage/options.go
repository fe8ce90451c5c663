package storage

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/licensehost/licensehost/engine"
)

// Options configures a Store. The zero Options is ready to use.
type Options struct {
	// Limits bounds the event log and idempotency keys; zero fields take the
	// engine.Default* values.
	Limits engine.StoreLimits
	// Logger receives Badger's warnings and errors; nil means slog.Default().
	// Badger's info and debug chatter is logged at slog.LevelDebug.
	Logger *slog.Logger
}

// Tuning for a small daemon whose whole database is a few hundred KiB: one
// record, a handful of counters, ≤ 1000 events and ≤ 10000 idempotency keys.
// docs/storage.md has the measurements behind these numbers.
const (
	memTableSize     = 1 << 20 // default 64 MiB; one arena (~1.3 MiB with batch room) per memtable
	numMemtables     = 2       // default 5
	baseTableSize    = 1 << 20 // default 2 MiB
	baseLevelSize    = 4 << 20 // default 10 MiB
	valueLogFileSize = 8 << 20 // default 1 GiB
	valueThreshold   = 64 << 10
	blockCacheSize   = 0 // default 256 MiB; no compression, so blocks are read from the mapped tables
	numCompactors    = 2 // badger's minimum when compacting at all
)

// badgerOptions returns the Badger options Open uses on dir.
func badgerOptions(dir string, log *slog.Logger) badger.Options {
	return badger.DefaultOptions(dir).
		WithSyncWrites(true). // every commit is fsynced before it returns
		WithNumVersionsToKeep(1).
		WithDetectConflicts(true).
		WithMemTableSize(memTableSize).
		WithNumMemtables(numMemtables).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithBaseTableSize(baseTableSize).
		WithBaseLevelSize(baseLevelSize).
		WithMaxLevels(5).
		WithValueLogFileSize(valueLogFileSize).
		WithValueLogMaxEntries(100000).
		WithValueThreshold(valueThreshold).
		WithNumCompactors(numCompactors).
		WithNumGoroutines(2).
		WithCompression(options.None).                     // values are small JSON; no cache needed to decompress
		WithChecksumVerificationMode(options.OnTableRead). // a damaged table is refused at open (tables are tiny)
		WithBlockCacheSize(blockCacheSize).
		WithIndexCacheSize(0). // indexes of a tiny LSM stay in memory
		WithMetricsEnabled(false).
		WithLogger(slogLogger{log}) // not WithLoggingLevel: that replaces the logger
}

// slogLogger routes Badger's logger to slog.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) log(level slog.Level, format string, args []any) {
	if !s.l.Enabled(context.Background(), level) {
		return
	}
	s.l.Log(context.Background(), level, strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}

func (s slogLogger) Errorf(f string, a ...any)   { s.log(slog.LevelError, f, a) }
func (s slogLogger) Warningf(f string, a ...any) { s.log(slog.LevelWarn, f, a) }
func (s slogLogger) Infof(f string, a ...any)    { s.log(slog.LevelDebug, f, a) }
func (s slogLogger) Debugf(f string, a ...any)   { s.log(slog.LevelDebug, f, a) }
