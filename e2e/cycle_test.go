package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/workflows"
)

const year = "2026"

var units = []string{"NORTH", "HARBOUR", "FOREST"}

// org is the test provider: three units, every role filled.
func (e *env) org() map[string]any {
	people := []map[string]any{
		{"id": "m.manager", "name": "Maija Manager", "roles": []map[string]string{{"role": "manager", "unit": ""}}},
		{"id": "p.editor", "name": "Pekka Editor", "roles": []map[string]string{{"role": "plan_editor", "unit": ""}}},
		{"id": "r.approver", "name": "Rita Approver", "roles": []map[string]string{{"role": "approver", "unit": ""}}},
	}
	var unitList []map[string]string
	for _, u := range units {
		l := strings.ToLower(u)
		unitList = append(unitList, map[string]string{"code": u, "name": u + " campus"})
		people = append(people,
			map[string]any{"id": l + ".head", "name": "Head of " + u, "roles": []map[string]string{{"role": "unit_head", "unit": u}}},
			map[string]any{"id": l + ".staff", "name": "Counsellor of " + u, "roles": []map[string]string{{"role": "welfare_staff", "unit": u}}},
			map[string]any{"id": l + ".rep", "name": "Student council rep, " + u, "roles": []map[string]string{{"role": "student_rep", "unit": u}}},
		)
	}
	return map[string]any{"provider": map[string]string{"code": e.provider, "name": "Test College"}, "units": unitList, "people": people}
}

func (e *env) taskID(kind review.TaskKind, round int, unit string) string {
	return review.TaskID(e.provider, 2026, kind, round, unit)
}

// shownTask is the part of 'task show --json' the tests read.
type shownTask struct {
	ID         string          `json:"id"`
	Kind       string          `json:"kind"`
	Status     string          `json:"status"`
	WorkflowID string          `json:"workflow_id"`
	Input      json.RawMessage `json:"input"`
	Draft      *struct {
		VersionHash string             `json:"version_hash"`
		Content     review.PlanContent `json:"content"`
	} `json:"draft"`
}

