package workflows_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/oho-dev/oho/review"
)

// TestAnnexThroughTheCycle has unit A find something in its own annex, which
// another unit may not point at, and the draft write A's annex (creating it,
// titled after the unit), which a draft may do for the units of the provider
// only. The published content is the baseline with that annex, and the
// sign-offs are bound to its hash.
func TestAnnexThroughTheCycle(t *testing.T) {
	h := newHarness(t, nil)
	annexFinding := map[string]any{"id": "F3", "section": "annex/A", "severity": "major", "text": "A's welfare group has no contact list"}
	evalA := evaluation("A")
	evalA["findings"] = append(evalA["findings"].([]map[string]any), annexFinding)
	evalB := evaluation("B")
	evalB["findings"] = append(evalB["findings"].([]map[string]any), annexFinding)

	h.send(review.KindEvaluate, 0, "B", "staff-b", evalB, `findings[2].section "annex/A" is the annex of unit A`)
	h.send(review.KindConsult, 0, "B", "rep-b", with(consultation(), "feedback", []map[string]any{{"id": "S1", "section": "annex/C", "text": "x"}}),
		`feedback[0].section "annex/C" is the annex of unit C`)
	h.send(review.KindEvaluate, 0, "A", "staff-a", evalA, "")
	for _, u := range units {
		if u.Code != "A" {
			h.send(review.KindEvaluate, 0, u.Code, holder(review.KindEvaluate, u.Code), evaluation(u.Code), "")
		}
		h.send(review.KindConsult, 0, u.Code, holder(review.KindConsult, u.Code), consultation(), "")
	}

	annexChange := review.Change{ID: "C3", Section: "annex/A", Text: "The contact list is on A's notice board.", Rationale: "A/F3", Addresses: []string{"A/F3"}}
	d := draft()
	dispositions := append(d["dispositions"].([]map[string]any), map[string]any{"item": "A/F3", "decision": "addressed", "change": "C3"})
	h.send(review.KindDraft, 1, "", "editor", with(with(d, "dispositions", dispositions), "changes", slices.Concat(changes,
		[]review.Change{{ID: "C4", Section: "annex/Z", Text: "x", Rationale: "y"}})), `changes[2].section "annex/Z" is the annex of Z, which is not a unit of the provider (units: A, B, C)`)
	h.send(review.KindDraft, 1, "", "editor", with(with(d, "dispositions", dispositions), "changes", slices.Concat(changes, []review.Change{annexChange})), "")

	want := review.PlanContent{}.Reshape(review.DefaultSections).Apply(slices.Concat(changes, []review.Change{annexChange}), units...)
	for _, u := range units {
		h.send(review.KindSignOff, 1, u.Code, holder(review.KindSignOff, u.Code),
			map[string]any{"decision": review.DecisionApprove, "version_hash": want.Hash()}, "")
	}
	h.send(review.KindApprove, 1, "", "approver", approval(review.DecisionApprove, ""), "")
	h.run(review.Config{})

	if got := h.summary(); got.Hash != want.Hash() {
		t.Errorf("published hash %s, want %s", got.Hash, want.Hash())
	}
	if len(h.published) != 1 {
		t.Fatalf("published %d times, want once", len(h.published))
	}
	if got := h.published[0].Content.Annexes; len(got) != 1 || got[0] != (review.Annex{Unit: "A", Title: "Unit A annex", Text: annexChange.Text}) {
		t.Errorf("published annexes %+v, want A's, titled after the unit", got)
	}
	for _, c := range h.completed {
		if c.Task.Kind == review.KindEvaluate && c.Task.Unit == "A" {
			var in review.EvaluateInput
			if err := json.Unmarshal(c.Task.Input, &in); err != nil || in.Annex != "annex/A" {
				t.Errorf("A's evaluate task shows annex %q (%v), want annex/A", in.Annex, err)
			}
		}
	}
}
