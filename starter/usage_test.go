package main

import (
	"strings"
	"testing"
)

// TestCommandUsage: a usage error shows the usage of the command it is
// about, not of every command.
func TestCommandUsage(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"task", "reassign", "X", "--as", "m"}, []string{"task reassign TASK_ID --to PERSON --as PERSON --reason TEXT"}, []string{"task extend", "cycle"}},
		{[]string{"task", "claim", "X"}, []string{"task claim|unclaim TASK_ID"}, []string{"task reassign"}},
		{[]string{"cycle", "start", "--year", "x"}, []string{"cycle start", "start the provider's review cycle for the year"}, []string{"cycle cancel"}},
		{[]string{"person", "disable", "x"}, []string{"person disable PERSON --reason TEXT", "no login"}, []string{"person invite"}},
		{[]string{"person", "export"}, []string{"person export PERSON [--as PERSON] [--out FILE]", "right of access"}, []string{"person disable"}},
		{[]string{"retention", "run", "--provider"}, []string{"retention run [--provider CODE] [--as MANAGER] [--dry-run] [--json]", "pseudonymise the people who left"}, []string{"token revoke"}},
		{[]string{"serve", "--addr"}, []string{"serve [--addr", "[--feedback-email ADDRESS]"}, []string{"migrate"}},
		{[]string{"report", "--year"}, []string{"report --provider CODE", "traceability report"}, []string{"plan"}},
	} {
		got := commandUsage(tt.args)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%v: the usage lacks %q:\n%s", tt.args, w, got)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(got, n) {
				t.Errorf("%v: the usage shows %q:\n%s", tt.args, n, got)
			}
		}
	}
	for _, args := range [][]string{nil, {"nosuch"}, {"--json"}} {
		if got := commandUsage(args); got != usage {
			t.Errorf("%v: got %q, want the usage of every command", args, got)
		}
	}
}
