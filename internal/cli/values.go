package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxDuration bounds every duration setting (100 years), so that arithmetic
// on times never overflows.
const MaxDuration = 100 * 365 * 24 * time.Hour

// A Value parses a setting's text into the binary's configuration struct and
// shows its current value as text (before parsing: the default). It is a
// pflag.Value, so the same parser serves flags, environment variables and
// config files.
type Value interface {
	String() string
	Set(string) error
	Type() string
}

// switchValue is a Value that may be given as a bare flag (--allow-public).
type switchValue interface {
	Value
	IsBoolFlag() bool
}

type stringValue struct{ p *string }

// String is a text setting with default def.
func String(p *string, def string) Value {
	*p = def
	return stringValue{p}
}

func (v stringValue) String() string     { return *v.p }
func (v stringValue) Set(s string) error { *v.p = s; return nil }
func (v stringValue) Type() string       { return "string" }

type intValue struct{ p *int }

// Int is a whole-number setting with default def.
func Int(p *int, def int) Value {
	*p = def
	return intValue{p}
}

func (v intValue) String() string { return strconv.Itoa(*v.p) }
func (v intValue) Type() string   { return "int" }
func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want a whole number")
	}
	*v.p = n
	return nil
}

type int64Value struct{ p *int64 }

// Int64 is a whole-number setting with default def.
func Int64(p *int64, def int64) Value {
	*p = def
	return int64Value{p}
}

func (v int64Value) String() string { return strconv.FormatInt(*v.p, 10) }
func (v int64Value) Type() string   { return "int" }
func (v int64Value) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("want a whole number")
	}
	*v.p = n
	return nil
}

type boolValue struct {
	p    *bool
	bare bool
}

// Bool is a true/false setting with default def; its flag needs a value
// (--allow-offline-trust false). ParseBool says what it accepts.
func Bool(p *bool, def bool) Value {
	*p = def
	return &boolValue{p: p}
}

// Switch is a false-by-default setting whose flag may be given bare
// (--allow-public, or --allow-public=false).
func Switch(p *bool) Value {
	*p = false
	return &boolValue{p: p, bare: true}
}

func (v *boolValue) String() string   { return strconv.FormatBool(*v.p) }
func (v *boolValue) Type() string     { return "bool" }
func (v *boolValue) IsBoolFlag() bool { return v.bare }
func (v *boolValue) Set(s string) error {
	b, err := ParseBool(s)
	if err != nil {
		return err
	}
	*v.p = b
	return nil
}

// ParseBool accepts true/false, 1/0, yes/no, on/off (any case).
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("want true or false")
}

type durationValue struct {
	p    *time.Duration
	unit time.Duration
}

// Duration is a duration setting with default def. With a unit (24h for
// days, 1h for hours) a plain number counts units ("7", "0.5"); a Go
// duration string ("90s", "36h") is always accepted. unit 0: Go durations
// only.
func Duration(p *time.Duration, def, unit time.Duration) Value {
	*p = def
	return durationValue{p, unit}
}

func (v durationValue) Set(s string) error {
	d, err := ParseDuration(s, v.unit)
	if err != nil {
		return err
	}
	*v.p = d
	return nil
}

func (v durationValue) Type() string {
	switch v.unit {
	case 24 * time.Hour:
		return "days"
	case time.Hour:
		return "hours"
	}
	return "duration"
}

// String shows a whole number of units as a number (the way the
// environment variables are documented), anything else as a Go duration.
func (v durationValue) String() string {
	if v.unit > 0 && *v.p%v.unit == 0 {
		return strconv.FormatInt(int64(*v.p/v.unit), 10)
	}
	return v.p.String()
}

// ParseDuration reads a duration given either as a plain number of units
// (days for SPONSOR_*_DAYS, hours for *_HOURS; fractions allowed) or as a Go
// duration string such as "90s" or "36h". unit 0 accepts Go durations only.
// Negative values and values over MaxDuration are refused.
func ParseDuration(s string, unit time.Duration) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && unit > 0 {
		if f < 0 {
			return 0, fmt.Errorf("must not be negative")
		}
		if f*float64(unit) > float64(MaxDuration) {
			return 0, fmt.Errorf("must be at most 100 years")
		}
		return time.Duration(f * float64(unit)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if unit == 0 {
			return 0, fmt.Errorf("want a duration such as 90s or 15m")
		}
		return 0, fmt.Errorf("want a number of %s or a duration such as 90s or 36h", durationValue{unit: unit}.Type())
	}
	if d < 0 {
		return 0, fmt.Errorf("must not be negative")
	}
	if d > MaxDuration {
		return 0, fmt.Errorf("must be at most 100 years")
	}
	return d, nil
}

type listValue struct{ p *[]string }

// List is a repeatable text setting, empty by default: every flag
// occurrence adds its values; an environment variable or config key gives
// several separated by commas or white space.
func List(p *[]string) Value {
	*p = nil
	return listValue{p}
}

func (v listValue) String() string { return strings.Join(*v.p, ",") }
func (v listValue) Type() string   { return "list" }
func (v listValue) Set(s string) error {
	*v.p = append(*v.p, strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })...)
	return nil
}
