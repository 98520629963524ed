package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// reportCycle runs a whole cycle of provider ACME through the store, as the
// workflow would: two units evaluate and consult, NORTH sends the first
// draft back, the second is signed off, approved and published. A finding
// carries markup that the report must show as text.
type reportCycle struct {
	t        *testing.T
	s        *store.Store
	id       string
	year     int
	baseline review.PlanContent
}

const scriptFinding = `Reports of bullying <script>alert("x")</script> are not followed up the same way | everywhere & always.`

func newReportCycle(t *testing.T, s *store.Store, year int) *reportCycle {
	t.Helper()
	c := &reportCycle{t: t, s: s, id: review.CycleID("ACME", year), year: year}
	setup, err := s.SetupCycle(context.Background(), review.SetupCycleInput{CycleID: c.id, Provider: "ACME", Year: year})
	if err != nil {
		t.Fatal(err)
	}
	c.baseline = setup.Baseline
	return c
}

func (c *reportCycle) spec(kind review.TaskKind, round int, unit string) review.TaskSpec {
	wf := c.id
	if kind == review.KindEvaluate || kind == review.KindConsult {
		wf = review.UnitReviewID(c.id, unit)
	}
	return review.TaskSpec{ID: review.TaskID("ACME", c.year, kind, round, unit), CycleID: c.id, WorkflowID: wf,
		Kind: kind, Unit: unit, Round: round, Role: kind.AssigneeRole(), DueAt: time.Now().Add(time.Hour)}
}

func (c *reportCycle) open(phase review.Phase, round int, tasks ...review.TaskSpec) {
	c.t.Helper()
	if _, err := c.s.OpenTasks(context.Background(), review.OpenTasksInput{CycleID: c.id, Phase: phase, Round: round, Tasks: tasks}); err != nil {
		c.t.Fatal(err)
	}
}

func (c *reportCycle) complete(task review.TaskSpec, actor string, outcome any, draft *review.PlanContent) {
	c.t.Helper()
	raw, err := json.Marshal(outcome)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.s.CompleteTask(context.Background(), review.CompleteTaskInput{Task: task, Actor: actor, Outcome: raw, Draft: draft}); err != nil {
		c.t.Fatalf("completing %s: %v", task.ID, err)
	}
}

func (c *reportCycle) evaluate() {
	c.t.Helper()
	var tasks []review.TaskSpec
	for _, u := range []string{"NORTH", "SOUTH"} {
		tasks = append(tasks, c.spec(review.KindEvaluate, 0, u), c.spec(review.KindConsult, 0, u))
	}
	c.open(review.PhaseEvaluate, 0, tasks...)
	c.complete(tasks[0], "acme.nurse.north", map[string]any{
		"indicators": []map[string]any{
			{"name": "Feels safe at school", "value": 78.5, "target": 85, "unit": "%"},
			{"name": "Absent over 10% of lessons", "value": 6, "target": 8, "unit": "%", "better": "lower"}},
		"findings": []map[string]any{
			{"id": "F1", "section": "communal", "severity": "major", "text": scriptFinding, "recommendation": "One procedure."},
			{"id": "F2", "section": "individual", "severity": "minor", "text": "Nurse waiting times exceed two weeks."}},
	}, nil)
	c.complete(tasks[1], "acme.rep.north", map[string]any{"method": "council", "participants": 14, "held_on": "2025-03-12",
		"feedback": []map[string]any{{"id": "S1", "section": "cooperation", "text": "Tell us how our feedback changed the plan."}}}, nil)
	c.complete(tasks[2], "acme.nurse.south", map[string]any{
		"findings": []map[string]any{{"id": "F1", "section": "monitoring", "severity": "major", "text": "Indicators are never reviewed."}}}, nil)
	c.complete(tasks[3], "acme.rep.south", map[string]any{"method": "survey", "participants": 212, "held_on": "2025-03-20",
		"feedback": []map[string]any{
			{"id": "S1", "section": "communal", "text": "Quiet spaces for breaks are missing."},
			{"id": "S2", "section": "individual", "text": "Counsellor hours are hard to find."}}}, nil)
}

