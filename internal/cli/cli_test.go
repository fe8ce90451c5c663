package cli_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/licensehost/licensehost/internal/cli"
)

func TestParseDuration(t *testing.T) {
	ok := []struct {
		in   string
		unit time.Duration
		want time.Duration
	}{
		{"7", 24 * time.Hour, 7 * 24 * time.Hour},
		{"0.5", 24 * time.Hour, 12 * time.Hour},
		{"24", time.Hour, 24 * time.Hour},
		{"90s", 24 * time.Hour, 90 * time.Second},
		{" 36h ", time.Hour, 36 * time.Hour},
		{"0", 24 * time.Hour, 0},
		{"15s", 0, 15 * time.Second},
		{"0", 0, 0},
	}
	for _, c := range ok {
		got, err := cli.ParseDuration(c.in, c.unit)
		if err != nil || got != c.want {
			t.Errorf("ParseDuration(%q, %v) = %v, %v; want %v", c.in, c.unit, got, err, c.want)
		}
	}
	for _, bad := range []struct {
		in   string
		unit time.Duration
	}{{"", 24 * time.Hour}, {"seven", 24 * time.Hour}, {"-1", 24 * time.Hour}, {"-5m", 24 * time.Hour},
		{"1e30", 24 * time.Hour}, {"7 days", 24 * time.Hour}, {"15", 0}, {"900000h", 0}} {
		if _, err := cli.ParseDuration(bad.in, bad.unit); err == nil {
			t.Errorf("ParseDuration(%q, %v) succeeded, want an error", bad.in, bad.unit)
		}
	}
}

func TestValuesShowTheirDefault(t *testing.T) {
	var d1, d2, d3 time.Duration
	var b bool
	var n int64
	for _, c := range []struct {
		v    cli.Value
		want string
	}{
		{cli.Duration(&d1, 7*24*time.Hour, 24*time.Hour), "7"},
		{cli.Duration(&d2, 36*time.Hour, 24*time.Hour), "36h0m0s"},
		{cli.Duration(&d3, 15*time.Second, 0), "15s"},
		{cli.Bool(&b, true), "true"},
		{cli.Int64(&n, 200), "200"},
	} {
		if got := c.v.String(); got != c.want {
			t.Errorf("%T: %q, want %q", c.v, got, c.want)
		}
	}
	for _, s := range []string{"yes", "ON", "1", "true"} {
		if v, err := cli.ParseBool(s); err != nil || !v {
			t.Errorf("ParseBool(%q) = %v, %v", s, v, err)
		}
	}
	if _, err := cli.ParseBool("maybe"); err == nil {
		t.Error("ParseBool(maybe) accepted")
	}
}

func TestSwitchMayBeBare(t *testing.T) {
	var pub, trust bool
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	cli.Bind(fs, cli.Setting{Name: "allow-public", Value: cli.Switch(&pub)},
		cli.Setting{Name: "allow-offline-trust", Value: cli.Bool(&trust, true)})
	if err := fs.Parse([]string{"--allow-public", "--allow-offline-trust", "false"}); err != nil || !pub || trust || fs.NArg() != 0 {
		t.Fatalf("pub %v trust %v args %v: %v", pub, trust, fs.Args(), err)
	}
}

func TestUpdateTables(t *testing.T) {
	doc := "a\n<!-- settings:x -->\nold\n<!-- /settings -->\nb\n"
	got, err := cli.UpdateTables(doc, map[string]string{"x": "new\n"})
	if err != nil || got != "a\n<!-- settings:x -->\nnew\n<!-- /settings -->\nb\n" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := cli.UpdateTables(doc, map[string]string{"y": ""}); err == nil {
		t.Fatal("missing marker accepted")
	}
}

