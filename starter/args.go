package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/oho-dev/oho/check"
)

// newFlags returns a flag set that reports errors as usage errors instead of
// printing and exiting.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses flags and positional arguments in any order ("task show ID
// --json" as well as "task show --json ID") and checks the number of
// positional arguments. Every flag of every command is held to the same
// rules here, each refusal a usage error naming the flag: a value it
// cannot read (a year that is no whole number, a duration such as "3
// days"), an empty or blank value, a flag given twice, a flag the command
// does not have. A positional argument may not be empty either.
func parse(fs *flag.FlagSet, args []string, positional ...string) ([]string, error) {
	var refused error
	fs.VisitAll(func(f *flag.Flag) {
		if _, done := f.Value.(*checkedValue); !done {
			f.Value = &checkedValue{Value: f.Value, name: f.Name, refused: &refused}
		}
	})
	var pos, flags []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			pos = append(pos, arg)
			continue
		}
		flags = append(flags, arg)
		name := strings.TrimLeft(arg, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			return nil, usagef("%s: unknown flag %s", fs.Name(), cut(arg))
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 >= len(args) {
			return nil, usagef("%s: flag %s needs a value", fs.Name(), arg)
		}
		i++
		flags = append(flags, args[i])
	}
	if err := fs.Parse(flags); err != nil {
		if refused != nil {
			return nil, usagef("%s: %v", fs.Name(), refused)
		}
		return nil, usagef("%s: %v", fs.Name(), err)
	}
	if len(pos) != len(positional) {
		if len(positional) == 0 {
			return nil, usagef("%s takes no arguments, got %s", fs.Name(), cut(strings.Join(pos, " ")))
		}
		return nil, usagef("%s needs %s", fs.Name(), strings.Join(positional, " "))
	}
	for i, p := range pos {
		if strings.TrimSpace(p) == "" {
			return nil, usagef("%s: %s is empty", fs.Name(), positional[i])
		}
	}
	return pos, nil
}

// checkedValue is a flag's value as parse reads it: it refuses a second
// value, an empty one, and says in words what is wrong with a value the
// flag cannot read, naming the flag.
type checkedValue struct {
	flag.Value
	name    string
	given   bool
	refused *error
}

func (v *checkedValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func (v *checkedValue) Set(s string) error {
	err := v.set(s)
	if err != nil && *v.refused == nil {
		*v.refused = err
	}
	return err
}

func (v *checkedValue) set(s string) error {
	flagName := "--" + v.name
	switch {
	case v.given:
		return fmt.Errorf("%s is given twice: give it once", flagName)
	case !v.IsBoolFlag() && s == "":
		return fmt.Errorf("%s is empty: give it a value, or leave the flag out", flagName)
	case !v.IsBoolFlag() && strings.TrimSpace(s) == "":
		return fmt.Errorf("%s is only white space: give it a value, or leave the flag out", flagName)
	}
	v.given = true
	err := v.Value.Set(s)
	if err == nil {
		return nil
	}
	outOfRange := strings.Contains(err.Error(), "out of range")
	var value any
	if g, ok := v.Value.(flag.Getter); ok {
		value = g.Get()
	}
	switch value.(type) {
	case bool:
		return fmt.Errorf("%s takes no value (or true or false), not %s", flagName, quote(s))
	case int, int64, uint, uint64:
		if outOfRange {
			return fmt.Errorf("%s %s is far too large a number", flagName, quote(s))
		}
		return fmt.Errorf("%s %s is not a whole number", flagName, quote(s))
	case time.Duration:
		if outOfRange {
			return fmt.Errorf("%s %s is far too long a duration", flagName, quote(s))
		}
		return fmt.Errorf("%s %s is not a duration such as 72h or 90m", flagName, quote(s))
	}
	return fmt.Errorf("%s %s: %v", flagName, quote(s), err)
}

// quote writes a value given on the command line into a message: quoted,
// and cut short when long (check.Quote).
func quote(s string) string { return check.Quote(s) }

// cut shortens what a message repeats of the command line to its first 64
// characters.
func cut(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:64]) + "…"
	}
	return s
}

// required checks that flags were given (parse has refused empty values).
func required(fs *flag.FlagSet, names ...string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, n := range names {
		if !given[n] {
			return usagef("%s needs --%s", fs.Name(), n)
		}
	}
	return nil
}

// plural writes a count with the word that fits it: "1 unit", "3 units".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
