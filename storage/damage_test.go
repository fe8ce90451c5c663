package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/internal/e2etest"
)

// The file-damage matrix (docs/reliability.md): a store is written in a
// child process — a first batch closed (so it lands in an SST), a second
// batch left in the write-ahead log by exiting without Close, as a kill -9
// does — then each Badger file kind is damaged (bytes flipped, file cut)
// and the store opened in another child. Every outcome must be one of:
//
//	refused  Open fails with engine.ErrCorrupt naming the directory
//	intact   every acknowledged write is there
//	warned   writes are missing, and a warning said what was lost
//
// Never a panic or crash, never a silent loss.

const (
	damageEnv    = "LICENSEHOST_DAMAGE_CHILD"
	damageDirEnv = "LICENSEHOST_DAMAGE_DIR"
	// batch sizes: consumes of 1 with idempotency keys
	damageBatchA = 40
	damageBatchB = 40
)

// damageReport is what the opening child prints as its last line.
type damageReport struct {
	Open     string `json:"open"` // "ok" or the error
	Corrupt  bool   `json:"corrupt"`
	NamesDir bool   `json:"namesDir"`
	Usage    int64  `json:"usage"`
	Record   bool   `json:"record"`
	Warnings string `json:"warnings"`
}

// TestDamageChild is the body of the child processes of TestFileDamage.
func TestDamageChild(t *testing.T) {
	mode := os.Getenv(damageEnv)
	if mode == "" {
		t.Skip("helper process for TestFileDamage")
	}
	dir := os.Getenv(damageDirEnv)
	ctx := context.Background()
	consume := func(s *Store, from, n int) {
		for i := from; i < from+n; i++ {
			if _, err := s.Consume(ctx, engine.ConsumeRequest{N: 1, IdempotencyKey: fmt.Sprintf("op-%d", i), Now: time.Unix(1, 0)},
				func(int64) ([]byte, bool, error) { return []byte(`1`), true, nil }); err != nil {
				fmt.Println("consume:", err)
				os.Exit(3)
			}
		}
	}
	switch mode {
	case "populate", "populate-closed":
		s, err := Open(dir, Options{Logger: quiet})
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(3)
		}
		if err := s.Update(ctx, func(r *engine.Record) ([]engine.Event, error) {
			r.LicenseKey = "DAMAGE-TEST-KEY"
			return []engine.Event{{At: time.Unix(1, 0), Kind: engine.EventActivated, Message: "populate"}}, nil
		}); err != nil {
			fmt.Println("update:", err)
			os.Exit(3)
		}
		consume(s, 0, damageBatchA)
		if err := s.Close(); err != nil {
			fmt.Println("close:", err)
			os.Exit(3)
		}
		if s, err = Open(dir, Options{Logger: quiet}); err != nil {
			fmt.Println("reopen:", err)
			os.Exit(3)
		}
		consume(s, damageBatchA, damageBatchB)
		if os.Getenv(damageEnv) == "populate-closed" {
			if err := s.Close(); err != nil {
				fmt.Println("close:", err)
				os.Exit(3)
			}
		}
		fmt.Println("ok")
		os.Exit(0) // without Close the second batch stays in the write-ahead log
	case "open":
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		rep := damageReport{}
		s, err := Open(dir, Options{Logger: log})
		if err != nil {
			rep.Open, rep.Corrupt, rep.NamesDir = err.Error(), errors.Is(err, engine.ErrCorrupt), strings.Contains(err.Error(), dir)
		} else {
			rep.Open = "ok"
			rep.Usage, err = s.Usage(ctx, "")
			if err != nil {
				rep.Open = "usage: " + err.Error()
			}
			rec, err := s.Load(ctx)
			rep.Record = err == nil && rec.LicenseKey == "DAMAGE-TEST-KEY"
			_ = s.Close()
		}
		rep.Warnings = logs.String()
		b, _ := json.Marshal(rep)
		fmt.Println(string(b))
		os.Exit(0)
	}
}

func damageChild(t *testing.T, mode, dir string) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestDamageChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), damageEnv+"="+mode, damageDirEnv+"="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	finished, err := e2etest.RunFor(t, cmd, 2*time.Minute)
	if !finished {
		return out.String(), fmt.Errorf("child hung")
	}
	return out.String(), err
}

