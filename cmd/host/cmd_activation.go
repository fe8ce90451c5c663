package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/cli"
)

// activationCommand is `licensehost activation …`: offline activation with
// files (docs/activation-files.md).
func activationCommand(getenv func(string) string) *cobra.Command {
	return cli.Group(&cobra.Command{Use: "activation", Short: "offline activation with files: request, install, list, uninstall, delete"},
		activationRequestCommand(getenv),
		activationInstallCommand(getenv),
		activationListCommand(getenv),
		activationUninstallCommand(getenv),
		activationReceiptCommand(getenv),
		activationDeleteCommand(getenv),
	)
}

// activationFailure turns a refusal into the command's exit: a bad file or
// argument (400) exits 2, a refusal 1, each with its one plain line.
func activationFailure(cmd string, err error) error {
	var ae *hostclient.ActivationError
	if errors.As(err, &ae) {
		code := 1
		if ae.StatusCode == 400 {
			code = 2
		}
		return &cli.ExitError{Code: code, Msg: cmd + ": " + ae.Message}
	}
	return err
}

func serialArg() cobra.PositionalArgs {
	return cli.ValidArg("SERIAL", actfile.ValidSerial, "%q is not a serial (4-64 characters of A-Z, 0-9 and '-')")
}

func activationRequestCommand(getenv func(string) string) *cobra.Command {
	var key, output string
	c := clientCommand(getenv, &cobra.Command{Use: "request [--key KEY] [-o FILE]",
		Short: "write a request file for this installation (to send to the vendor)"},
		func(ctx context.Context, cl *hostclient.Client, out printer, _ []string) error {
			a, err := cl.ActivationRequest(ctx, key)
			if err != nil {
				return activationFailure("activation request", err)
			}
			if out.json {
				return printJSON(out.w, a)
			}
			mode := os.FileMode(0o644)
			if key != "" {
				mode = 0o600 // it holds the license key
			}
			if err := cli.WriteFileArg(out.w, output, a.File, mode); err != nil {
				return err
			}
			if output != "" && output != "-" {
				fmt.Fprintf(out.w, "request file written to %s (machine %s); send it to your vendor\n", output, a.MachineID)
			}
			return nil
		})
	c.Flags().StringVar(&key, "key", "", "the license key to ask for (optional: the vendor may fill it in)")
	c.Flags().StringVarP(&output, "output", "o", "", "write the request to FILE (default: stdout)")
	return c
}

func activationInstallCommand(getenv func(string) string) *cobra.Command {
	return clientCommand(getenv, &cobra.Command{Use: "install FILE", Short: "install an activation file ('-' reads stdin)",
		Args: cli.ExactArgs("FILE")},
		func(ctx context.Context, cl *hostclient.Client, out printer, args []string) error {
			// One byte more than a file may have: the daemon refuses it
			// as too large rather than reading a cut file.
			b, err := cli.ReadFileArg(args[0], actfile.MaxFileSize)
			if err != nil {
				return &cli.ExitError{Code: 2, Msg: "activation install: " + err.Error()}
			}
			a, err := cl.InstallActivation(ctx, b)
			if err != nil {
				return activationFailure("activation install", err)
			}
			if out.json {
				return printJSON(out.w, a)
			}
			verb := "installed"
			if a.Already {
				verb = "already installed"
			}
			fmt.Fprintf(out.w, "%s: %s %s license %s (%s), features %s, expires %s\n", verb, a.Activation.Serial,
				a.Activation.Kind, a.Activation.LicenseType, a.Activation.LicenseKeyHint, featureNames(a.Activation), fmtTime(a.Activation.ExpiresAt))
			return nil
		})
}

func featureNames(a api.Activation) string {
	if len(a.Features) == 0 {
		return "(none)"
	}
	n := make([]string, len(a.Features))
	for i, f := range a.Features {
		n[i] = f.Name
	}
	return strings.Join(n, ",")
}

