package ui

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/test"
)

// usedKeys collects the string literals passed to lang.L in the non-test Go
// files of dirs.
func usedKeys(t *testing.T, dirs ...string) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(af, func(n ast.Node) bool {
				c, ok := n.(*ast.CallExpr)
				if !ok || len(c.Args) == 0 {
					return true
				}
				sel, ok := c.Fun.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "L" {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); !ok || id.Name != "lang" {
					return true
				}
				lit, ok := c.Args[0].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s: lang.L with a non-literal key", fset.Position(c.Pos()))
					return true
				}
				s, _ := strconv.Unquote(lit.Value)
				keys[s] = true
				return true
			})
		}
	}
	return keys
}

func loadCatalog(t *testing.T, name string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("translations", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// Every string the UI and the tray show has an English and a Chinese entry,
// and no entry is stale.
func TestTranslationsComplete(t *testing.T) {
	used := usedKeys(t, ".", filepath.Join("..", "cmd", "tray"))
	if len(used) < 50 {
		t.Fatalf("found only %d keys: is the scan broken?", len(used))
	}
	for _, name := range []string{"licensehost.en.json", "licensehost.zh_Hans.json"} {
		cat := loadCatalog(t, name)
		var missing, stale []string
		for k := range used {
			if strings.TrimSpace(cat[k]) == "" {
				missing = append(missing, k)
			}
		}
		for k := range cat {
			if !used[k] {
				stale = append(stale, k)
			}
		}
		sort.Strings(missing)
		sort.Strings(stale)
		for _, k := range missing {
			t.Errorf("%s lacks %q", name, k)
		}
		for _, k := range stale {
			t.Errorf("%s has the unused key %q", name, k)
		}
		if name == "licensehost.zh_Hans.json" {
			for k, v := range cat {
				if strings.Count(k, "{{") != strings.Count(v, "{{") {
					t.Errorf("%s: %q keeps different placeholders: %q", name, k, v)
				}
			}
		}
	}
}

// useLocale switches fyne's lang package to a locale for one test.
func useLocale(t *testing.T, loc string) {
	t.Helper()
	t.Setenv("LANGUAGE", loc)
	t.Setenv("LC_ALL", loc+".UTF-8")
	if err := LoadTranslations(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Setenv("LANGUAGE", "en_US")
		os.Setenv("LC_ALL", "en_US.UTF-8")
		_ = LoadTranslations()
	})
}

func TestChineseFollowsLocale(t *testing.T) {
	test.NewTempApp(t)
	useLocale(t, "zh_CN")
	if got := lang.L("Active"); got != "已激活" {
		t.Fatalf("lang.L(Active) = %q under zh_CN", got)
	}
	st := graceStatus(12.3)
	st.GraceEndsAt = nil
	want := "当前验证失败，请稍后刷新。已进入宽限期，还剩 13 天，期间所有功能不受影响，过后将回退到社区版。"
	if got := graceNotice(st); got != want {
		t.Errorf("grace notice\n got %q\nwant %q", got, want)
	}
	if got := statusLabel("community"); got != "未激活" {
		t.Errorf("community = %q, want 未激活 (docs/tray.md)", got)
	}
	expired := activeStatus()
	expired.Status, expired.Reason = "expired", "machine_changed"
	p := statusProblem(expired)
	if p.Title != "授权密钥与环境不匹配" || !strings.Contains(p.Detail, testMachineID) {
		t.Errorf("mismatch = %+v", p)
	}
	// The views use the translations too.
	h := newHarness(t, statusOnly(graceStatus(2)))
	if h.v.badge.text.Text != "宽限期" || h.v.refreshBtn.Text != "立即刷新" {
		t.Errorf("badge %q refresh %q", h.v.badge.text.Text, h.v.refreshBtn.Text)
	}
	wantContains(t, "grace", h.v.grace.text(), "还剩 2 天")
}