func (c *reportCycle) draft(round int, c1 string) review.PlanContent {
	c.t.Helper()
	changes := []review.Change{
		{ID: "C1", Section: "communal", Text: c1, Rationale: "Bullying finding", Addresses: []string{"NORTH/F1"}},
		{ID: "C2", Section: "monitoring", Text: "The welfare group reviews the indicators every term.", Rationale: "South's finding", Addresses: []string{"SOUTH/F1"}},
	}
	content := c.baseline.Apply(changes)
	c.open(review.PhaseUpdate, round, c.spec(review.KindDraft, round, ""))
	c.complete(c.spec(review.KindDraft, round, ""), "acme.editor", review.Draft{Changes: changes, Dispositions: []review.Disposition{
		{Item: "NORTH/F1", Decision: "addressed", Change: "C1"},
		{Item: "NORTH/S1", Decision: "deferred", Reason: "Handled with the new intranet next year."},
		{Item: "SOUTH/F1", Decision: "addressed", Change: "C2"},
		{Item: "SOUTH/S1", Decision: "rejected", Reason: "Premises are outside the plan; passed to facilities."},
		{Item: "SOUTH/S2", Decision: "deferred", Reason: "The intranet is renewed next year."},
	}}, &content)
	return content
}

func (c *reportCycle) run() {
	c.t.Helper()
	ctx := context.Background()
	c.evaluate()
	d1 := c.draft(1, "Every campus follows one anti-bullying procedure.")
	c.open(review.PhaseSignOff, 1, c.spec(review.KindSignOff, 1, "NORTH"), c.spec(review.KindSignOff, 1, "SOUTH"))
	c.complete(c.spec(review.KindSignOff, 1, "NORTH"), "acme.head.north",
		review.SignOff{Decision: "request_changes", Comment: "Name the owner.", VersionHash: d1.Hash()}, nil)
	if err := c.s.SupersedeTasks(ctx, review.SupersedeTasksInput{CycleID: c.id, TaskIDs: []string{c.spec(review.KindSignOff, 1, "SOUTH").ID}, Reason: "NORTH requested changes"}); err != nil {
		c.t.Fatal(err)
	}
	d2 := c.draft(2, "Every campus follows one anti-bullying procedure; the campus head owns it.")
	c.open(review.PhaseSignOff, 2, c.spec(review.KindSignOff, 2, "NORTH"), c.spec(review.KindSignOff, 2, "SOUTH"))
	for _, u := range []string{"NORTH", "SOUTH"} {
		c.complete(c.spec(review.KindSignOff, 2, u), "acme.head."+strings.ToLower(u), review.SignOff{Decision: "approve", VersionHash: d2.Hash()}, nil)
	}
	c.open(review.PhaseApprove, 2, c.spec(review.KindApprove, 2, ""))
	c.complete(c.spec(review.KindApprove, 2, ""), "acme.approver", review.Approval{Decision: "approve", EffectiveFrom: "2025-08-01"}, nil)
	if _, err := c.s.Publish(ctx, review.PublishInput{CycleID: c.id, Provider: "ACME", Round: 2, Content: d2, EffectiveFrom: "2025-08-01", ApprovedBy: "acme.approver"}); err != nil {
		c.t.Fatal(err)
	}
}

// runStarter runs the command line in-process and returns its output.
func runStarter(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// dbItem is a finding or feedback item as the database holds it, with the
// disposition of the published round.
type dbItem struct {
	Ref      string `db:"ref"`
	Text     string `db:"text"`
	Decision string `db:"decision"`
	Change   string `db:"change_id"`
	Reason   string `db:"reason"`
}

func dbItems(t *testing.T, db *sqlx.DB, cycleID string) []dbItem {
	t.Helper()
	var items []dbItem
	const q = `
SELECT i.ref, i.text, COALESCE(d.decision, '') AS decision, COALESCE(d.change_id, '') AS change_id, COALESCE(d.reason, '') AS reason
FROM (SELECT unit_code || '/' || item_id AS ref, text FROM findings WHERE cycle_id = $1
      UNION ALL SELECT unit_code || '/' || item_id, text FROM feedback_items WHERE cycle_id = $1) i
LEFT JOIN dispositions d ON d.cycle_id = $1 AND d.item_ref = i.ref
    AND d.round = (SELECT round FROM plan_versions WHERE cycle_id = $1)
ORDER BY i.ref`
	if err := db.SelectContext(context.Background(), &items, q, cycleID); err != nil {
		t.Fatal(err)
	}
	return items
}

// rowsOf returns the table rows of the output that begin with the item's
// reference, in the format's own markup.
func rowsOf(out, format, ref string) []string {
	var rows []string
	if format == "html" {
		return regexp.MustCompile(`<tr><td><code>`+regexp.QuoteMeta(ref)+`</code></td>.*?</tr>`).FindAllString(out, -1)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| `"+ref+"` |") {
			rows = append(rows, line)
		}
	}
	return rows
}