func activationListCommand(getenv func(string) string) *cobra.Command {
	return clientCommand(getenv, &cobra.Command{Use: "list", Short: "list the installed activation files"},
		func(ctx context.Context, cl *hostclient.Client, out printer, _ []string) error {
			l, err := cl.Activations(ctx)
			if err != nil {
				return activationFailure("activation list", err)
			}
			if out.json {
				return printJSON(out.w, l)
			}
			fmt.Fprintf(out.w, "machine code %s, installation key %s, trusted kids %s\n", l.MachineID, l.InstallationKey, strings.Join(l.TrustedKids, ","))
			if len(l.Activations) == 0 {
				fmt.Fprintln(out.w, "no activation files installed")
				return nil
			}
			tw := tabwriter.NewWriter(out.w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tSTATE\tKIND\tTYPE\tKEY\tFEATURES\tEXPIRES\tDAYS LEFT\tUNINSTALLABLE\tKID")
			for _, a := range l.Activations {
				state := a.State
				if a.Reason != "" && a.State != "expired" {
					state += " (" + a.Reason + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%v\t%s\n", a.Serial, state, a.Kind, a.LicenseType, a.LicenseKeyHint,
					featureNames(a), fmtTime(a.ExpiresAt), fmtDays(a.DaysLeft), a.Uninstallable, a.Kid)
			}
			return tw.Flush()
		})
}

func activationUninstallCommand(getenv func(string) string) *cobra.Command {
	var output string
	c := clientCommand(getenv, &cobra.Command{Use: "uninstall SERIAL [-o FILE]",
		Short: "uninstall a formal license and write the uninstall receipt (the serial is dead here for good)",
		Args:  serialArg()},
		func(ctx context.Context, cl *hostclient.Client, out printer, args []string) error {
			a, err := cl.UninstallActivation(ctx, args[0])
			if err != nil {
				return activationFailure("activation uninstall", err)
			}
			return writeReceipt(out, output, a)
		})
	c.Flags().StringVarP(&output, "output", "o", "", "write the receipt to FILE (default: stdout)")
	return c
}

func writeReceipt(out printer, output string, a *api.ActivationFileAnswer) error {
	if out.json {
		return printJSON(out.w, a)
	}
	if err := cli.WriteFileArg(out.w, output, a.File, 0o644); err != nil {
		return err
	}
	if output != "" && output != "-" {
		fmt.Fprintf(out.w, "uninstalled %s; receipt written to %s: give it to your vendor to release the license\n", a.Serial, output)
	}
	return nil
}

func activationReceiptCommand(getenv func(string) string) *cobra.Command {
	var output string
	c := clientCommand(getenv, &cobra.Command{Use: "receipt SERIAL [-o FILE]",
		Short: "write the uninstall receipt of a serial uninstalled here again", Args: serialArg()},
		func(ctx context.Context, cl *hostclient.Client, out printer, args []string) error {
			a, err := cl.ActivationReceipt(ctx, args[0])
			if err != nil {
				return activationFailure("activation receipt", err)
			}
			if out.json {
				return printJSON(out.w, a)
			}
			return cli.WriteFileArg(out.w, output, a.File, 0o644)
		})
	c.Flags().StringVarP(&output, "output", "o", "", "write the receipt to FILE (default: stdout)")
	return c
}

func activationDeleteCommand(getenv func(string) string) *cobra.Command {
	return clientCommand(getenv, &cobra.Command{Use: "delete SERIAL", Short: "delete an expired (or no longer trusted) activation file",
		Args: serialArg()},
		func(ctx context.Context, cl *hostclient.Client, out printer, args []string) error {
			if err := cl.DeleteActivation(ctx, args[0]); err != nil {
				return activationFailure("activation delete", err)
			}
			if out.json {
				return printJSON(out.w, map[string]any{"success": true, "serial": args[0], "deleted": true})
			}
			fmt.Fprintf(out.w, "deleted %s\n", args[0])
			return nil
		})
}
