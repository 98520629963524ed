package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestFlagsRefusedInOnePlace: every command's flags are held to the same
// rules by parse, each refusal a usage error (exit 2) in one line naming
// the flag, before anything is connected to.
func TestFlagsRefusedInOnePlace(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"cycle", "start", "--provider", "DEMO", "--year", "99999999999999999999", "--as", "m"}, `cycle start: --year "99999999999999999999" is far too large a number`},
		{[]string{"cycle", "start", "--provider", "DEMO", "--year", "9223372036854775808", "--as", "m"}, `cycle start: --year "9223372036854775808" is far too large a number`},
		{[]string{"cycle", "start", "--provider", "DEMO", "--year", "2026.5", "--as", "m"}, `cycle start: --year "2026.5" is not a whole number`},
		{[]string{"cycle", "start", "--provider", "DEMO", "--year=", "--as", "m"}, `cycle start: --year is empty: give it a value, or leave the flag out`},
		{[]string{"cycle", "start", "--provider", " \t", "--year", "2026", "--as", "m"}, `cycle start: --provider is only white space`},
		{[]string{"cycle", "start", "--provider", "DEMO", "--year", "2026", "--year", "2027", "--as", "m"}, `cycle start: --year is given twice: give it once`},
		{[]string{"cycle", "start", "--provider", "DEMO", "--year", "2026", "--as", "m", "--config", ""}, `cycle start: --config is empty`},
		{[]string{"cycle", "start", "--provider", "DEMO", "--year", "2026"}, `cycle start needs --as`},
		{[]string{"cycle", "start", "--provider", "DEMO", "--year", "2026", "--as", "m", "--colour", "blue"}, `cycle start: unknown flag --colour`},
		{[]string{"cycle", "start", "--provider", "DEMO", "--year", "2026", "--as", "m", "--" + long}, `cycle start: unknown flag --` + strings.Repeat("x", 62) + "…"},
		{[]string{"cycle", "status", "--provider", "DEMO", "--year"}, `cycle status: flag --year needs a value`},
		{[]string{"cycle", "list", "--json=maybe"}, `cycle list: --json takes no value (or true or false), not "maybe"`},
		{[]string{"cycle", "list", "--json", "--json"}, `cycle list: --json is given twice`},
		{[]string{"cycle", "list", long}, `cycle list takes no arguments, got ` + strings.Repeat("x", 64) + "…"},
		{[]string{"task", "show", ""}, `task show: TASK_ID is empty`},
		{[]string{"task", "show", "  "}, `task show: TASK_ID is empty`},
		{[]string{"task", "show", "A", "B"}, `task show needs TASK_ID`},
		{[]string{"task", "extend", "X", "--as", "m", "--by", "3 days", "--reason", "r"}, `task extend: --by "3 days" is not a duration such as 72h or 90m`},
		{[]string{"task", "extend", "X", "--as", "m", "--by", "99999999999h", "--reason", "r"}, `task extend: --by "99999999999h" is not a duration`},
		{[]string{"task", "extend", "X", "--as", "m", "--by", "72h", "--due", "2027-01-01", "--reason", "r"}, `task extend needs either --due DATE or --by DURATION`},
		{[]string{"task", "reassign", "X", "--as", "m", "--to", "p", "--reason", "  "}, `task reassign: --reason is only white space`},
		{[]string{"task", "list", "--status", "OPEN"}, `task list: --status must be open, done or all, not "OPEN"`},
		{[]string{"schedule", "set", "--provider", "DEMO", "--month", "8", "--day", "1", "--hour", "1e3", "--as", "m"}, `schedule set: --hour "1e3" is not a whole number`},
		{[]string{"schedule", "set", "--provider", "DEMO", "--month", "8", "--as", "m"}, `schedule set needs --day`},
		{[]string{"plan", "diff", "--provider", "DEMO", "--from", "1"}, `plan diff needs --from VERSION and --to VERSION`},
		{[]string{"audit", "log", "--since", ""}, `audit log: --since is empty`},
		{[]string{"report", "--provider", "DEMO", "--year", "2026", "--out", ""}, `report: --out is empty`},
		{[]string{"person", "disable", "p", "--reason", "   "}, `person disable: --reason is only white space`},
		{[]string{"token", "revoke", ""}, `token revoke: TOKEN_ID is empty`},
		{[]string{"person", "export"}, `person export needs PERSON`},
		{[]string{"person", "export", " "}, `person export: PERSON is empty`},
		{[]string{"person", "export", "p", "--out", ""}, `person export: --out is empty`},
		{[]string{"person", "export", "p", "--as", "a", "--as", "b"}, `person export: --as is given twice`},
		{[]string{"retention", "run", "--provider", ""}, `retention run: --provider is empty`},
		{[]string{"retention", "run", "extra"}, `retention run takes no arguments`},
		{[]string{"retention", "walk"}, `unknown subcommand "walk" of retention`},
		{[]string{"serve", "--addr", ""}, `serve: --addr is empty`},
		{[]string{"org", "import", ""}, `org import: FILE.json is empty`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tt.args, &stdout, &stderr)
		first, _, _ := strings.Cut(stderr.String(), "\n")
		if code != 2 || first != "starter: "+tt.want && !strings.HasPrefix(first, "starter: "+tt.want) {
			t.Errorf("starter %.120q: got exit %d, %q; want exit 2, %q", tt.args, code, first, tt.want)
		}
		if len(first) > 300 {
			t.Errorf("starter %.120q: a line of %d bytes", tt.args, len(first))
		}
	}
}

