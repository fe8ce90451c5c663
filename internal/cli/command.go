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
	if !root.Runnable() {
		Group(root) // a root that is not itself a command wants one
	}
	if root.Args == nil {
		root.Args = unknownCommand
	}
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	started := false
	var wrap func(c *cobra.Command)
	wrap = func(c *cobra.Command) {
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