// damage describes one way to damage a file: flip bytes or cut it, at a
// fraction of its used length (the part before trailing zeros).
type damage struct {
	name string
	at   float64
	cut  bool
	abs  int // > 0: at this byte offset instead
}

var damages = []damage{
	{"flip 1/4", 0.25, false, 0}, {"flip 1/2", 0.5, false, 0}, {"flip 3/4", 0.75, false, 0}, {"flip last", 1, false, 0},
	{"cut 1/2", 0.5, true, 0}, {"cut 9/10", 0.9, true, 0}, {"cut to 0", 0, true, 0},
	{"cut to 8 bytes", 0, true, 8},
}

// fileKind names a Badger file by its kind.
func fileKind(name string) string {
	switch {
	case name == "MANIFEST", name == "KEYREGISTRY", name == "DISCARD":
		return name
	case strings.HasSuffix(name, ".sst"), strings.HasSuffix(name, ".mem"), strings.HasSuffix(name, ".vlog"):
		return "*" + filepath.Ext(name)
	}
	return ""
}

// TestFileDamage runs the matrix. With LICENSEHOST_DAMAGE_MATRIX=1 it
// prints one line per case for docs/reliability.md (make damage-matrix).
func TestFileDamage(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child per case")
	}
	counts := map[string]int{}
	ncases := 0
	for _, closed := range []bool{false, true} {
		ncases += damageMatrix(t, closed, counts)
	}
	t.Logf("file-damage matrix: %d cases: %v", ncases, counts)
	if os.Getenv("LICENSEHOST_DAMAGE_MATRIX") != "" {
		fmt.Printf("DAMAGE-SUMMARY cases=%d outcomes=%v\n", ncases, counts)
	}
}

// damageMatrix damages every file of one populated store in every way.
// closed: the store was closed cleanly at the end (everything in tables);
// otherwise the second batch is only in the write-ahead log.
func damageMatrix(t *testing.T, closed bool, counts map[string]int) int {
	template := t.TempDir()
	mode, state := "populate", "killed"
	if closed {
		mode, state = "populate-closed", "closed"
	}
	if out, err := damageChild(t, mode, template); err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("populate: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(template)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if fileKind(e.Name()) != "" {
			files = append(files, e.Name())
		}
	}
	sort.Strings(files)
	total := int64(damageBatchA + damageBatchB)
	for _, f := range files {
		for _, d := range damages {
			name := state + " " + f + " " + d.name
			t.Run(name, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "db")
				if err := os.CopyFS(dir, os.DirFS(template)); err != nil {
					t.Fatal(err)
				}
				e2etest.Damage(t, filepath.Join(dir, f), d.at, d.abs, d.cut)
				out, err := damageChild(t, "open", dir)
				lines := strings.Split(strings.TrimSpace(out), "\n")
				var rep damageReport
				if err != nil || json.Unmarshal([]byte(lines[len(lines)-1]), &rep) != nil {
					counts["crash"]++
					t.Fatalf("the opening process crashed (%v):\n%s", err, out)
				}
				var outcome string
				switch {
				case rep.Open != "ok" && rep.Corrupt && rep.NamesDir:
					outcome = "refused"
				case rep.Open != "ok":
					outcome = "error"
					t.Errorf("Open failed without ErrCorrupt naming the directory: %s", rep.Open)
				case rep.Usage == total && rep.Record:
					outcome = "intact"
				case strings.Contains(rep.Warnings, "lost"):
					outcome = "warned"
				default:
					outcome = "SILENT LOSS"
					t.Errorf("silent loss: usage %d of %d, record %v, warnings %q", rep.Usage, total, rep.Record, rep.Warnings)
				}
				counts[outcome]++
				if os.Getenv("LICENSEHOST_DAMAGE_MATRIX") != "" {
					detail := ""
					if outcome == "warned" {
						detail = "usage " + strconv.FormatInt(rep.Usage, 10) + "/" + strconv.FormatInt(total, 10)
					}
					fmt.Printf("DAMAGE | %s | %s | %s | %s | %s\n", state, f, d.name, outcome, detail)
				}
			})
		}
	}
	return len(files) * len(damages)
}