func TestReportEveryItemWithItsDisposition(t *testing.T) {
	db, url := dbtest.New(t)
	t.Setenv("DATABASE_URL", dbtest.AppURL(t, url)) // as the programs connect
	s := store.New(db)
	if _, err := s.ImportOrg(context.Background(), store.ActorOperator, dbtest.Org("ACME")); err != nil {
		t.Fatal(err)
	}
	c := newReportCycle(t, s, 2025)
	c.run()
	items := dbItems(t, db, c.id)
	if len(items) != 6 {
		t.Fatalf("got %d items in the database, want 6", len(items))
	}
	cyc, err := s.Cycle(context.Background(), "ACME", 2025)
	if err != nil {
		t.Fatal(err)
	}
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	// The command line shows the report's times in the provider's zone,
	// Helsinki's unless its organisation file names another.
	started := render.When(cyc.StartedAt, helsinki, render.English)

	for _, format := range []string{"md", "html"} {
		t.Run(format, func(t *testing.T) {
			out, stderr, code := runStarter("report", "--provider", "ACME", "--year", "2025", "--format", format)
			if code != 0 {
				t.Fatalf("report --format %s: exit %d: %s", format, code, stderr)
			}
			// How the format writes text from the records.
			esc := mdEscape
			if format == "html" {
				esc = template.HTMLEscapeString
			}
			for _, it := range items {
				rows := rowsOf(out, format, it.Ref)
				// The chain (section 3), the unit's findings or feedback (section 5), and for deferrals section 7.
				want := 2
				if it.Decision == "deferred" {
					want = 3
				}
				if len(rows) != want {
					t.Errorf("%s: got %d rows, want %d:\n%s", it.Ref, len(rows), want, strings.Join(rows, "\n"))
					continue
				}
				chain := rows[0]
				says := []string{esc(it.Text), it.Decision + " (round 2)", esc(it.Reason), it.Change}
				if it.Decision == "" {
					says = []string{esc(it.Text), "none (not required for minor findings)"}
				}
				for _, s := range says {
					if !strings.Contains(chain, s) {
						t.Errorf("%s: the chain row does not say %q:\n%s", it.Ref, s, chain)
					}
				}
				if it.Decision == "addressed" && (!strings.Contains(chain, "yes, version 1") ||
					!strings.Contains(chain, "version 1 (round 2): signed off for NORTH, SOUTH; approved for the provider by Director (acme.approver)")) {
					t.Errorf("%s: the chain row does not lead to version 1 and its signatures:\n%s", it.Ref, chain)
				}
			}
			if !strings.Contains(out, started) {
				t.Errorf("the report does not give the cycle's start in Helsinki time, %q", started)
			}
			for _, s := range []string{
				"changes requested for unit NORTH", "approved for unit NORTH", "approved for unit SOUTH", "approved for the provider, effective from 1 Aug 2025",
				"the sign-off for unit SOUTH was closed unsigned when the round ended",
				"Round 1: sent back: changes requested for NORTH", "Round 2: approved for the provider and published as version 1",
				"a council held on 12 Mar 2025; 14 students took part", "a survey held on 20 Mar 2025; 212 students took part",
				"at or below the target",
			} {
				if !strings.Contains(out, esc(s)) {
					t.Errorf("the report does not say %q", s)
				}
			}
			if format == "md" {
				if regexp.MustCompile(`(^|[^\\])<script`).MatchString(out) || !strings.Contains(out, `\<script\>alert("x")\</script\>`) {
					t.Errorf("the Markdown report does not escape the finding's markup")
				}
				return
			}
			if strings.Contains(strings.ToLower(out), "<script") || !strings.Contains(out, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
				t.Errorf("the HTML report does not escape the finding's <script>")
			}
			for _, external := range []string{"http:", "https:", "src=", "href=", "<link", "@import", "url(", "<iframe", "<img"} {
				if strings.Contains(strings.ToLower(out), external) {
					t.Errorf("the HTML report refers to something outside it: it contains %q", external)
				}
			}
		})
	}
}

