package e2e

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
)

// currentPlan is the plan the test provider brings when it adopts OHO: two
// sections with text, a numbered heading, a sub-heading inside a section,
// and North campus's annex.
const currentPlan = `# Test College student welfare plan 2025

## Communal welfare

Two supervisors at every break.

## 3. Individual welfare

The nurse is in on weekdays.

### Autumn

Drop-in hours in September.

## Annex NORTH: North campus arrangements

North's welfare group meets monthly.
`

// refusedOneLine runs a command that must be refused with exit 1 and exactly
// one line on stderr containing want.
func (e *env) refusedOneLine(want string, args ...string) {
	e.t.Helper()
	e.refused(1, want, args...)
	if r := e.starter(args...); strings.Count(r.stderr, "\n") != 1 {
		e.t.Errorf("starter %s: want one line on stderr, got %q", strings.Join(args, " "), r.stderr)
	}
}

// TestImportedPlanThroughCommandLine imports a provider's current plan with
// a unit annex through the command line, with the mistakes people make, then
// runs a cycle from it in which North finds something in its own annex, the
// draft rewrites that annex and the version is published; plan show, diff,
// export and the report show the annex and where the imported version came
// from.
func TestImportedPlanThroughCommandLine(t *testing.T) {
	e := newEnv(t)
	e.startWorker()
	e.ok("org", "import", e.file("org.json", e.org()))
	planFile := e.file("plan.md", currentPlan)
	imp := func(args ...string) []string {
		return append([]string{"plan", "import", "--provider", e.provider}, args...)
	}

	// The mistakes: usage, people who may not, files that are wrong.
	e.refused(2, "plan import needs FILE.md", imp()...)
	e.refused(2, "plan import needs --provider", "plan", "import", planFile)
	e.refused(2, "unknown flag --add-section", imp(planFile, "--add-section")...)
	e.refusedOneLine("cannot read", imp(e.dir+"/missing.md")...)
	e.refusedOneLine(`"north.staff" may not administer the plan of `+e.provider+`: only the provider's managers may`, imp(planFile, "--as", "north.staff")...)
	e.refusedOneLine(`"north.head" may not administer the plan of `+e.provider, imp(planFile, "--as", "north.head")...)
	e.refusedOneLine(`effective_from "1.8.2025" is not a date written as YYYY-MM-DD`, imp(planFile, "--as", "m.manager", "--effective", "1.8.2025")...)
	canteen := e.file("canteen.md", "## Communal welfare\nx\n\n## Canteen\nLunch at eleven.\n")
	e.refusedOneLine(`canteen.md: line 4: "Canteen" is not a section of the plan; the known sections are "Overall welfare need and services" {#welfare_need}`, imp(canteen, "--as", "m.manager")...)
	e.refusedOneLine(`line 1: an annex of WEST, which is not a unit of the provider (units: FOREST, HARBOUR, NORTH)`,
		imp(e.file("west.md", "## Annex WEST\nx\n"), "--as", "m.manager")...)
	e.refusedOneLine(`line 1: text before the first section heading ("This plan was approved by the board.")`,
		imp(e.file("intro.md", "This plan was approved by the board.\n\n## Communal welfare\nx\n"), "--as", "m.manager")...)
	e.refusedOneLine(`line 4: "communal welfare" gives section "communal" (Communal welfare) a second time (first on line 1)`,
		imp(e.file("twice.md", "## Communal welfare\nx\n\n## communal welfare\ny\n"), "--as", "m.manager")...)
	e.refusedOneLine("the document has no section headings", imp(e.file("empty.md", "\n\n"), "--as", "m.manager")...)
	if n := e.count(`SELECT count(*) FROM plan_versions`); n != 0 {
		t.Fatalf("refused imports recorded %d versions", n)
	}

	// The import, and the same file again.
	out := e.ok(imp(planFile, "--as", "m.manager", "--effective", "2025-08-01")...)
	for _, want := range []string{
		"imported the plan of " + e.provider + " as version 1, effective from 2025-08-01",
		"sections         communal, individual, welfare_need, cooperation, common_practices, monitoring",
		"unit annexes     NORTH",
		"empty sections   welfare_need, cooperation, common_practices, monitoring (no text in the file)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan import: got\n%s\nwant it to say %q", out, want)
		}
	}
	if out := e.ok(imp(planFile)...); !strings.Contains(out, "version 1 of the plan of "+e.provider+" already has this text") {
		t.Errorf("the operator importing the same file again: got %q, want nothing imported", out)
	}
	v1, hash1 := e.storedPlan(1)
	if got := v1.Annexes; len(got) != 1 || got[0] != (review.Annex{Unit: "NORTH", Title: "North campus arrangements", Text: "North's welfare group meets monthly."}) {
		t.Errorf("stored annexes %+v, want North's", got)
	}
	if text, _ := v1.Text("individual"); text != "The nurse is in on weekdays.\n\n### Autumn\n\nDrop-in hours in September." {
		t.Errorf("stored individual welfare %q, want the text with its sub-heading as written", text)
	}
	if out := e.ok("plan", "show", "--provider", e.provider); !strings.Contains(out, "by m.manager, not yet reviewed in OHO") ||
		!strings.Contains(out, "Annex NORTH: North campus arrangements\nNorth's welfare group meets monthly.") {
		t.Errorf("plan show of the imported version: got\n%s", out)
	}
	handbook := e.dir + "/imported.md"
	e.ok("plan", "export", "--provider", e.provider, "--format", "md", "--out", handbook)
	if b, err := os.ReadFile(handbook); err != nil || !strings.Contains(string(b), "imported by Maija Manager (m.manager) on") ||
		!strings.Contains(string(b), "not yet reviewed in OHO") || !strings.Contains(string(b), "### Annex NORTH: North campus arrangements") {
		t.Errorf("plan export of the imported version (%v):\n%s", err, b)
	}

	// A cycle from the imported version.
	yr := review.CycleID(e.provider, 2026)
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", "2026", "--config",
		e.file("config.json", `{"phases": {"evaluate": "2h", "consult": "2h", "update": "1h", "signoff": "1h", "approve": "1h"}}`))
	// The cycle is running once its worker has recorded it (the evaluate
	// tasks are open): from then on it drafts from version 1, and an import
	// is refused. (Until then, an import comes before the cycle, which then
	// starts from it.)
	evalNorth := e.waitTask(e.taskID(review.KindEvaluate, 0, "NORTH"))
	e.refusedOneLine("the plan of "+e.provider+" cannot be imported while cycle "+yr+" is running", imp(planFile, "--as", "m.manager")...)
	var evalIn review.EvaluateInput
	if err := json.Unmarshal(evalNorth.Input, &evalIn); err != nil || evalIn.Annex != "annex/NORTH" {
		t.Errorf("North's evaluate task shows annex %q (%v), want annex/NORTH", evalIn.Annex, err)
	}
	annexFinding := map[string]any{"id": "F3", "section": "annex/NORTH", "severity": "major",
		"text": "North's welfare group has no contact list", "recommendation": "Post the contacts"}
	wrong := evaluation("HARBOUR")
	wrong["findings"] = append(wrong["findings"].([]map[string]any), annexFinding)
	e.waitTask(e.taskID(review.KindEvaluate, 0, "HARBOUR"))
	e.refusedOneLine(`findings[2].section "annex/NORTH" is the annex of unit NORTH: a unit's findings and feedback may point at the plan's sections and its own annex (annex/HARBOUR) only`,
		"task", "complete", e.taskID(review.KindEvaluate, 0, "HARBOUR"), "--as", "harbour.staff", "--outcome", e.file("wrong-annex.json", wrong))
	for _, u := range units {
		eval := evaluation(u)
		if u == "NORTH" {
			eval["findings"] = append(eval["findings"].([]map[string]any), annexFinding)
		}
		e.complete(e.taskID(review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", eval)
		e.complete(e.taskID(review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}

	d := draft(1)
	annexText := "North's welfare group meets monthly.\nThe contact list is on the notice board by room 12."
	d["changes"] = append(d["changes"].([]map[string]any), map[string]any{"id": "C3", "section": "annex/NORTH", "text": annexText,
		"rationale": "North had no contact list", "addresses": []string{"NORTH/F3"}})
	d["dispositions"] = append(d["dispositions"].([]map[string]any), map[string]any{"item": "NORTH/F3", "decision": "addressed", "change": "C3"})
	draftID := e.taskID(review.KindDraft, 1, "")
	e.waitTask(draftID)
	bad := map[string]any{"changes": append(slices.Clone(d["changes"].([]map[string]any)), map[string]any{"id": "C4", "section": "annex/WEST", "text": "x", "rationale": "y"}),
		"dispositions": d["dispositions"]}
	e.refusedOneLine(`changes[3].section "annex/WEST" is the annex of WEST, which is not a unit of the provider (units: FOREST, HARBOUR, NORTH)`,
		"task", "complete", draftID, "--as", "p.editor", "--outcome", e.file("west-draft.json", bad))
	e.complete(draftID, "p.editor", d)

	for _, u := range units {
		sid := e.taskID(review.KindSignOff, 1, u)
		task := e.waitTask(sid)
		if u == "NORTH" {
			if task.Draft == nil || len(task.Draft.Content.Annexes) != 1 || task.Draft.Content.Annexes[0].Text != annexText ||
				task.Draft.Content.Hash() != hashOf(task) {
				t.Errorf("North's sign-off task shows the draft %+v, want it with North's new annex, hashing to the hash to sign", task.Draft)
			}
			if out := e.ok("task", "show", sid); !strings.Contains(out, "[annex/NORTH] North campus arrangements\n    "+annexText) {
				t.Errorf("task show %s does not show the annex:\n%s", sid, out)
			}
		}
		e.complete(sid, strings.ToLower(u)+".head", map[string]any{"decision": "approve", "version_hash": hashOf(task)})
	}
	e.complete(e.taskID(review.KindApprove, 1, ""), "r.approver", map[string]any{"decision": "approve", "effective_from": "2026-08-01"})
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM plan_versions WHERE cycle_id = $1`, yr) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cycle did not publish within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	v2, hash2 := e.storedPlan(2)
	if a, ok := v2.Annex("NORTH"); !ok || a.Text != annexText || a.Title != "North campus arrangements" {
		t.Errorf("version 2 has North's annex %+v (%v), want the draft's text under the imported title", a, ok)
	}

	var meanings []string
	if err := e.db.Select(&meanings, `SELECT unit_code || ': ' || meaning FROM signoffs ORDER BY unit_code`); err != nil {
		t.Fatal(err)
	}
	wantMeanings := []string{
		"FOREST: approved for unit FOREST: the common part (FOREST has no annex)",
		"HARBOUR: approved for unit HARBOUR: the common part (HARBOUR has no annex)",
		"NORTH: approved for unit NORTH: the common part and NORTH's annex",
	}
	if !slices.Equal(meanings, wantMeanings) {
		t.Errorf("got sign-off meanings %q, want %q", meanings, wantMeanings)
	}

	// plan diff: the annex like a section, and where version 1 came from.
	out = e.ok("plan", "diff", "--provider", e.provider, "--from", "1", "--to", "2")
	for _, want := range []string{
		"version 1 (" + hash1[:12] + "…) → version 2 (" + hash2[:12] + "…)",
		"version 1 was imported by m.manager, not made by a review cycle",
		"annex/NORTH (North campus arrangements): changed\n      North's welfare group meets monthly.\n    + The contact list is on the notice board by room 12.\n",
		"version 2, C3 (annex/NORTH): North had no contact list",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan diff does not say %q:\n%s", want, out)
		}
	}
	var diff struct {
		From     map[string]any `json:"from"`
		Sections []struct {
			Key, Change string
			NewTitle    string `json:"new_title"`
		} `json:"sections"`
	}
	if err := json.Unmarshal([]byte(e.ok("plan", "diff", "--provider", e.provider, "--from", "1", "--to", "2", "--json")), &diff); err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(diff.Sections, func(s struct {
		Key, Change string
		NewTitle    string `json:"new_title"`
	}) bool {
		return s.Key == "annex/NORTH"
	}); i < 0 || diff.Sections[i].Change != "changed" || diff.Sections[i].NewTitle != "North campus arrangements" || diff.From["source"] != "import" {
		t.Errorf("plan diff --json: got %+v, want annex/NORTH changed and version 1 from an import", diff)
	}

	// plan export of version 2: the annex after the common part, signed with
	// what each sign-off covers.
	for _, format := range []string{"md", "html"} {
		file := e.dir + "/plan-v2." + format
		e.ok("plan", "export", "--provider", e.provider, "--version", "2", "--format", format, "--out", file)
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(b)
		for _, want := range []string{"Annex NORTH: North campus arrangements", "The contact list is on the notice board by room 12.",
			"the common part and NORTH", "HARBOUR has no annex", hash2} {
			if !strings.Contains(doc, want) {
				t.Errorf("plan export --version 2 --format %s lacks %q", format, want)
			}
		}
		common, annex := "## 1. Communal welfare", "### Annex NORTH"
		if format == "html" {
			common, annex = "<h2>1. Communal welfare</h2>", "<h3>Annex NORTH"
		}
		if i, j := strings.Index(doc, common), strings.Index(doc, annex); i < 0 || j < i {
			t.Errorf("plan export --format %s: want the annex (%q at %d) after the common part (%q at %d)", format, annex, j, common, i)
		}
	}

	// The report follows North's annex finding to its change in version 2.
	report := e.ok("report", "--provider", e.provider, "--year", "2026")
	var row string
	for _, line := range strings.Split(report, "\n") {
		if strings.Contains(line, "`NORTH/F3`") && strings.Contains(line, "C3 (annex/NORTH)") {
			row = line
		}
	}
	if !strings.Contains(row, "yes, version 2") {
		t.Errorf("the report does not trace NORTH/F3 to C3 in version 2:\n%s", report)
	}
}