// waitTask polls 'task show' until the worker has opened the task.
func (e *env) waitTask(id string) shownTask {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r := e.starter("task", "show", id, "--json")
		if r.code == 0 {
			var t shownTask
			if err := json.Unmarshal([]byte(r.stdout), &t); err != nil {
				e.t.Fatalf("task show --json: %v\n%s", err, r.stdout)
			}
			if t.Status == review.TaskOpen {
				return t
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("task %s was not opened within a minute: %s", id, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *env) complete(id, actor string, outcome any) {
	e.t.Helper()
	e.waitTask(id)
	out := e.ok("task", "complete", id, "--as", actor, "--outcome", e.file(strings.ReplaceAll(id, "/", "_")+".json", outcome))
	if want := "task " + id + " done by " + actor; !strings.Contains(out, want) {
		e.t.Errorf("task complete %s: got %q, want %q", id, out, want)
	}
}

func evaluation(unit string) map[string]any {
	return map[string]any{
		"indicators": []map[string]any{{"name": "Wellbeing survey", "value": 3.7, "target": 4, "unit": "1-5"}},
		"findings": []map[string]any{
			{"id": "F1", "section": "communal", "severity": "major", "text": "Supervision gaps in " + unit, "recommendation": "Extend the rota"},
			{"id": "F2", "section": "monitoring", "severity": "info", "text": "Figures arrive late"},
		},
	}
}

func consultation() map[string]any {
	return map[string]any{"method": "survey", "participants": 48, "held_on": "2026-03-10",
		"feedback": []map[string]any{{"id": "S1", "section": "individual", "text": "Counsellor hours are hard to find"}}}
}

func draft(round int) map[string]any {
	var dispositions []map[string]any
	for _, u := range units {
		dispositions = append(dispositions,
			map[string]any{"item": u + "/F1", "decision": "addressed", "change": "C1"},
			map[string]any{"item": u + "/S1", "decision": "addressed", "change": "C2"})
	}
	return map[string]any{
		"changes": []map[string]any{
			{"id": "C1", "section": "communal", "text": fmt.Sprintf("Two supervisors at every break (round %d).", round), "rationale": "Supervision findings",
				"addresses": []string{"NORTH/F1", "HARBOUR/F1", "FOREST/F1"}},
			{"id": "C2", "section": "individual", "text": "Counsellor hours are posted weekly.", "rationale": "Student feedback",
				"addresses": []string{"NORTH/S1", "HARBOUR/S1", "FOREST/S1"}},
		},
		"dispositions": dispositions,
		"coverage":     coverage(nil),
	}
}

// coverage covers every item of the default legal-content checklist in
// the section the checklist expects it in, or, where the plan has no such
// section (it was renamed or dropped), in the first of sections.
func coverage(sections []string) []map[string]any {
	var out []map[string]any
	for _, it := range review.DefaultChecklist {
		section := it.Section
		if sections != nil && !slices.Contains(sections, section) {
			section = sections[0]
		}
		out = append(out, map[string]any{"item": it.ID, "section": section, "note": "See the section."})
	}
	return out
}

// hashOf reads the version hash a sign-off or approval task asks to sign.
func hashOf(t shownTask) string {
	var in review.SignOffInput
	_ = json.Unmarshal(t.Input, &in)
	return in.VersionHash
}

// TestCycleThroughCommandLine runs a whole cycle as its participants would,
// with the wrong inputs people make on the way, each refused with a clear
// message and a non-zero exit, and nothing half-written.
func TestCycleThroughCommandLine(t *testing.T) {
	e := newEnv(t)
	e.startWorker()

	// The organisation, and files that are wrong in the ways files are.
	e.refused(2, "org import needs FILE.json", "org", "import")
	e.refused(1, "cannot read", "org", "import", e.dir+"/missing.json")
	e.refused(1, "is not valid JSON", "org", "import", e.file("broken.json", `{"provider": {"code": "X"`))
	e.refused(1, `unknown field "units_list"`, "org", "import", e.file("typo.json", `{"provider": {"code": "X", "name": "Y"}, "units_list": []}`))
	bad := e.org()
	bad["people"] = append(bad["people"].([]map[string]any), map[string]any{"id": "j.doe", "name": "J", "roles": []map[string]string{{"role": "janitor", "unit": ""}}})
	e.refused(1, "janitor", "org", "import", e.file("badrole.json", bad))
	if n := e.count(`SELECT count(*) FROM providers`); n != 0 {
		t.Fatalf("refused imports wrote %d providers", n)
	}
	orgFile := e.file("org.json", e.org())
	if out := e.ok("org", "import", orgFile); !strings.Contains(out, "3 units, 12 people") {
		t.Errorf("org import: got %q", out)
	}
	if out := e.ok("org", "import", orgFile); !strings.Contains(out, "nothing changed") || !strings.Contains(out, "time zone Europe/Helsinki") {
		t.Errorf("second org import: got %q, want nothing changed in the default time zone", out)
	}
	// The provider's time zone: a name Go does not know is refused, naming
	// the field; another zone is a change; naming the default one again
	// (or leaving it out) is a change back. Documents and notices show the
	// provider's times in it (checkPlanDocuments).
	zoned := func(zone string) map[string]any {
		org := e.org()
		org["provider"] = map[string]string{"code": e.provider, "name": "Test College", "time_zone": zone}
		return org
	}
	e.refused(1, `provider.time_zone "Mars/Base" is not a time zone (IANA name such as Europe/Helsinki)`, "org", "import", e.file("mars.json", zoned("Mars/Base")))
	if out := e.ok("org", "import", e.file("stockholm.json", zoned("Europe/Stockholm"))); !strings.Contains(out, "time zone Europe/Stockholm): 0 added, 1 changed, 0 removed") {
		t.Errorf("org import in another zone: got %q, want the provider changed", out)
	}
	if out := e.ok("org", "import", e.file("helsinki.json", zoned("Europe/Helsinki"))); !strings.Contains(out, "time zone Europe/Helsinki): 0 added, 1 changed, 0 removed") {
		t.Errorf("org import back in Helsinki: got %q, want the provider changed", out)
	}
	if n := e.count(`SELECT count(*) FROM audit_events WHERE action = 'org.imported' AND payload->'changes' ? ('provider ' || $1 || ' time zone changed from Europe/Stockholm to Europe/Helsinki')`, e.provider); n != 1 {
		t.Errorf("got %d audit events of the zone changed back, want 1", n)
	}

	// Starting the cycle.
	e.refused(2, "cycle start needs --year", "cycle", "start", "--as", "m.manager", "--provider", e.provider)
	e.refused(2, "unknown flag --yaer", "cycle", "start", "--as", "m.manager", "--provider", e.provider, "--yaer", year)
	e.refused(1, `"north.staff" may not start the cycle: only the provider's managers may`, "cycle", "start", "--as", "north.staff", "--provider", e.provider, "--year", year)
	e.refused(2, "cycle start needs --as", "cycle", "start", "--provider", e.provider, "--year", year)
	e.refused(1, "year 26 is not a year", "cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", "26")
	e.refused(1, `"m.manager" may not start the cycle: only the provider's managers may`, "cycle", "start", "--as", "m.manager", "--provider", "NOSUCH", "--year", year)
	e.refused(1, "max_rounds must be at most 10", "cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year, "--config", e.file("cfg.json", `{"max_rounds": 99}`))
	e.refused(1, "not a duration", "cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year, "--config", e.file("cfg2.json", `{"phases": {"evaluate": "six weeks"}}`))
	cfg := e.file("config.json", `{"phases": {"evaluate": "2h", "consult": "2h", "update": "1h", "signoff": "1h", "approve": "1h"}, "max_rounds": 3}`)
	wfID := strings.TrimSpace(e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year, "--config", cfg))
	if want := review.CycleID(e.provider, 2026); wfID != want {
		t.Fatalf("cycle start printed %q, want %q", wfID, want)
	}
	again := e.starter("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year)
	if again.code != 0 || strings.TrimSpace(again.stdout) != wfID || !strings.Contains(again.stderr, "already exists") {
		t.Errorf("starting the cycle again: want exit 0, the same ID and a note, got %s", again)
	}

	// Evaluation and consultation, with the mistakes people make.
	evalNorth := e.waitTask(e.taskID(review.KindEvaluate, 0, "NORTH"))
	var evalIn review.EvaluateInput
	if err := json.Unmarshal(evalNorth.Input, &evalIn); err != nil || len(evalIn.Sections) != 6 {
		t.Errorf("evaluate task input: got %s (%v), want the six default sections", evalNorth.Input, err)
	}
	goodEval := e.file("eval.json", evaluation("NORTH"))
	e.refused(2, "task complete needs --as", "task", "complete", evalNorth.ID, "--outcome", goodEval)
	e.refused(1, `there is no task "NOPE/2026/evaluate/X"`, "task", "complete", "NOPE/2026/evaluate/X", "--as", "north.staff", "--outcome", goodEval)
	e.refused(1, `there is no person "nobody.here"`, "task", "complete", evalNorth.ID, "--as", "nobody.here", "--outcome", goodEval)
	e.refused(1, `--as "North Staff" is not a person ID`, "task", "complete", evalNorth.ID, "--as", "North Staff", "--outcome", goodEval)
	e.refused(1, `"north.rep" may not complete task `+evalNorth.ID+`: it is assigned to the welfare_staff of unit NORTH`,
		"task", "complete", evalNorth.ID, "--as", "north.rep", "--outcome", goodEval)
	e.refused(1, `"harbour.staff" may not complete`, "task", "complete", evalNorth.ID, "--as", "harbour.staff", "--outcome", goodEval)
	e.refused(1, "is not valid JSON", "task", "complete", evalNorth.ID, "--as", "north.staff", "--outcome", e.file("half.json", `{"findings": [`))
	badEval := evaluation("NORTH")
	badEval["findings"] = []map[string]any{{"id": "F1", "section": "canteen", "severity": "huge", "text": "x"}}
	e.refused(1, `outcome of task `+evalNorth.ID+`: findings[0].severity must be one of info, minor, major (got "huge")`,
		"task", "complete", evalNorth.ID, "--as", "north.staff", "--outcome", e.file("bad-eval.json", badEval))
	e.refused(1, `unknown field "student_names"`, "task", "complete", e.taskID(review.KindConsult, 0, "NORTH"), "--as", "north.rep",
		"--outcome", e.file("names.json", `{"method": "council", "participants": 3, "held_on": "2026-03-01", "student_names": ["Aino"]}`))
	if n := e.count(`SELECT count(*) FROM findings`); n != 0 {
		t.Fatalf("refused completions wrote %d findings", n)
	}
	for _, u := range units {
		e.complete(e.taskID(review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", evaluation(u))
		e.complete(e.taskID(review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}
	// Sending the same completion again is answered as before; another is refused.
	if out := e.ok("task", "complete", evalNorth.ID, "--as", "north.staff", "--outcome", e.file("eval-again.json", evaluation("NORTH"))); !strings.Contains(out, "done by north.staff") {
		t.Errorf("repeating a completion: got %q", out)
	}
	e.refused(1, "is already done (completed by north.staff)", "task", "complete", evalNorth.ID, "--as", "north.staff", "--outcome", e.file("eval-other.json", evaluation("elsewhere")))

	// Round 1: a draft missing a disposition, then a good one; a stale
	// signature; a request for changes that supersedes the other sign-offs.
	draftID := e.taskID(review.KindDraft, 1, "")
	e.waitTask(draftID)
	incomplete := draft(1)
	incomplete["dispositions"] = incomplete["dispositions"].([]map[string]any)[1:]
	e.refused(1, "these need a disposition (every major finding and every feedback item): NORTH/F1",
		"task", "complete", draftID, "--as", "p.editor", "--outcome", e.file("incomplete.json", incomplete))
	e.complete(draftID, "p.editor", draft(1))
	signNorth := e.waitTask(e.taskID(review.KindSignOff, 1, "NORTH"))
	if d := signNorth.Draft; d == nil || d.VersionHash != hashOf(signNorth) || d.Content.Hash() != d.VersionHash ||
		!strings.Contains(fmt.Sprint(d.Content), "Two supervisors at every break (round 1).") {
		t.Errorf("sign-off task shows draft %+v, want the round 1 draft bound to %s", signNorth.Draft, hashOf(signNorth))
	}
	if out := e.ok("task", "show", signNorth.ID); !strings.Contains(out, "change C1 to communal: Two supervisors") {
		t.Errorf("task show of a sign-off does not show the draft's changes:\n%s", out)
	}
	e.refused(1, "is not the current draft's", "task", "complete", signNorth.ID, "--as", "north.head",
		"--outcome", e.file("stale.json", map[string]any{"decision": "approve", "version_hash": strings.Repeat("ab", 32)}))
	e.refused(1, "request_changes needs a comment", "task", "complete", signNorth.ID, "--as", "north.head",
		"--outcome", e.file("nocomment.json", map[string]any{"decision": "request_changes", "version_hash": hashOf(signNorth)}))
	e.complete(signNorth.ID, "north.head", map[string]any{"decision": "request_changes", "comment": "Name the rota owner", "version_hash": hashOf(signNorth)})
	harbour1 := e.taskID(review.KindSignOff, 1, "HARBOUR")
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM tasks WHERE id = $1 AND status = 'superseded'`, harbour1) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s was not superseded after the request for changes", harbour1)
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.refused(1, "is closed: it was superseded", "task", "complete", harbour1, "--as", "harbour.head",
		"--outcome", e.file("late.json", map[string]any{"decision": "approve", "version_hash": hashOf(signNorth)}))

	// Round 2: signed by all, approved, published.
	e.complete(e.taskID(review.KindDraft, 2, ""), "p.editor", draft(2))
	for _, u := range units {
		id := e.taskID(review.KindSignOff, 2, u)
		e.complete(id, strings.ToLower(u)+".head", map[string]any{"decision": "approve", "version_hash": hashOf(e.waitTask(id))})
	}
	approveID := e.taskID(review.KindApprove, 2, "")
	e.waitTask(approveID)
	e.refused(1, "effective_from is required when decision is approve", "task", "complete", approveID, "--as", "r.approver",
		"--outcome", e.file("noeff.json", map[string]any{"decision": "approve"}))
	e.complete(approveID, "r.approver", map[string]any{"decision": "approve", "comment": "For the board", "effective_from": "2026-08-01"})

	// The status, as the command line and the workflow's query report it.
	var status review.Progress
	deadline = time.Now().Add(30 * time.Second)
	for status.Status != review.CycleCompleted {
		if time.Now().After(deadline) {
			t.Fatalf("cycle did not complete: %+v", status)
		}
		time.Sleep(100 * time.Millisecond)
		if err := json.Unmarshal([]byte(e.ok("cycle", "status", "--provider", e.provider, "--year", year, "--json")), &status); err != nil {
			t.Fatal(err)
		}
	}
	if status.Phase != review.PhasePublished || status.Round != 2 || status.WorkflowID != wfID {
		t.Errorf("cycle status: got phase %s round %d id %s, want published 2 %s", status.Phase, status.Round, status.WorkflowID, wfID)
	}
	if fmt.Sprint(status.Units) != "[{FOREST done} {HARBOUR done} {NORTH done}]" {
		t.Errorf("unit phases: got %v", status.Units)
	}
	kinds := map[string]int{}
	for _, ts := range status.Tasks {
		kinds[string(ts.Kind)+" "+ts.Status]++
	}
	wantKinds := "map[approve done:1 consult done:3 draft done:2 evaluate done:3 signoff done:4 signoff superseded:2]"
	if fmt.Sprint(kinds) != wantKinds {
		t.Errorf("tasks by kind and status: got %v, want %s", kinds, wantKinds)
	}
	query := queryStatus(t, wfID)
	if query.Status != status.Status || query.Phase != status.Phase || query.Round != status.Round || fmt.Sprint(query.Units) != fmt.Sprint(status.Units) {
		t.Errorf("the workflow's status query disagrees with the database: query %+v, database %+v", query, status)
	}

	// The published version is bound to the hash the units signed.
	var version int
	var hash string
	if err := e.db.QueryRow(`SELECT version, content_hash FROM plan_versions`).Scan(&version, &hash); err != nil {
		t.Fatal(err)
	}
	if version != 1 || hash != hashOf(e.mustShow(approveID)) {
		t.Errorf("published version %d hash %s, want version 1 with the approved draft's hash", version, hash)
	}
	checkPlanDocuments(t, e, version, hash)
	if out := e.ok("cycle", "list"); !strings.Contains(out, wfID) || !strings.Contains(out, "completed") {
		t.Errorf("cycle list: got %q", out)
	}
	if out := e.ok("task", "list", "--assignee", "north.head", "--status", "all"); strings.Count(out, "/signoff/") != 2 {
		t.Errorf("north.head's tasks: got %q, want two sign-offs", out)
	}
	e.refused(2, "--status must be open, done or all", "task", "list", "--status", "finished")
}

func (e *env) mustShow(id string) shownTask {
	e.t.Helper()
	var t shownTask
	if err := json.Unmarshal([]byte(e.ok("task", "show", id, "--json")), &t); err != nil {
		e.t.Fatal(err)
	}
	return t
}

func queryStatus(t *testing.T, workflowID string) review.Progress {
	t.Helper()
	c := dialTemporal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := c.QueryWorkflow(ctx, workflowID, "", workflows.QueryStatus)
	if err != nil {
		t.Fatalf("querying %s: %v", workflowID, err)
	}
	var s review.Progress
	if err := v.Get(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestWorkerKilledMidCycle kills the worker with SIGKILL while sign-offs are
// being recorded, starts a new one, and checks that the cycle finishes with
// every task, finding, signature and version written exactly once.
func TestWorkerKilledMidCycle(t *testing.T) {
	e := newEnv(t)
	first := e.startWorker()
	e.ok("org", "import", e.file("org.json", e.org()))
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year)
	for _, u := range units {
		e.complete(e.taskID(review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", evaluation(u))
		e.complete(e.taskID(review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}
	e.complete(e.taskID(review.KindDraft, 1, ""), "p.editor", draft(1))

	// All three unit heads sign at once; the worker dies under them.
	var wg sync.WaitGroup
	results := make([]result, len(units))
	took := make([]time.Duration, len(units))
	for i, u := range units {
		id := e.taskID(review.KindSignOff, 1, u)
		file := e.file(u+"-sign.json", map[string]any{"decision": "approve", "version_hash": hashOf(e.waitTask(id))})
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			results[i] = e.starter("task", "complete", id, "--as", strings.ToLower(u)+".head", "--outcome", file)
			took[i] = time.Since(start).Round(time.Millisecond)
		}()
	}
	time.Sleep(60 * time.Millisecond)
	first.stop(syscall.SIGKILL)
	e.startWorker()
	wg.Wait()
	t.Logf("sign-offs sent as the worker was killed took %v", took)
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("sign-off of %s while the worker died: %s", units[i], r)
		}
	}

	e.complete(e.taskID(review.KindApprove, 1, ""), "r.approver", map[string]any{"decision": "approve", "effective_from": "2026-08-01"})
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM cycles WHERE status = 'completed'`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cycle did not complete after the worker was replaced")
		}
		time.Sleep(100 * time.Millisecond)
	}
	checkCounts(t, e, oneRoundCounts())
}
