package fingerprint

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// Text renders the report for people (`licensehost machine-id --explain`):
// the code, whether it is overridden, the environment, then every signal and
// interface with [x] when it counted and the reason when it did not.
func (r Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "machine code: %s\n", orDash(r.Code))
	if r.Override {
		fmt.Fprintf(&b, "override:     yes, from %s (the signals would give %s)\n", r.OverrideSource, r.Computed)
	} else {
		b.WriteString("override:     no\n")
	}
	if r.Container {
		fmt.Fprintf(&b, "environment:  container (%s): host-level signals only\n", r.ContainerReason)
	} else {
		b.WriteString("environment:  host\n")
	}

	b.WriteString("\nsignals:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, s := range r.Signals {
		note := s.Reason
		if s.Used && s.Source != "" {
			note = "from " + s.Source
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", mark(s.Used), s.Name, orDash(s.Value), note)
	}
	_ = tw.Flush()

	b.WriteString("\ninterfaces:\n")
	if len(r.Interfaces) == 0 {
		b.WriteString("  (none listed)\n")
	}
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, it := range r.Interfaces {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", mark(it.Used), it.Name, orDash(it.MAC), it.Reason)
	}
	_ = tw.Flush()
	return b.String()
}

func mark(used bool) string {
	if used {
		return "[x]"
	}
	return "[ ]"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
