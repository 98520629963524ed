package e2e

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
)

// TestChecklistAndDeferralsThroughCommandLine runs two yearly cycles of one
// provider through the command line. In the first, drafts that do not say
// where the plan covers the legal-content checklist are refused, naming the
// items; the editor defers a student feedback item of each unit. In the
// second, a configuration that lets the checklist be answered with a reason,
// and the deferred items come back: a draft that does not answer them is
// refused naming them, and the sign-off task shows where the checklist is
// covered.
func TestChecklistAndDeferralsThroughCommandLine(t *testing.T) {
	e := newEnv(t)
	e.startWorker()
	e.ok("org", "import", e.file("org.json", e.org()))
	phases := map[string]any{"evaluate": "2h", "consult": "2h", "update": "1h", "signoff": "1h", "approve": "1h"}
	id := func(year int, kind review.TaskKind, round int, unit string) string {
		return review.TaskID(e.provider, year, kind, round, unit)
	}
	evaluateAndConsult := func(year int) {
		for _, u := range units {
			e.complete(id(year, review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", evaluation(u))
			e.complete(id(year, review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
		}
	}
	signAndApprove := func(year int) {
		for _, u := range units {
			sid := id(year, review.KindSignOff, 1, u)
			e.complete(sid, strings.ToLower(u)+".head", map[string]any{"decision": "approve", "version_hash": hashOf(e.waitTask(sid))})
		}
		e.complete(id(year, review.KindApprove, 1, ""), "r.approver", map[string]any{"decision": "approve", "effective_from": fmt.Sprintf("%d-08-01", year)})
		waitStatus(t, e, year, review.CycleCompleted)
	}

	// Year one: the checklist must be covered, every item.
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", "2026", "--config", e.file("c1.json", map[string]any{"phases": phases}))
	evaluateAndConsult(2026)
	draftID := id(2026, review.KindDraft, 1, "")
	task := e.waitTask(draftID)
	var in review.DraftInput
	if err := json.Unmarshal(task.Input, &in); err != nil || len(in.Checklist) != len(review.DefaultChecklist) {
		t.Fatalf("the draft task does not show the checklist: %v %s", err, task.Input)
	}
	deferring := draft(1)
	var dispositions []map[string]any
	for _, u := range units {
		dispositions = append(dispositions,
			map[string]any{"item": u + "/F1", "decision": "addressed", "change": "C1"},
			map[string]any{"item": u + "/S1", "decision": "deferred", "reason": "Counsellor hours are reorganised next year"})
	}
	deferring["dispositions"] = dispositions
	deferring["changes"] = deferring["changes"].([]map[string]any)[:1]

	uncovered := clone(deferring)
	delete(uncovered, "coverage")
	e.refused(1, "the legal-content checklist is not covered: say where the plan covers need_and_services", "task", "complete", draftID, "--as", "p.editor", "--outcome", e.file("d0.json", uncovered))
	partly := clone(deferring)
	partly["coverage"] = coverage(nil)[1:]
	e.refused(1, "say where the plan covers need_and_services (The overall need for student welfare and the student welfare services available)",
		"task", "complete", draftID, "--as", "p.editor", "--outcome", e.file("d1.json", partly))
	withReason := clone(deferring)
	cov := coverage(nil)
	cov[3] = map[string]any{"item": cov[3]["item"], "reason": "Crisis plans are in a separate document"}
	withReason["coverage"] = cov
	e.refused(1, `"crises_threats" is left uncovered, but this provider's configuration requires every checklist item to be covered`,
		"task", "complete", draftID, "--as", "p.editor", "--outcome", e.file("d2.json", withReason))
	wrongSection := clone(deferring)
	cov = coverage(nil)
	cov[0] = map[string]any{"item": cov[0]["item"], "section": "canteen"}
	wrongSection["coverage"] = cov
	e.refused(1, `coverage[0].section "canteen" is not a section of the plan`, "task", "complete", draftID, "--as", "p.editor", "--outcome", e.file("d3.json", wrongSection))
	if n := e.count(`SELECT count(*) FROM plan_drafts`); n != 0 {
		t.Fatalf("refused drafts wrote %d drafts", n)
	}
	e.complete(draftID, "p.editor", deferring)

	// The sign-off shows where the checklist is covered.
	show := e.ok("task", "show", id(2026, review.KindSignOff, 1, "NORTH"))
	if !strings.Contains(show, "legal-content checklist") || !strings.Contains(show, "violence_bullying") || !strings.Contains(show, "covered in communal") {
		t.Errorf("task show of a sign-off does not show the checklist:\n%s", show)
	}
	signAndApprove(2026)

	// Year two: the deferred items come back, and an item may be left
	// uncovered with a reason.
	c2 := map[string]any{"phases": phases, "checklist_reasons": true}
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", "2027", "--config", e.file("c2.json", c2))
	for _, u := range units {
		ev := evaluation(u)
		ev["effectiveness"] = []map[string]any{{"change_id": "C1", "rating": "effective"}}
		e.complete(id(2027, review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", ev)
		e.complete(id(2027, review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}
	draftID = id(2027, review.KindDraft, 1, "")
	task = e.waitTask(draftID)
	in = review.DraftInput{}
	if err := json.Unmarshal(task.Input, &in); err != nil {
		t.Fatal(err)
	}
	var carried []string
	for _, it := range in.Items {
		if it.From != 0 {
			carried = append(carried, fmt.Sprintf("%s from %d deferred in %d (%s): %s", it.Ref, it.From, it.DeferredIn, it.Reason, it.Text))
		}
	}
	want := []string{}
	for _, u := range []string{"FOREST", "HARBOUR", "NORTH"} {
		want = append(want, "2026/"+u+"/S1 from 2026 deferred in 2026 (Counsellor hours are reorganised next year): Counsellor hours are hard to find")
	}
	if strings.Join(carried, "\n") != strings.Join(want, "\n") {
		t.Errorf("the year-two draft carries\n%s\nwant\n%s", strings.Join(carried, "\n"), strings.Join(want, "\n"))
	}
	year2 := draft(1)
	e.refused(1, "these need a disposition (every major finding and every feedback item): 2026/FOREST/S1, 2026/HARBOUR/S1, 2026/NORTH/S1",
		"task", "complete", draftID, "--as", "p.editor", "--outcome", e.file("y2-0.json", year2))
	disp := year2["dispositions"].([]map[string]any)
	for _, u := range units {
		disp = append(disp, map[string]any{"item": "2026/" + u + "/S1", "decision": "addressed", "change": "C2"})
	}
	year2["dispositions"] = disp
	cov = coverage(nil)
	cov[3] = map[string]any{"item": cov[3]["item"], "reason": "Crisis plans are in a separate document"}
	year2["coverage"] = cov
	e.complete(draftID, "p.editor", year2)
	show = e.ok("task", "show", id(2027, review.KindSignOff, 1, "NORTH"))
	if !strings.Contains(show, "NOT COVERED: Crisis plans are in a separate document") {
		t.Errorf("task show of a sign-off does not show the item left uncovered:\n%s", show)
	}
	signAndApprove(2027)
	if n := e.count(`SELECT count(*) FROM dispositions d JOIN cycles c ON c.id = d.cycle_id
WHERE c.year = 2027 AND d.item_ref LIKE '2026/%' AND d.decision = 'addressed'`); n != 3 {
		t.Errorf("year two's dispositions of the carried items: got %d, want 3", n)
	}
}

// clone copies an outcome one level deep, so that a variant can drop or
// replace a field.
func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// waitStatus waits until the cycle of the year has the status.
func waitStatus(t *testing.T, e *env, year int, status string) {
	t.Helper()
	for i := 0; i < 300; i++ {
		var p review.Progress
		if err := json.Unmarshal([]byte(e.ok("cycle", "status", "--provider", e.provider, "--year", strconv.Itoa(year), "--json")), &p); err != nil {
			t.Fatal(err)
		}
		if p.Status == status {
			return
		}
		sleepBriefly()
	}
	t.Fatalf("the %d cycle did not become %s", year, status)
}

func sleepBriefly() { time.Sleep(100 * time.Millisecond) }
