package workflows_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/workflows"
)

func number(v float64) *float64 { return &v }

// catalogueConfig follows a survey score everywhere and absences, whose
// target is a maximum and unit B's own.
func catalogueConfig() review.Config {
	return review.Config{Indicators: review.Catalogue{
		{Code: "SAFE", NameFI: "Koettu turvallisuus", NameEN: "Feels safe", UnitOfMeasure: "%", Target: number(85)},
		{Code: "ABSENT", NameFI: "Poissaolot", NameEN: "Absences", UnitOfMeasure: "%", Better: "lower", Target: number(8),
			UnitTargets: []review.UnitTarget{{Unit: "B", Target: number(10)}}},
	}}
}

// measured is a unit's evaluation reporting on the catalogue, with the
// indicators given.
func measured(unit string, indicators ...map[string]any) map[string]any {
	return with(evaluation(unit), "indicators", indicators)
}

// TestEvaluationAgainstCatalogue sends evaluations to the units' complete-task
// Update in a cycle with an indicator catalogue: those that break its rules
// are refused by the validator, naming the indicator, before anything is
// recorded; the evaluate task shows each unit its own targets.
func TestEvaluationAgainstCatalogue(t *testing.T) {
	h := newHarness(t, nil)
	safe := map[string]any{"code": "SAFE", "value": 78.5}
	absent := map[string]any{"code": "ABSENT", "value": 9}
	for _, tt := range []struct {
		name       string
		indicators []map[string]any
		says       string
	}{
		{"missing", []map[string]any{safe}, "indicator ABSENT (Poissaolot / Absences) of the catalogue is missing"},
		{"unknown code", []map[string]any{safe, absent, {"code": "DROPOUT", "value": 4}}, `indicators[2].code "DROPOUT" is not an indicator of the catalogue (codes: SAFE, ABSENT)`},
		{"value and not measured", []map[string]any{safe, {"code": "ABSENT", "value": 9, "not_measured": true, "reason": "x"}}, "indicators[1] (ABSENT) is marked not_measured but gives a value"},
		{"not measured without reason", []map[string]any{safe, {"code": "ABSENT", "not_measured": true}}, "indicators[1] (ABSENT) is marked not_measured and needs a reason"},
		{"another target", []map[string]any{safe, {"code": "ABSENT", "value": 9, "target": 10}}, "indicators[1] (ABSENT) gives target 10, but the catalogue's target for this unit is 8"},
		{"free indicators only", nil, "indicator SAFE (Koettu turvallisuus / Feels safe) of the catalogue is missing"},
	} {
		outcome := measured("A", tt.indicators...)
		if tt.indicators == nil {
			outcome = evaluation("A")
		}
		h.send(review.KindEvaluate, 0, "A", "staff-a", outcome, "outcome of task TST/2026/evaluate/A: "+tt.says)
	}
	h.send(review.KindEvaluate, 0, "A", "staff-a", measured("A", safe, map[string]any{"code": "ABSENT", "not_measured": true, "reason": "The register changed systems."},
		map[string]any{"name": "Nurse visits per week", "value": 31, "target": 25}), "")
	// Unit B's own target, given back, agrees with the catalogue.
	h.send(review.KindEvaluate, 0, "B", "staff-b", measured("B", safe, map[string]any{"code": "ABSENT", "value": 9, "target": 10}), "")
	h.send(review.KindEvaluate, 0, "C", "staff-c", measured("C", safe, absent), "")
	for _, u := range units {
		h.send(review.KindConsult, 0, u.Code, holder(review.KindConsult, u.Code), consultation(), "")
	}
	h.draftRound(1)
	h.signAll(1)
	h.send(review.KindApprove, 1, "", "approver", approval(review.DecisionApprove, ""), "")
	h.run(catalogueConfig())

	if got := h.summary(); got.Status != review.CycleCompleted {
		t.Errorf("summary: got %+v, want the cycle completed", got)
	}
	targets := map[string]float64{}
	for _, c := range h.completed {
		if c.Task.Kind != review.KindEvaluate {
			continue
		}
		var in review.EvaluateInput
		if err := json.Unmarshal(c.Task.Input, &in); err != nil {
			t.Fatal(err)
		}
		if len(in.Indicators) != 2 || in.Indicators[0].Code != "SAFE" || *in.Indicators[0].Target != 85 || in.Indicators[1].UnitTargets != nil {
			t.Errorf("the evaluate task of %s shows the catalogue %+v, want SAFE and ABSENT with the unit's targets", c.Task.Unit, in.Indicators)
			continue
		}
		targets[c.Task.Unit] = *in.Indicators[1].Target
	}
	if want := map[string]float64{"A": 8, "B": 10, "C": 8}; len(targets) != 3 || targets["A"] != want["A"] || targets["B"] != want["B"] || targets["C"] != want["C"] {
		t.Errorf("the evaluate tasks show the absences' targets %v, want %v", targets, want)
	}
	if got := h.kinds()[review.KindEvaluate]; got != 3 {
		t.Errorf("recorded evaluations: got %d, want the 3 accepted", got)
	}
}

// TestEvaluateInputWithoutCatalogue checks that a cycle without a catalogue
// gives its evaluate tasks the input it gave before catalogues, byte for
// byte: no indicators field at all.
func TestEvaluateInputWithoutCatalogue(t *testing.T) {
	h := newHarness(t, nil)
	h.evaluateAll()
	h.draftRound(1)
	h.signAll(1)
	h.send(review.KindApprove, 1, "", "approver", approval(review.DecisionApprove, ""), "")
	h.run(review.Config{})
	for _, c := range h.completed {
		if c.Task.Kind == review.KindEvaluate && strings.Contains(string(c.Task.Input), "indicators") {
			t.Errorf("the evaluate task of %s has input %s, want no indicators", c.Task.Unit, c.Task.Input)
		}
	}
}

// TestCycleRefusesAnInvalidCatalogue fails a cycle whose catalogue names
// one code twice, before anything is recorded.
func TestCycleRefusesAnInvalidCatalogue(t *testing.T) {
	h := newHarness(t, nil)
	cfg := catalogueConfig()
	cfg.Indicators[1].Code = "SAFE"
	h.run(cfg)
	var appErr *temporal.ApplicationError
	if err := h.env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeInvalidInput ||
		!strings.Contains(appErr.Message(), `indicators[1].code "SAFE" is already the code of indicators[0]`) {
		t.Errorf("got %v, want the cycle refused naming the code used twice", err)
	}
	if len(h.completed) != 0 {
		t.Errorf("got %d completions recorded, want none", len(h.completed))
	}
}