// TestRequiredCountsWhatWasGiven: a flag given its default value (--year 0)
// was given, and is left to the service to refuse with its reason; a flag
// left out is missing.
func TestRequiredCountsWhatWasGiven(t *testing.T) {
	fs := newFlags("x")
	year := fs.Int("year", 0, "")
	fs.String("provider", "", "")
	if _, err := parse(fs, []string{"--year", "0"}); err != nil {
		t.Fatal(err)
	}
	if err := required(fs, "year"); err != nil || *year != 0 {
		t.Errorf("--year 0: %v", err)
	}
	if err := required(fs, "provider"); err == nil || err.Error() != "x needs --provider" {
		t.Errorf("--provider left out: got %v", err)
	}
}

// FuzzParse: whatever the arguments, parse refuses them as a usage error
// or returns the positional ones; it never panics, and a flag's value is
// one it was given.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"--year 2026 --provider DEMO ID", "--year --provider", "--by 3h --by 4h", "-- --year", "--json=1 x", "--year=0x7e8 ID",
		"--by 9223372036854775807ns ID", "--provider= ID", "--- ID", "-= ID", "--json=maybe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		fs := newFlags("fuzz")
		fs.Int("year", 0, "")
		provider := fs.String("provider", "", "")
		fs.Duration("by", 0, "")
		fs.Bool("json", false, "")
		pos, err := parse(fs, strings.Fields(line), "ID")
		if err != nil {
			if _, ok := err.(usageError); !ok {
				t.Fatalf("%q: not a usage error: %v", line, err)
			}
			return
		}
		if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
			t.Fatalf("%q: accepted with positional %q", line, pos)
		}
		if *provider != "" && !strings.Contains(line, *provider) {
			t.Fatalf("%q: --provider %q was not given", line, *provider)
		}
	})
}

// FuzzParseDue: --due is a date or a date and time; never a panic, and
// what it accepts is the end of that day or that minute, in UTC.
func FuzzParseDue(f *testing.F) {
	for _, s := range []string{"2027-03-31", "2027-03-31T16:00", "2027-02-30", "0000-01-01", "9999-12-31T23:59", "1.3.2027", "2027-03-31T16:00:00Z", "", "2027-13-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDue(s)
		if err != nil {
			if !strings.Contains(err.Error(), "--due ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%q: refusal %q does not name --due in one line", s, err)
			}
			return
		}
		if d.Location() != time.UTC {
			t.Fatalf("%q: %v is not UTC", s, d)
		}
		if day := d.Format(time.DateOnly); !strings.HasPrefix(s, day) {
			t.Fatalf("%q: accepted as %v, another day", s, d)
		}
	})
}

// FuzzParseSince: --since is a date or an RFC 3339 time; never a panic,
// and a refusal names the flag in one line.
func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"2027-03-01", "2027-03-01T09:00:00+02:00", "yesterday", "2027-13-01", "2027-03-01T25:00:00Z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseSince(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "--since ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%q: refusal %q does not name --since in one line", s, err)
			}
			return
		}
		if got.IsZero() && s != "0001-01-01" && !strings.HasPrefix(s, "0001-01-01") {
			t.Fatalf("%q: accepted as the zero time", s)
		}
	})
}
