package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/BurntSushi/toml"
	"github.com/spf13/pflag"
)

// Setting is one setting of a binary, declared once: its flag, environment
// variable, default (the Value's initial text, or DefaultDoc when that is
// computed at run time), help and parser. The flag set, the environment
// lookup, --config files, --help and the README table all come from it.
// See docs/CONTRIBUTING.md.
type Setting struct {
	Name       string // flag name without dashes; also the key in a --config file
	Env        string // environment variable, or "" for a flag-only setting
	Help       string // one line, lower case, no final period
	Value      Value  // the parser; writes into the binary's config struct
	DefaultDoc string // the default in words, when Value's initial text is not it ("" uses Value)

	// ConfigFile marks the setting naming a config file (TOML, or JSON by a
	// .json extension) whose keys are the other settings' names. At most
	// one per Settings.
	ConfigFile bool

	def string // the default as shown, captured by Bind
}

// Settings is a binary's (or a command's) list of settings, bound to a flag
// set. Precedence: a flag given on the command line, then the environment
// variable, then the config file, then the default.
type Settings struct {
	list   []*Setting
	fs     *pflag.FlagSet
	source map[string]string // name → where its value came from, e.g. `--trust="7"`
}

// Bind registers every setting as a flag of fs (help names the environment
// variable) and returns the Settings to Resolve after fs is parsed.
func Bind(fs *pflag.FlagSet, list ...Setting) *Settings {
	s := &Settings{fs: fs, source: map[string]string{}}
	fs.SortFlags = false // --help lists them in declaration order
	for i := range list {
		st := &list[i]
		if st.Name == "" || st.Value == nil {
			panic("cli: a setting needs a Name and a Value")
		}
		s.list = append(s.list, st)
		f := fs.VarPF(st.Value, st.Name, "", st.usage())
		if sv, ok := st.Value.(switchValue); ok && sv.IsBoolFlag() {
			f.NoOptDefVal = "true"
		}
		st.def = st.DefaultDoc
		if st.def == "" {
			if st.def = st.Value.String(); st.def == "" {
				st.def = "none"
			} else {
				st.def = "`" + st.def + "`"
			}
		}
		if st.DefaultDoc != "" {
			f.DefValue = "" // said in the usage text instead, unquoted
		}
	}
	return s
}

func (st *Setting) usage() string {
	u := st.Help
	if st.Env != "" {
		u += " (env " + st.Env + ")"
	}
	if st.DefaultDoc != "" {
		u += " (default " + strings.ReplaceAll(st.DefaultDoc, "`", "") + ")"
	}
	return u
}

// List returns the settings in declaration order.
func (s *Settings) List() []*Setting { return s.list }

// Resolve fills every setting not given as a flag from its environment
// variable (read with getenv; empty counts as unset), then from the config
// file if one is named. Errors are usage errors naming the variable or
// file key.
func (s *Settings) Resolve(getenv func(string) string) error {
	for _, st := range s.list {
		if f := s.fs.Lookup(st.Name); f != nil && f.Changed {
			s.source[st.Name] = fmt.Sprintf("--%s=%q", st.Name, f.Value.String())
		}
	}
	var fileVals map[string]string
	var fileName string
	for _, st := range s.list {
		if !st.ConfigFile {
			continue
		}
		if err := s.fromEnv(st, getenv); err != nil {
			return err
		}
		if fileName = st.Value.String(); fileName != "" {
			var err error
			if fileVals, err = s.readFile(fileName); err != nil {
				return err
			}
		}
	}
	for _, st := range s.list {
		if st.ConfigFile || s.source[st.Name] != "" {
			continue
		}
		if err := s.fromEnv(st, getenv); err != nil {
			return err
		}
		if s.source[st.Name] != "" {
			continue
		}
		if v, ok := fileVals[st.Name]; ok {
			src := fmt.Sprintf("%s: %s=%q", fileName, st.Name, v)
			if err := st.Value.Set(v); err != nil {
				return Usagef("%s: %v", src, err)
			}
			s.source[st.Name] = src
		}
	}
	return nil
}

func (s *Settings) fromEnv(st *Setting, getenv func(string) string) error {
	if s.source[st.Name] != "" || st.Env == "" {
		return nil
	}
	v := getenv(st.Env)
	if strings.TrimSpace(v) == "" {
		return nil
	}
	src := fmt.Sprintf("%s=%q", st.Env, v)
	if err := st.Value.Set(v); err != nil {
		return Usagef("%s: %v", src, err)
	}
	s.source[st.Name] = src
	return nil
}