// Errors before RunE are usage errors (exit 2); RunE's errors keep their
// meaning; every error is one line on stderr.
func TestExecuteExitStatus(t *testing.T) {
	newRoot := func() *cobra.Command {
		root := &cobra.Command{Use: "prog"}
		var n int
		leaf := &cobra.Command{Use: "leaf", Args: cli.ExactArgs("NAME"), RunE: func(c *cobra.Command, args []string) error {
			switch args[0] {
			case "fail":
				return errors.New("it broke\nbadly")
			case "refused":
				return &cli.ExitError{Code: 1}
			case "usage":
				return cli.Usagef("leaf: NAME must not be usage")
			}
			return nil
		}}
		leaf.Flags().IntVar(&n, "n", 0, "a number")
		upper := &cobra.Command{Use: "upper", Args: cli.ValidArg("WORD", func(s string) bool { return strings.ToUpper(s) == s }, "%q is not in capitals"),
			RunE: func(*cobra.Command, []string) error { return nil }}
		root.AddCommand(cli.Group(&cobra.Command{Use: "group"}, leaf, upper))
		return root
	}
	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"group", "leaf", "ok"}, 0, ""},
		{[]string{"group", "leaf", "fail"}, 1, "prog: it broke badly\n"},
		{[]string{"group", "leaf", "refused"}, 1, ""},
		{[]string{"group", "leaf", "usage"}, 2, "prog: leaf: NAME must not be usage (see 'prog group leaf --help')\n"},
		{[]string{"group", "leaf"}, 2, "prog: group leaf: want NAME, got 0 argument(s) (see 'prog group leaf --help')\n"},
		{[]string{"group", "leaf", "x", "--n", "x"}, 2, "prog: group leaf: invalid argument"},
		{[]string{"group", "leaf", "x", "--m"}, 2, "prog: group leaf: unknown flag: --m"},
		{[]string{"group", "upper", "OK"}, 0, ""},
		{[]string{"group", "upper", "no"}, 2, "prog: group upper: \"no\" is not in capitals (see 'prog group upper --help')\n"},
		{[]string{"group", "upper"}, 2, "prog: group upper: want WORD, got 0 argument(s)"},
		{[]string{"group"}, 2, "prog: group: want a subcommand: leaf"},
		{[]string{"grop"}, 2, `prog: unknown command "grop"; did you mean "group"?`},
		{[]string{}, 2, "prog: want a command: group"},
		{[]string{"--help"}, 0, ""},
		{[]string{"help", "group", "leaf"}, 0, ""},
		{[]string{"help", "group", "nosuch"}, 2, `prog: help: no command "group nosuch"`},
		{[]string{"help", "nosuch"}, 2, `prog: help: no command "nosuch"`},
	} {
		var out, errb bytes.Buffer
		code := cli.ExitStatus("prog", cli.Execute(context.Background(), newRoot(), c.args, &out, &errb), &errb)
		if code != c.code || !strings.HasPrefix(errb.String(), c.err) || strings.Count(errb.String(), "\n") > 1 {
			t.Errorf("%q: exit %d, stderr %q; want %d, %q", c.args, code, errb.String(), c.code, c.err)
		}
	}
}

func TestConfigFileArrays(t *testing.T) {
	dir := t.TempDir()
	conf := dir + "/c.toml"
	if err := os.WriteFile(conf, []byte("keys = [\"a=1\", \"b=2\"]\nn = 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var file string
	var keys []string
	var n int
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	s := cli.Bind(fs, cli.Setting{Name: "config", Value: cli.String(&file, ""), ConfigFile: true},
		cli.Setting{Name: "keys", Env: "KEYS", Value: cli.List(&keys)},
		cli.Setting{Name: "n", Value: cli.Int(&n, 0)})
	if err := fs.Parse([]string{"--config", conf}); err != nil {
		t.Fatal(err)
	}
	if err := s.Resolve(func(string) string { return "" }); err != nil || len(keys) != 2 || keys[1] != "b=2" || n != 3 {
		t.Fatalf("keys %q n %d: %v", keys, n, err)
	}
	if !s.Given("n") {
		t.Fatal("n from the file counts as given")
	}
}
