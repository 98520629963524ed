package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
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
// positional arguments.
func parse(fs *flag.FlagSet, args []string, positional ...string) ([]string, error) {
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
			return nil, usagef("%s: unknown flag %s", fs.Name(), arg)
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
		return nil, usagef("%s: %v", fs.Name(), err)
	}
	if len(pos) != len(positional) {
		if len(positional) == 0 {
			return nil, usagef("%s takes no arguments, got %q", fs.Name(), strings.Join(pos, " "))
		}
		return nil, usagef("%s needs %s", fs.Name(), strings.Join(positional, " "))
	}
	return pos, nil
}

// required checks that flags were given values.
func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if fs.Lookup(n).Value.String() == fs.Lookup(n).DefValue {
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