// maxConfigFile bounds a config file: settings are a few lines.
const maxConfigFile = 1 << 20

// readFile reads a config file into setting name → text. Unknown keys,
// nested tables and the config key itself are refused.
func (s *Settings) readFile(name string) (map[string]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, Usagef("config file: %v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return nil, Usagef("config file %s: %v", name, err)
	}
	if len(data) > maxConfigFile {
		return nil, Usagef("config file %s: larger than %d bytes", name, maxConfigFile)
	}
	raw := map[string]any{}
	if strings.EqualFold(filepath.Ext(name), ".json") {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		err = dec.Decode(&raw)
	} else {
		_, err = toml.NewDecoder(bytes.NewReader(data)).Decode(&raw)
	}
	if err != nil {
		return nil, Usagef("config file %s: %s", name, oneLine(err.Error()))
	}
	known := map[string]*Setting{}
	for _, st := range s.list {
		if !st.ConfigFile {
			known[st.Name] = st
		}
	}
	out := map[string]string{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if known[k] == nil {
			return nil, Usagef("config file %s: unknown setting %q (the keys are the flag names, see --help)", name, k)
		}
		v, ok := scalar(raw[k])
		if list, isList := raw[k].([]any); isList {
			// An array is for a List setting: its items, comma-separated.
			items := make([]string, len(list))
			for i, it := range list {
				if items[i], ok = scalar(it); !ok {
					break
				}
			}
			v = strings.Join(items, ",")
		}
		if !ok {
			return nil, Usagef("config file %s: %s: want a string, number, boolean or an array of them", name, k)
		}
		out[k] = v
	}
	return out, nil
}

// scalar is a config-file value as the text a flag would carry.
func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case json.Number:
		return v.String(), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	return "", false
}

// Invalid is a usage error about setting name's value, naming where that
// value came from: the flag, the environment variable or the config file,
// e.g. `--grace="0": must be positive`.
func (s *Settings) Invalid(name string, err error) error {
	src := s.source[name]
	if src == "" {
		var val string
		if f := s.fs.Lookup(name); f != nil {
			val = f.Value.String()
		}
		src = fmt.Sprintf("--%s=%q", name, val)
	}
	return Usagef("%s: %v", src, err)
}

// Given reports whether setting name was set by a flag, the environment or
// the config file (not left at its default).
func (s *Settings) Given(name string) bool { return s.source[name] != "" }

// FlagName turns a Go field name into a flag name: "switchWindow" →
// "switch-window", "MaxFailures" → "max-failures".
func FlagName(field string) string {
	var b strings.Builder
	for i, r := range field {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// MarkdownTable renders the settings as the table README.md shows; a test
// of each binary keeps README.md equal to it.
func (s *Settings) MarkdownTable() string { return MarkdownTable(s) }

// MarkdownTable renders the settings of several Settings as one table.
func MarkdownTable(sets ...*Settings) string {
	var b strings.Builder
	b.WriteString("| flag | env | default | what |\n| --- | --- | --- | --- |\n")
	for _, s := range sets {
		for _, st := range s.list {
			env := ""
			if st.Env != "" {
				env = "`" + st.Env + "`"
			}
			fmt.Fprintf(&b, "| `--%s` | %s | %s | %s |\n", st.Name, env, st.def, strings.ReplaceAll(st.Help, "|", `\|`))
		}
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// UpdateTables replaces, in the Markdown text doc, the body between each
// "<!-- settings:NAME -->" line and the next "<!-- /settings -->" line with
// tables[NAME]. Every name must occur; a test of each binary calls it to
// keep its README table equal to its declarations.
func UpdateTables(doc string, tables map[string]string) (string, error) {
	for name, table := range tables {
		open := "<!-- settings:" + name + " -->\n"
		i := strings.Index(doc, open)
		if i < 0 {
			return doc, fmt.Errorf("no %q marker", strings.TrimSpace(open))
		}
		body := i + len(open)
		j := strings.Index(doc[body:], "<!-- /settings -->")
		if j < 0 {
			return doc, fmt.Errorf("no <!-- /settings --> after %q", strings.TrimSpace(open))
		}
		doc = doc[:body] + table + doc[body+j:]
	}
	return doc, nil
}
