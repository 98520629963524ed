package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/oho-dev/oho/review"
)

// TestBadInputSweep tries, as a new user would, the wrong value of every
// kind on the command line of the real binaries, in one world: flags
// missing, empty, blank, given twice, unknown, numbers out of range, dates
// and durations that are none, IDs that do not exist or cannot, files that
// are missing, folders, empty, binary, over the limit, nested a hundred
// thousand deep, with a key twice, an unknown field or a wrong type, and
// organisation files and configs with duplicates and absurd values. Each
// is refused with the exit code of its kind and one first line naming the
// flag, file or field, with no stack trace and no driver text; afterwards
// the database holds exactly what the accepted commands wrote, no second
// cycle reached Temporal, and the unit's workflow has no failed workflow
// task.
func TestBadInputSweep(t *testing.T) {
	e := newEnv(t)
	e.startWorker()
	org := e.file("org.json", e.org())
	e.ok("org", "import", org)
	p := e.provider

	files := map[string]string{
		"empty.json":    "",
		"blank.json":    " \n\t ",
		"deep.json":     strings.Repeat("[", 100000) + strings.Repeat("]", 100000),
		"deepobj.json":  `{"findings": ` + strings.Repeat(`{"a": `, 100000) + `1` + strings.Repeat("}", 100000) + `}`,
		"latin1.json":   "{\"provider\": {\"code\": \"" + p + "\", \"name\": \"K\xe4yt\xe4v\xe4\"}}",
		"trailing.json": `{"max_rounds": 3} {"max_rounds": 4}`,
	}
	for name, text := range files {
		e.file(name, text)
	}
	path := func(name string) string { return filepath.Join(e.dir, name) }
	binary := path("binary.json")
	if err := os.WriteFile(binary, []byte{0x1e, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x00, 0x01}, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := path("huge.json")
	if err := os.WriteFile(huge, make([]byte, 9<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	orgWith := func(name string, edit func(o map[string]any)) string {
		o := e.org()
		edit(o)
		return e.file(name, o)
	}
	people := func(o map[string]any) []map[string]any { return o["people"].([]map[string]any) }
	manyUnits := orgWith("manyunits.json", func(o map[string]any) {
		var us []map[string]string
		for i := 0; i < 100000; i++ {
			us = append(us, map[string]string{"code": fmt.Sprintf("U%d", i), "name": "U"})
		}
		o["units"] = us
	})
	config := func(name, text string) string { return e.file(name, text) }

	start := func(args ...string) []string {
		return append([]string{"cycle", "start", "--provider", p, "--year", "2027", "--as", "m.manager"}, args...)
	}
	long := strings.Repeat("A", 100_000)
	// The refusals change nothing, so they run side by side, eight at a
	// time, to keep the test short.
	var wg sync.WaitGroup
	slots := make(chan struct{}, 8)
	run := func(code int, want string, args []string) {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			e.refusedLine(code, want, args...)
		}()
	}
	wait := wg.Wait

	// Before the cycle: what would otherwise start one, and plan imports
	// (refused for another reason while a cycle runs).
	for _, c := range []struct {
		code int
		want string
		args []string
	}{
		{2, `cycle start: --year "99999999999999999999" is far too large a number`, []string{"cycle", "start", "--provider", p, "--year", "99999999999999999999", "--as", "m.manager"}},
		{2, `cycle start: --year "9223372036854775808" is far too large a number`, []string{"cycle", "start", "--provider", p, "--year", "9223372036854775808", "--as", "m.manager"}},
		{2, `cycle start: --year "2027.5" is not a whole number`, []string{"cycle", "start", "--provider", p, "--year", "2027.5", "--as", "m.manager"}},
		{2, `cycle start: --year is empty`, []string{"cycle", "start", "--provider", p, "--year", "", "--as", "m.manager"}},
		{2, `cycle start: --provider is only white space`, []string{"cycle", "start", "--provider", "  ", "--year", "2027", "--as", "m.manager"}},
		{2, `cycle start: --year is given twice`, start("--year", "2028")},
		{2, `cycle start: --config is empty`, start("--config", "")},
		{2, `cycle start: unknown flag --colour`, start("--colour", "blue")},
		{2, `cycle start takes no arguments, got now`, start("now")},
		{2, `cycle start needs --as`, []string{"cycle", "start", "--provider", p, "--year", "2027"}},
		{1, `year 0 is not a year between 2000 and 2999`, []string{"cycle", "start", "--provider", p, "--year", "0", "--as", "m.manager"}},
		{1, `year -1 is not a year between 2000 and 2999`, []string{"cycle", "start", "--provider", p, "--year", "-1", "--as", "m.manager"}},
		{1, `year 9223372036854775807 is not a year between 2000 and 2999`, []string{"cycle", "start", "--provider", p, "--year", "9223372036854775807", "--as", "m.manager"}},
		{1, `provider "` + long[:64] + `"… is not a provider code`, []string{"cycle", "start", "--provider", long, "--year", "2027", "--as", "m.manager"}},
		{1, `there is no person "nobody"`, []string{"cycle", "start", "--provider", p, "--year", "2027", "--as", "nobody"}},
		{1, `may not start the cycle`, []string{"cycle", "start", "--provider", p, "--year", "2027", "--as", "north.staff"}},
		{1, `cannot read /nonexistent.json: no such file or directory`, start("--config", "/nonexistent.json")},
		{1, `cannot read ` + e.dir + `: it is a folder, not a file`, start("--config", e.dir)},
		{1, `is larger than 8 MiB`, start("--config", huge)},
		{1, `empty.json is empty`, start("--config", path("empty.json"))},
		{1, `blank.json is empty`, start("--config", path("blank.json"))},
		{1, `binary.json is not valid UTF-8 text (at byte 1)`, start("--config", binary)},
		{1, `deep.json nests objects and lists more than 32 deep`, start("--config", path("deep.json"))},
		{1, `trailing.json has more than one JSON value`, start("--config", path("trailing.json"))},
		{1, `has the key "max_rounds" twice`, start("--config", config("dup.json", `{"max_rounds": 3, "max_rounds": 10}`))},
		{1, `has the key "EVALUATE" twice in phases`, start("--config", config("dup2.json", `{"phases": {"evaluate": "2h", "EVALUATE": "1000h"}}`))},
		{1, `has an unknown field "colour"`, start("--config", config("unknown.json", `{"colour": "blue"}`))},
		{1, `max_rounds must be a number, not string`, start("--config", config("type.json", `{"max_rounds": "3"}`))},
		{1, `max_rounds 99999999999999999999 is out of range`, start("--config", config("bignum.json", `{"max_rounds": 99999999999999999999}`))},
		{1, `max_rounds must be a whole number, not 2.5`, start("--config", config("frac.json", `{"max_rounds": 2.5}`))},
		{1, `max_rounds must be at most 10`, start("--config", config("rounds.json", `{"max_rounds": 1000000}`))},
		{1, `phases.evaluate "six weeks" is not a duration`, start("--config", config("dur.json", `{"phases": {"evaluate": "six weeks"}}`))},
		{1, `phases.consult "3600" is not a duration`, start("--config", config("durnum.json", `{"phases": {"consult": 3600}}`))},
		{1, `phases.update "-1h" is not a duration of more than zero`, start("--config", config("durneg.json", `{"phases": {"update": "-1h"}}`))},
		{1, `phases.signoff 2562047h0m0s is longer than a year`, start("--config", config("durhuge.json", `{"phases": {"signoff": "2562047h"}}`))},
		{1, `reminders.every 1ns is too often`, start("--config", config("every.json", `{"reminders": {"every": "1ns"}}`))},
		{1, `sections has the same key twice`, start("--config", config("secdup.json", `{"sections": [{"key": "a", "title": "A"}, {"key": "a", "title": "B"}]}`))},
		{1, `sections[0].title is required (it holds only white space)`, start("--config", config("sectitle.json", `{"sections": [{"key": "a", "title": "   "}]}`))},
		{1, `contains a control character (U+001B)`, start("--config", config("ctl.json", `{"sections": [{"key": "a", "title": "\u001b[2J"}]}`))},
		{1, `indicators.target 1e400 is out of range`, start("--config", config("ind.json", `{"indicators": [{"code": "A", "name_fi": "a", "name_en": "a", "target": 1e400}]}`))},
		{1, `is already the code of indicators[0]`, start("--config", config("inddup.json", `{"indicators": [{"code": "A", "name_fi": "a", "name_en": "a", "target": 1}, {"code": "A", "name_fi": "b", "name_en": "b", "target": 2}]}`))},
		{1, `is not a unit of the provider`, start("--config", config("indunit.json", `{"indicators": [{"code": "A", "name_fi": "a", "name_en": "a", "target": 1, "unit_targets": [{"unit": "NOWHERE", "target": 1}]}]}`))},

		{2, `org import: FILE.json is empty`, []string{"org", "import", ""}},
		{1, `has the key "code" twice in provider`, []string{"org", "import", e.file("orgdup.json", `{"provider": {"code": "`+p+`", "name": "A", "code": "OTHER"}, "units": [], "people": []}`)}},
		{1, `latin1.json is not valid UTF-8 text (at byte 45)`, []string{"org", "import", path("latin1.json")}},
		{1, `deepobj.json nests objects and lists more than 32 deep`, []string{"org", "import", path("deepobj.json")}},
		{1, `units[3]: unit code "NORTH" is listed twice`, []string{"org", "import", orgWith("unitdup.json", func(o map[string]any) {
			o["units"] = append(o["units"].([]map[string]string), map[string]string{"code": "NORTH", "name": "Again"})
		})}},
		{1, `person ID "m.manager" is listed twice`, []string{"org", "import", orgWith("persondup.json", func(o map[string]any) {
			o["people"] = append(people(o), people(o)[0])
		})}},
		{1, `manager is listed twice`, []string{"org", "import", orgWith("roledup.json", func(o map[string]any) {
			people(o)[0]["roles"] = []map[string]string{{"role": "manager", "unit": ""}, {"role": "manager", "unit": ""}}
		})}},
		{1, `provider.name is required (it holds only white space)`, []string{"org", "import", orgWith("blankname.json", func(o map[string]any) {
			o["provider"] = map[string]string{"code": p, "name": "   "}
		})}},
		{1, `people[0].name contains a control character (U+0007)`, []string{"org", "import", orgWith("bell.json", func(o map[string]any) { people(o)[0]["name"] = "Maija\a" })}},
		{1, `provider.name must be at most 200 characters`, []string{"org", "import", orgWith("longname.json", func(o map[string]any) {
			o["provider"] = map[string]string{"code": p, "name": long}
		})}},
		{1, `units may have at most 500 entries`, []string{"org", "import", manyUnits}},
		{1, `must be a JSON object, not array`, []string{"org", "import", e.file("list.json", `[]`)}},

		{1, `cannot read ` + e.dir + `: it is a folder, not a file`, []string{"plan", "import", "--provider", p, e.dir}},
		{1, `the document is not UTF-8 text`, []string{"plan", "import", "--provider", p, binary}},
		{1, `effective_from "2027-02-30" is not a date`, []string{"plan", "import", "--provider", p, "--effective", "2027-02-30", e.file("plan.md", currentPlan)}},
		{1, `is not a heading, for want of a space after the #s`, []string{"plan", "import", "--provider", p, e.file("unspaced.md", "##"+long+"\n")}},
		{2, `plan import: --effective is given twice`, []string{"plan", "import", "--provider", p, "--effective", "2027-08-01", "--effective", "2027-09-01", path("plan.md")}},
		{1, `version 9223372036854775807 is not a version number`, []string{"plan", "show", "--provider", p, "--version", "9223372036854775807"}},
		{1, `to 2147483648 is not a version number`, []string{"plan", "diff", "--provider", p, "--from", "1", "--to", "2147483648"}},
		{2, `plan export: --format is empty`, []string{"plan", "export", "--provider", p, "--format", "", "--out", path("h.md")}},

		{1, `month 13 is not a month (1-12)`, []string{"schedule", "set", "--provider", p, "--month", "13", "--day", "1", "--as", "m.manager"}},
		{1, `day 31 is not a day of February`, []string{"schedule", "set", "--provider", p, "--month", "2", "--day", "31", "--as", "m.manager"}},
		{1, `hour 24 is not an hour (0-23)`, []string{"schedule", "set", "--provider", p, "--month", "8", "--day", "1", "--hour", "24", "--as", "m.manager"}},
		{2, `schedule set: --hour "1e3" is not a whole number`, []string{"schedule", "set", "--provider", p, "--month", "8", "--day", "1", "--hour", "1e3", "--as", "m.manager"}},
		{1, `reminders.every 1ns is too often`, []string{"schedule", "set", "--provider", p, "--month", "8", "--day", "1", "--as", "m.manager", "--config", path("every.json")}},

		{1, `--since "yesterday" is not a date`, []string{"audit", "log", "--since", "yesterday"}},
		{2, `audit log: --since is empty`, []string{"audit", "log", "--since", ""}},
		{1, `actor "Maija Manager" is not a person ID`, []string{"audit", "log", "--actor", "Maija Manager"}},
		{2, `token revoke: TOKEN_ID is empty`, []string{"token", "revoke", " "}},
		{1, `"` + long[:64] + `"… is not an API token ID`, []string{"token", "revoke", long}},
		{1, `there is no person "nobody"`, []string{"person", "disable", "nobody", "--reason", "left"}},
		{1, `the reason contains characters that are not text`, []string{"person", "disable", "north.rep", "--reason", "left\x1b[2J"}},
		{2, `person disable: --reason is only white space`, []string{"person", "disable", "north.rep", "--reason", " \t "}},
	} {
		run(c.code, c.want, c.args)
	}
	wait()
	if out := e.ok("cycle", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("a refusal started a cycle: %s", out)
	}

	// A cycle, and bad input against its open task.
	e.ok("cycle", "start", "--provider", p, "--year", year, "--as", "m.manager", "--config",
		e.file("c.json", `{"phases": {"evaluate": "2h", "consult": "2h", "update": "1h", "signoff": "1h", "approve": "1h"}}`))
	id := e.taskID(review.KindEvaluate, 0, "NORTH")
	task := e.waitTask(id)
	outcome := func(name, text string) []string {
		return []string{"task", "complete", id, "--as", "north.staff", "--outcome", e.file(name, text)}
	}
	for _, c := range []struct {
		code int
		want string
		args []string
	}{
		{2, `task show: TASK_ID is empty`, []string{"task", "show", ""}},
		{1, `there is no task "` + long[:64] + `"…`, []string{"task", "show", long}},
		{1, `there is no task "` + p + `/1999/evaluate/NORTH"`, []string{"task", "show", p + "/1999/evaluate/NORTH"}},
		{2, `task complete needs --outcome`, []string{"task", "complete", id, "--as", "north.staff"}},
		{1, `has the key "id" twice in findings[0]`, outcome("o1.json", `{"findings": [{"id": "F1", "id": "F2", "section": "communal", "severity": "info", "text": "x"}]}`)},
		{1, `findings[0].text is required (it holds only white space)`, outcome("o2.json", `{"findings": [{"id": "F1", "section": "communal", "severity": "info", "text": "   "}]}`)},
		{1, `findings[0].text contains a control character (U+0008)`, outcome("o3.json", `{"findings": [{"id": "F1", "section": "communal", "severity": "info", "text": "back\bspace"}]}`)},
		{1, `nests objects and lists more than 32 deep`, []string{"task", "complete", id, "--as", "north.staff", "--outcome", path("deep.json")}},
		{1, `indicators.value 1e999 is out of range`, outcome("o4.json", `{"indicators": [{"name": "x", "value": 1e999, "target": 1}]}`)},
		{1, `has an unknown field "student_name"`, outcome("o5.json", `{"findings": [{"id": "F1", "section": "communal", "severity": "info", "text": "x", "student_name": "Anna"}]}`)},
		{1, `cannot read ` + e.dir + `: it is a folder, not a file`, []string{"task", "complete", id, "--as", "north.staff", "--outcome", e.dir}},
		{2, `task extend: --by "3 days" is not a duration such as 72h or 90m`, []string{"task", "extend", id, "--as", "m.manager", "--by", "3 days", "--reason", "r"}},
		{2, `task extend: --by is given twice`, []string{"task", "extend", id, "--as", "m.manager", "--by", "1h", "--by", "2h", "--reason", "r"}},
		{1, `would move the due time earlier`, []string{"task", "extend", id, "--as", "m.manager", "--by", "-72h", "--reason", "r"}},
		{1, `is more than a year away`, []string{"task", "extend", id, "--as", "m.manager", "--by", "2562047h", "--reason", "r"}},
		{1, `is more than a year away`, []string{"task", "extend", id, "--as", "m.manager", "--due", "9999-12-31", "--reason", "r"}},
		{1, `is not later than the current one`, []string{"task", "extend", id, "--as", "m.manager", "--due", "2000-01-01", "--reason", "r"}},
		{1, `--due "2027-02-30" is not a date`, []string{"task", "extend", id, "--as", "m.manager", "--due", "2027-02-30", "--reason", "r"}},
		{1, `the reason may be at most 1000 characters`, []string{"task", "reassign", id, "--as", "m.manager", "--to", "north.staff", "--reason", long}},
		{1, `the reason contains characters that are not text`, []string{"task", "reassign", id, "--as", "m.manager", "--to", "north.staff", "--reason", "moved\a"}},
		{1, `to "North Staff" is not a person ID`, []string{"task", "delegate", id, "--as", "north.staff", "--to", "North Staff"}},
		{1, `the reason contains characters that are not text`, []string{"cycle", "cancel", "--provider", p, "--year", year, "--as", "m.manager", "--reason", "\x1b[31mstop"}},
		{1, `cannot write ` + e.dir + `: it is a folder`, []string{"report", "--provider", p, "--year", year, "--out", e.dir}},
		{1, `cannot write /nonexistent/r.md: there is no folder /nonexistent`, []string{"report", "--provider", p, "--year", year, "--out", "/nonexistent/r.md"}},
		{2, `report: --format must be md or html (got "pdf")`, []string{"report", "--provider", p, "--year", year, "--format", "pdf"}},
	} {
		run(c.code, c.want, c.args)
	}
	wait()

	// Nothing was written: the rows are exactly those of the accepted
	// commands, and the task is as it was opened.
	for q, want := range map[string]int{
		`SELECT count(*) FROM cycles`:                                 1,
		`SELECT count(*) FROM units`:                                  3,
		`SELECT count(*) FROM people`:                                 len(e.org()["people"].([]map[string]any)),
		`SELECT count(*) FROM tasks WHERE status <> 'open'`:           0,
		`SELECT count(*) FROM tasks WHERE assignee <> ''`:             0,
		`SELECT count(*) FROM findings`:                               0,
		`SELECT count(*) FROM indicators`:                             0,
		`SELECT count(*) FROM plan_versions`:                          0,
		`SELECT count(*) FROM accounts WHERE disabled_at IS NOT NULL`: 0,
		`SELECT count(*) FROM audit_events WHERE action NOT IN ('org.imported', 'cycle.started', 'cycle.phase_changed', 'task.opened')`: 0,
	} {
		if n := e.count(q); n != want {
			t.Errorf("%s: %d after the refusals, want %d", q, n, want)
		}
	}
	if shown := e.mustShow(id); shown.Status != review.TaskOpen {
		t.Errorf("task %s is %s after the refusals", id, shown.Status)
	}
	c := dialTemporal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var notFound *serviceerror.NotFound
	if _, err := c.DescribeWorkflow(ctx, review.CycleID(p, 2027), ""); !errors.As(err, &notFound) {
		t.Errorf("a refused cycle start reached Temporal: %v", err)
	}
	iter := c.GetWorkflowHistory(ctx, task.WorkflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED {
			t.Errorf("the unit's workflow has a failed workflow task: %v", ev)
		}
	}
}

// refusedLine runs a command that must be refused with the exit code, its
// first line on stderr containing want, short (a value of 100 kB is not
// repeated whole, at most ten problems named), with no stack trace and no driver text; a refusal
// (exit 1) is that one line only.
func (e *env) refusedLine(code int, want string, args ...string) {
	e.t.Helper()
	r := e.starter(args...)
	first, _, _ := strings.Cut(r.stderr, "\n")
	shown := strings.Join(args, " ")
	if len(shown) > 200 {
		shown = shown[:200] + "…"
	}
	switch {
	case r.code != code:
		e.t.Errorf("starter %s: want exit %d saying %q, got exit %d: %.300s", shown, code, want, r.code, r.stderr)
	case !strings.Contains(first, want):
		e.t.Errorf("starter %s: want the first line to contain %q, got %.400q", shown, want, first)
	case len(first) > 2000:
		e.t.Errorf("starter %s: a first line of %d bytes", shown, len(first))
	case code == 1 && strings.Count(r.stderr, "\n") != 1:
		e.t.Errorf("starter %s: want one line on stderr, got %.400q", shown, r.stderr)
	case strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "pq:") || strings.Contains(r.stderr, "json: cannot") || strings.Contains(r.stderr, "json: unknown"):
		e.t.Errorf("starter %s: internal text on stderr: %.400s", shown, r.stderr)
	}
}
