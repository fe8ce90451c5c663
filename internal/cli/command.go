// Package cli is what the three binaries (licensehost, licensed and
// licensehost-tray) share on the command line: settings declared once
// (Setting: flag, environment variable, default, help and parser in one
// place) and a cobra runner with one exit-status convention — 0 ok, 1
// failure, 2 bad command line, the error on one line of stderr. Where to
// add a setting or a command is in docs/CONTRIBUTING.md.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// UsageError is a bad command line, flag or setting: one line, exit status 2.
type UsageError struct {
	Msg  string
	Help string // the command whose --help explains, e.g. "licensehost quota check"
}

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// ExitError ends a command with Code after its answer was printed (e.g. 1
// for a refused quota); Msg, if any, goes to stderr.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string { return e.Msg }

// Execute runs root with args, writing to stdout and stderr; commands get
// ctx from cmd.Context(). An error raised before a command's RunE starts
// (unknown command or flag, a flag value its parser refused, the command's
// Args check, which is where commands validate their arguments and flags)
// comes back as a *UsageError; errors of RunE come back as they are.
func Execute(ctx context.Context, root *cobra.Command, args []string, stdout, stderr io.Writer) error {
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &UsageError{Msg: prefix(c) + err.Error()}
	})
	if root.Args == nil {
		root.Args = unknownCommand
	}
	root.SetUsageTemplate(usageTemplate)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	strictHelp(root)
	started := false
	var wrap func(c *cobra.Command)
	wrap = func(c *cobra.Command) {
		if !c.Runnable() && c.HasSubCommands() {
			Group(c) // a command that only holds others wants one of them
		}
		if run := c.RunE; run != nil {
			c.RunE = func(c *cobra.Command, args []string) error {
				started = true
				return run(c, args)
			}
		}
		for _, sub := range c.Commands() {
			wrap(sub)
		}
	}
	wrap(root)
	cmd, err := root.ExecuteContextC(ctx)
	if cmd == nil {
		cmd = root
	}
	var ue *UsageError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ue):
		if ue.Help == "" {
			ue.Help = cmd.CommandPath()
		}
		return err
	case started:
		return err
	}
	return &UsageError{Msg: prefix(cmd) + err.Error(), Help: cmd.CommandPath()}
}

// strictHelp makes `help NOSUCH` a usage error: cobra's help command prints
// "Unknown help topic" and the root's usage with exit status 0.
func strictHelp(root *cobra.Command) {
	for _, h := range root.Commands() {
		if h.Name() != "help" || h.Run == nil {
			continue
		}
		show := h.Run
		h.Run = nil
		h.RunE = func(c *cobra.Command, args []string) error {
			if cmd, rest, err := root.Find(args); err != nil || cmd == nil || len(rest) > 0 {
				return Usagef("help: no command %q", strings.Join(args, " "))
			}
			show(c, args)
			return nil
		}
	}
}

// prefix is "quota check: " for licensehost quota check, "" for the root.
func prefix(c *cobra.Command) string {
	if !c.HasParent() {
		return ""
	}
	p := c.CommandPath()
	return p[strings.IndexByte(p, ' ')+1:] + ": "
}

// ExitStatus prints err (if any) as one line "prog: …" on stderr and
// returns the process exit status: 0, 1, 2 for a *UsageError, or an
// *ExitError's code.
func ExitStatus(prog string, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ue *UsageError
	var ex *ExitError
	switch {
	case errors.As(err, &ue):
		help := ue.Help
		if help == "" {
			help = prog
		}
		fmt.Fprintf(stderr, "%s: %s (see '%s --help')\n", prog, oneLine(ue.Msg), help)
		return 2
	case errors.As(err, &ex):
		if ex.Msg != "" {
			fmt.Fprintf(stderr, "%s: %s\n", prog, oneLine(ex.Msg))
		}
		return ex.Code
	}
	fmt.Fprintf(stderr, "%s: %s\n", prog, oneLine(err.Error()))
	return 1
}

