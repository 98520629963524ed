package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDemoRunsTwoYears runs 'starter demo' as 'make demo' does, on the
// test's own database and worker: it imports the college's plan, runs two
// consecutive cycles and writes their documents, which show the plan's
// substance across both years.
func TestDemoRunsTwoYears(t *testing.T) {
	e := newEnv(t)
	e.startWorker()
	e.refused(2, `demo: --provider "a b" is not a provider code`, "demo", "--provider", "a b")
	// Its own provider code, so that its cycles' workflows never meet
	// earlier demos' on the shared Temporal server: it takes this year.
	code := e.provider
	out := e.ok("demo", "--provider", code)

	// The years the demo took: the first two free ones on the Temporal
	// server, which other runs of the demo share.
	m := regexp.MustCompile(`=== (\d{4}): ella\.manager started review-cycle/`+code+`/\d{4} ===`).FindAllStringSubmatch(out, -1)
	if len(m) != 2 {
		t.Fatalf("the demo did not start two cycles:\n%s", out)
	}
	y1, y2 := m[0][1], m[1][1]
	if y1 != strconv.Itoa(time.Now().Year()) {
		t.Errorf("the demo of provider %s began in %s, want this year", code, y1)
	}
	if n1, _ := strconv.Atoi(y1); strconv.Itoa(n1+1) != y2 {
		t.Fatalf("the demo's cycles are of %s and %s, want consecutive years", y1, y2)
	}
	for _, want := range []string{
		"ella.manager imported the college's current plan as version 1 (6 sections, annexes of FOREST, HARBOUR, NORTH)",
		"north.students tries to file the staff's evaluation: refused",
		"is overdue: the workflow escalated it to the managers (ella.manager)",
		"pekka.editor's first draft leaves an item of the legal-content checklist out: outcome of task " + code + "/" + y1 + "/draft/r1: " +
			"the legal-content checklist is not covered: say where the plan covers implementation (How the plan is implemented and followed up)",
		"pekka.editor deferred FOREST/S1 to next year",
		"Cycle review-cycle/" + code + "/" + y1 + " completed in 2 rounds",
		"carried from " + y1 + ": " + y1 + "/FOREST/S1",
		"change C3 (annex/NORTH) answers NORTH/F3",
		"Cycle review-cycle/" + code + "/" + y2 + " completed in 1 round",
		"    WELLBEING  NORTH    score 1-5     " + y1 + ": 3.6 (target ≥ 4)  not met       " + y2 + ": 3.9 (target ≥ 4)  not met",
		"    DROPOUT    FOREST   %             " + y1 + ": — (target ≤ 8)    not measured  " + y2 + ": 7.8 (target ≤ 8)  met",
		"audit trail        hash chain verified: ok",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo does not say %q", want)
		}
	}
	if !strings.Contains(out, `Logins for the web pages (password "harjula-demo-2026" for everyone):`) ||
		!strings.Contains(out, "north.students") {
		t.Errorf("the demo does not list the logins for the pages:\n%s", out)
	}
	if n := e.count(`SELECT count(*) FROM accounts WHERE password_hash <> ''`); n != 14 {
		t.Errorf("the demo gave %d of its 14 people a password", n)
	}
	if n := e.count(`SELECT count(*) FROM audit_events WHERE action = 'password.set' AND actor = 'operator'`); n != 14 {
		t.Errorf("the audit trail records %d passwords the operator gave, want 14", n)
	}
	if n := e.count(`SELECT count(*) FROM plan_versions`); n != 3 {
		t.Errorf("the demo left %d plan versions, want 3: the import and one per year", n)
	}

	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(e.dir, "out", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	report := read("report-" + code + "-" + y2 + ".md")
	for _, want := range []string{
		"| Indicator | Unit | Target reached when the value is | " + y1 + " | " + y2 + " |",
		"## 9. How last cycle's changes worked, across units",
		"| `" + y1 + "/FOREST/S1` | student feedback | individual | It is hard to find out when the counsellor is available. | " + y1 + " | " + y1 + ": deferred (",
		"| `crises_threats` | Acting in sudden crises and threatening situations |",
		"| `NORTH/F3` | major finding | annex/NORTH |",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report of %s does not say %q", y2, want)
		}
	}
	handbook := read("plan-" + code + "-v3.md")
	for _, want := range []string{
		"### Legal content",
		"| `violence_bullying` | Protecting students from violence, bullying and harassment |",
		"approved for unit NORTH: the common part and NORTH's annex",
		"### Annex NORTH: Pohjoinen kampus / North Campus",
		"At breaks in the workshop halls the hall master and a teacher from the rota supervise",
		// The imported text stays, with what the cycles added after it.
		"Bullying, violence and harassment are always acted upon",
		"The break supervision rota also covers the workshop halls",
	} {
		if !strings.Contains(handbook, want) {
			t.Errorf("the handbook of version 3 does not say %q", want)
		}
	}
	if csv := read("trends-" + code + ".csv"); !strings.Contains(csv, "DROPOUT,Keskeyttäneiden osuus,Students who drop out,FOREST,"+y1+",,8,%,lower,not_measured,") {
		t.Errorf("the trends CSV lacks FOREST's drop-out figure not measured in %s:\n%s", y1, csv)
	}
}
