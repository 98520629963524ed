package workflows_test

import (
	"encoding/json"
	"testing"

	"github.com/oho-dev/oho/review"
)

// with returns a copy of an outcome with one field replaced (or removed when
// value is nil).
func with(outcome map[string]any, field string, value any) map[string]any {
	out := map[string]any{}
	for k, v := range outcome {
		out[k] = v
	}
	if value == nil {
		delete(out, field)
	} else {
		out[field] = value
	}
	return out
}

// TestCompleteTaskRefusals sends every kind of bad completion at the point of
// the cycle where it would matter, and checks each is refused with a message
// naming the problem, that nothing was recorded for it, and that the cycle
// still completes with the good ones.
func TestCompleteTaskRefusals(t *testing.T) {
	h := newHarness(t, []string{"P1"})
	eval := func(unit string) map[string]any {
		return with(evaluation(unit), "effectiveness", []map[string]any{{"change_id": "P1", "rating": "partly", "note": "Helped in spring"}})
	}
	evalA := review.TaskID(provider, year, review.KindEvaluate, 0, "A")
	unitA := review.UnitReviewID(cycleID, "A")

	// Unknown task, wrong people.
	h.sendTo("TST/2026/evaluate/NOPE", unitA, "staff-a", eval("A"), `there is no open task "TST/2026/evaluate/NOPE"`)
	h.send(review.KindEvaluate, 0, "A", "rep-a", eval("A"), `"rep-a" may not complete task TST/2026/evaluate/A: it is assigned to the welfare_staff of unit A`)
	h.send(review.KindEvaluate, 0, "A", "staff-b", eval("A"), "may not complete")
	h.send(review.KindEvaluate, 0, "A", "", eval("A"), "a person with no ID may not complete")

	// Evaluation rules.
	bad := func(field string, value any) map[string]any { return with(eval("A"), field, value) }
	h.send(review.KindEvaluate, 0, "A", "staff-a", map[string]any{"effectiveness": []map[string]any{{"change_id": "P1", "rating": "effective"}}}, "at least one indicator or finding")
	h.send(review.KindEvaluate, 0, "A", "staff-a", bad("findings", []map[string]any{{"id": "F1", "section": "communal", "severity": "huge", "text": "x"}}), `findings[0].severity must be one of info, minor, major (got "huge")`)
	h.send(review.KindEvaluate, 0, "A", "staff-a", bad("findings", []map[string]any{{"id": "F1", "section": "canteen", "severity": "minor", "text": "x"}}), `findings[0].section "canteen" is not a section of the plan`)
	h.send(review.KindEvaluate, 0, "A", "staff-a", bad("findings", []map[string]any{{"id": "F1", "section": "communal", "severity": "minor"}}), "findings[0].text is required")
	h.send(review.KindEvaluate, 0, "A", "staff-a", bad("indicators", []map[string]any{{"name": "Absences", "target": 5}}), "indicators[0].value is required")
	h.send(review.KindEvaluate, 0, "A", "staff-a", bad("indicators", []map[string]any{{"name": "Absences", "value": "many", "target": 5}}), "value must be a number")
	h.send(review.KindEvaluate, 0, "A", "staff-a", bad("effectiveness", nil), `no rating for change "P1" of the previous cycle`)
	h.send(review.KindEvaluate, 0, "A", "staff-a", bad("effectiveness", []map[string]any{{"change_id": "P1", "rating": "effective"}, {"change_id": "P9", "rating": "effective"}}), `effectiveness[1].change_id "P9" is not a change of the previous cycle`)
	h.send(review.KindEvaluate, 0, "A", "staff-a", json.RawMessage(`[]`), "must be a JSON object")

	// Consultation rules: no personal data, real counts.
	cons := consultation()
	h.send(review.KindConsult, 0, "A", "rep-a", with(cons, "students", []string{"Aino", "Eero"}), `unknown field "students"`)
	h.send(review.KindConsult, 0, "A", "rep-a", with(cons, "participants", 0), "participants is required")
	h.send(review.KindConsult, 0, "A", "rep-a", with(cons, "method", "gossip"), "method must be one of council, survey, workshop, interview")
	h.send(review.KindConsult, 0, "A", "rep-a", with(cons, "held_on", "4.3.2026"), "held_on must be a date written as YYYY-MM-DD")

	// A good evaluation; then the same task again, and a consultation whose
	// item ID clashes with a finding.
	h.send(review.KindEvaluate, 0, "A", "staff-a", eval("A"), "")
	h.send(review.KindEvaluate, 0, "A", "staff-a", eval("A"), "task TST/2026/evaluate/A is already done (completed by staff-a)")
	h.send(review.KindConsult, 0, "A", "rep-a", with(cons, "feedback", []map[string]any{{"id": "F1", "section": "communal", "text": "x"}}), `feedback[0].id "F1" is already used by a finding of this unit`)
	h.send(review.KindConsult, 0, "A", "rep-a", cons, "")
	for _, u := range []string{"B", "C"} {
		h.send(review.KindEvaluate, 0, u, holder(review.KindEvaluate, u), eval(u), "")
		h.send(review.KindConsult, 0, u, holder(review.KindConsult, u), cons, "")
	}
	_ = evalA

	// Draft rules.
	d := draft()
	disp := d["dispositions"].([]map[string]any)
	h.send(review.KindDraft, 1, "", "staff-a", d, "may not complete task TST/2026/draft/r1: it is assigned to the provider's plan_editor")
	h.send(review.KindDraft, 1, "", "editor", with(d, "dispositions", disp[1:]), "these need a disposition (every major finding and every feedback item): A/F1")
	h.send(review.KindDraft, 1, "", "editor", with(d, "dispositions", append([]map[string]any{{"item": "A/F1", "decision": "addressed", "change": "C9"}}, disp[1:]...)), `names change "C9", which this draft does not have`)
	h.send(review.KindDraft, 1, "", "editor", with(d, "dispositions", append([]map[string]any{{"item": "A/F1", "decision": "deferred"}}, disp[1:]...)), `is deferred and needs a reason`)
	h.send(review.KindDraft, 1, "", "editor", with(d, "dispositions", append(disp, map[string]any{"item": "D/F7", "decision": "rejected", "reason": "x"})), `dispositions[6].item "D/F7" is not a finding or feedback item of this cycle`)
	h.send(review.KindDraft, 1, "", "editor", with(d, "changes", []map[string]any{
		{"id": "C1", "section": "communal", "text": "x", "rationale": "y"},
		{"id": "C2", "section": "communal", "text": "z", "rationale": "y"},
	}), `section "communal" is changed twice`)
	h.draftRound(1)

	// Sign-off rules.
	stale := signOff(review.DecisionApprove, "")
	stale["version_hash"] = review.PlanContent{}.Hash()
	h.send(review.KindSignOff, 1, "A", "head-a", stale, "is not the current draft's")
	h.send(review.KindSignOff, 1, "A", "head-a", with(stale, "version_hash", "abc"), "version_hash must be exactly 64 characters")
	h.send(review.KindSignOff, 1, "A", "head-a", signOff(review.DecisionRequestChanges, " "), "request_changes needs a comment")
	h.send(review.KindSignOff, 1, "A", "head-b", signOff(review.DecisionApprove, ""), "assigned to the unit_head of unit A")
	h.signAll(1)

	// Approval rules.
	h.send(review.KindApprove, 1, "", "approver", with(approval(review.DecisionApprove, ""), "effective_from", nil), "effective_from is required when decision is approve")
	h.send(review.KindApprove, 1, "", "approver", approval(review.DecisionReturn, ""), "return needs a comment")
	h.send(review.KindApprove, 1, "", "approver", approval("maybe", ""), "decision must be one of approve, return")
	h.send(review.KindApprove, 1, "", "head-a", approval(review.DecisionApprove, ""), "assigned to the provider's approver")
	h.send(review.KindApprove, 1, "", "approver", approval(review.DecisionApprove, ""), "")
	h.run(review.Config{})

	if got := h.summary(); got.Version != 1 || got.Rounds != 1 {
		t.Errorf("summary: got %+v, want version 1 in one round", got)
	}
	// Only the accepted completions were recorded.
	if got := len(h.completed); got != 11 {
		t.Errorf("recorded completions: got %d, want 11", got)
	}
}