func TestReportOfARunningCycleSaysSo(t *testing.T) {
	db, url := dbtest.New(t)
	t.Setenv("DATABASE_URL", dbtest.AppURL(t, url)) // as the programs connect
	s := store.New(db)
	if _, err := s.ImportOrg(context.Background(), store.ActorOperator, dbtest.Org("ACME")); err != nil {
		t.Fatal(err)
	}
	c := newReportCycle(t, s, 2025)
	c.evaluate()
	out, stderr, code := runStarter("report", "--provider", "ACME", "--year", "2025")
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[2], "> **IN PROGRESS: this cycle is still running (phase evaluate, round 0)") {
		t.Errorf("the report of a running cycle does not open with the notice:\n%s", strings.Join(lines[:min(len(lines), 5)], "\n"))
	}
	for _, s := range []string{"No plan version has been published from this cycle.", "none yet", "No draft has been made yet."} {
		if !strings.Contains(out, s) {
			t.Errorf("the report of a running cycle does not say %q", s)
		}
	}
}

func TestReportRefusalsAndOut(t *testing.T) {
	db, url := dbtest.New(t)
	t.Setenv("DATABASE_URL", dbtest.AppURL(t, url)) // as the programs connect
	s := store.New(db)
	if _, err := s.ImportOrg(context.Background(), store.ActorOperator, dbtest.Org("ACME")); err != nil {
		t.Fatal(err)
	}
	newReportCycle(t, s, 2025).run()

	for _, tt := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"report", "--provider", "ACME", "--year", "2025", "--format", "pdf"}, 2, `report: --format must be md or html (got "pdf")`},
		{[]string{"report", "--provider", "ACME"}, 2, "report needs --year"},
		{[]string{"report", "--provider", "NOPE", "--year", "2025"}, 1, `provider "NOPE" has not been imported`},
		{[]string{"report", "--provider", "ACME", "--year", "2024"}, 1, "provider ACME has no cycle for 2024"},
		{[]string{"report", "--provider", "ACME", "--year", "2025", "--out", filepath.Join(t.TempDir(), "missing", "r.md")}, 1, "cannot write"},
	} {
		stdout, stderr, code := runStarter(tt.args...)
		first, _, _ := strings.Cut(stderr, "\n")
		if code != tt.code || !strings.Contains(first, tt.says) || stdout != "" {
			t.Errorf("starter %v: got exit %d, stdout %q, stderr %q; want exit %d saying %q", tt.args, code, stdout, stderr, tt.code, tt.says)
		}
		if tt.code == 1 && strings.Count(stderr, "\n") != 1 {
			t.Errorf("starter %v: got stderr %q, want one line", tt.args, stderr)
		}
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, []byte("an older report"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runStarter("report", "--provider", "ACME", "--year", "2025", "--format", "html", "--out", path)
	if code != 0 || stdout != fmt.Sprintf("wrote the report of ACME 2025 to %s\n", path) {
		t.Fatalf("report --out: got exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "<!DOCTYPE html>") || !strings.HasSuffix(string(b), "</html>\n") {
		t.Errorf("report --out wrote %q…, want the whole HTML report", b[:min(len(b), 40)])
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("got %d files in the folder after --out, want only the report (no temporary file left)", len(entries))
	}
}

// mdEscape escapes text as the Markdown report must: written out here, as in
// the end-to-end tests, so that the test states what it expects rather than
// asking render's escaper, which is part of what it checks.
var mdEscape = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, `<`, `\<`, `>`, `\>`,
	`|`, `\|`, `#`, `\#`, `&`, `\&`, `~`, `\~`, "\r\n", " ", "\n", " ", "\r", " ",
).Replace