// Group makes c a command that only holds subcommands: run bare or with an
// unknown subcommand it is a usage error (exit 2), not a help page (exit 0).
func Group(c *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(c *cobra.Command, args []string) error {
		word := "subcommand"
		if !c.HasParent() {
			word = "command"
		}
		if len(args) == 0 {
			var names []string
			for _, s := range c.Commands() {
				if s.IsAvailableCommand() && s.Name() != "help" && s.Name() != "completion" {
					names = append(names, s.Name())
				}
			}
			return Usagef("%swant a %s: %s", prefix(c), word, strings.Join(names, ", "))
		}
		return Usagef("%s%s", prefix(c), unknown(c, word, args[0]))
	}
	c.AddCommand(subs...)
	return c
}

// unknownCommand is the Args check of a root that is itself a command (the
// licensehost daemon): it takes no arguments, so one is a mistyped command.
func unknownCommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return Usagef("%s", unknown(c, "command", args[0]))
}

func unknown(c *cobra.Command, word, arg string) string {
	msg := fmt.Sprintf("unknown %s %q", word, arg)
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2
	}
	if s := c.SuggestionsFor(arg); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return msg
}

// ExactArgs is cobra.ExactArgs with names: "key show: want KEY".
func ExactArgs(names ...string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) == len(names) {
			return nil
		}
		if len(names) == 0 {
			return Usagef("%sunexpected argument %q", prefix(c), args[0])
		}
		return Usagef("%swant %s, got %d argument(s)", prefix(c), strings.Join(names, " "), len(args))
	}
}

// ValidArg is ExactArgs(name) whose one argument valid must accept; else
// the usage error refusal, a format with one %q for the argument ("%q is
// not a feature name (…)"), after the command's path.
func ValidArg(name string, valid func(string) bool, refusal string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := ExactArgs(name)(c, args); err != nil {
			return err
		}
		if !valid(args[0]) {
			return Usagef("%s"+refusal, prefix(c), args[0])
		}
		return nil
	}
}

// usageTemplate is cobra's, but a command's help lists every command below
// it by its full path ("key issue", "quota check"), so one page shows the
// whole tree, and a group's usage line says COMMAND.
const usageTemplate = `Usage:{{if and .Runnable (not .HasAvailableSubCommands)}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}{{if .HasParent}}
  {{.CommandPath}} COMMAND [flags]{{else}}
  {{.CommandPath}} [COMMAND] [flags]{{end}}{{end}}{{if gt (len .Aliases) 0}}

Aliases:
  {{.NameAndAliases}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

Commands:{{range commandList .}}
  {{.}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

Global Flags:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} COMMAND --help" for more about a command.{{end}}
`

// commandList is every available command below c by its path relative to
// c, with its one-line help, aligned.
func commandList(c *cobra.Command) []string {
	type row struct{ path, short string }
	var rows []row
	var walk func(sub *cobra.Command, path string)
	walk = func(sub *cobra.Command, path string) {
		if !sub.IsAvailableCommand() && sub.Name() != "help" {
			return
		}
		leaf := !sub.HasAvailableSubCommands() || sub.Name() == "completion"
		if leaf {
			rows = append(rows, row{path, sub.Short})
			return
		}
		for _, s := range sub.Commands() {
			walk(s, path+" "+s.Name())
		}
	}
	for _, s := range c.Commands() {
		walk(s, s.Name())
	}
	width := 0
	for _, r := range rows {
		width = max(width, len(r.path))
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%-*s  %s", width, r.path, r.short)
	}
	return out
}

func init() { cobra.AddTemplateFunc("commandList", commandList) }

// SetVersion gives root a --version flag (and -v) printing "NAME VERSION",
// and with command also a `version` command printing the same.
func SetVersion(root *cobra.Command, version string, command bool) {
	root.Version = version
	root.SetVersionTemplate(root.Name() + " {{.Version}}\n")
	if command {
		root.AddCommand(&cobra.Command{Use: "version", Short: "print the version", Args: ExactArgs(),
			RunE: func(c *cobra.Command, _ []string) error {
				fmt.Fprintln(c.OutOrStdout(), root.Name(), version)
				return nil
			}})
	}
}
