package review_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/review"
)

// catalogueJSON is a provider's catalogue as a config file gives it: a
// survey score whose target is a minimum, and absences, whose target is a
// maximum and differs for one unit.
const catalogueJSON = `{"indicators": [
  {"code": "SAFE", "name_fi": "Koettu turvallisuus", "name_en": "Feels safe at school", "unit_of_measure": "%", "target": 85},
  {"code": "ABSENT", "name_fi": "Poissaolot", "name_en": "Absences", "unit_of_measure": "%", "better": "lower", "target": 8,
   "unit_targets": [{"unit": "SOUTH", "target": 10}]}
]}`

func catalogue(t *testing.T) review.Catalogue {
	t.Helper()
	var cfg review.Config
	if err := check.Decode([]byte(catalogueJSON), "the config", &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the example catalogue is refused: %v", err)
	}
	return cfg.Indicators
}

// TestCatalogueValidation decodes configs as a file or request gives them
// and validates them: every problem is named by its field.
func TestCatalogueValidation(t *testing.T) {
	for _, tt := range []struct {
		name, config string
		want         []string // parts of the refusal; none when valid
	}{
		{"valid", catalogueJSON, nil},
		{"no catalogue", `{"max_rounds": 2}`, nil},
		{"empty catalogue", `{"indicators": []}`, nil},
		{"codes twice", `{"indicators": [
			{"code": "SAFE", "name_fi": "a", "name_en": "b", "target": 1},
			{"code": "SAFE", "name_fi": "c", "name_en": "d", "target": 2}]}`,
			[]string{`indicators[1].code "SAFE" is already the code of indicators[0]: codes must be unique`}},
		{"names required", `{"indicators": [{"code": "SAFE", "target": 1}]}`,
			[]string{"indicators[0].name_fi is required", "indicators[0].name_en is required"}},
		{"code required", `{"indicators": [{"name_fi": "a", "name_en": "b", "target": 1}]}`,
			[]string{"indicators[0].code is required"}},
		{"code with a slash", `{"indicators": [{"code": "A/B", "name_fi": "a", "name_en": "b", "target": 1}]}`,
			[]string{`indicators[0].code must be 1-32 letters, digits, '-' or '_'`}},
		{"target required", `{"indicators": [{"code": "SAFE", "name_fi": "a", "name_en": "b"}]}`,
			[]string{"indicators[0].target is required"}},
		{"target not a number", `{"indicators": [{"code": "SAFE", "name_fi": "a", "name_en": "b", "target": "85"}]}`,
			[]string{"target must be a number, not string"}},
		{"unit target not a number", `{"indicators": [{"code": "SAFE", "name_fi": "a", "name_en": "b", "target": 1,
			"unit_targets": [{"unit": "NORTH", "target": "high"}]}]}`,
			[]string{"target must be a number, not string"}},
		{"unit target without target", `{"indicators": [{"code": "SAFE", "name_fi": "a", "name_en": "b", "target": 1,
			"unit_targets": [{"unit": "NORTH"}]}]}`,
			[]string{"indicators[0].unit_targets[0].target is required"}},
		{"unit targeted twice", `{"indicators": [{"code": "SAFE", "name_fi": "a", "name_en": "b", "target": 1,
			"unit_targets": [{"unit": "NORTH", "target": 2}, {"unit": "NORTH", "target": 3}]}]}`,
			[]string{"indicators[0].unit_targets has the same unit twice"}},
		{"direction", `{"indicators": [{"code": "SAFE", "name_fi": "a", "name_en": "b", "target": 1, "better": "down"}]}`,
			[]string{`indicators[0].better must be one of higher, lower (got "down")`}},
		{"unknown field", `{"indicators": [{"code": "SAFE", "name": "a", "target": 1}]}`,
			[]string{`unknown field "name"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var cfg review.Config
			err := check.Decode([]byte(tt.config), "the config", &cfg)
			if err == nil {
				err = cfg.Validate()
			}
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("got %v, want the config accepted", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got the config accepted, want a refusal saying %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to say %q", err, w)
				}
			}
		})
	}
}

func TestCatalogueCheckUnits(t *testing.T) {
	c := catalogue(t)
	if err := c.CheckUnits([]string{"NORTH", "SOUTH"}); err != nil {
		t.Errorf("got %v for units that exist, want nil", err)
	}
	err := c.CheckUnits([]string{"NORTH", "EAST"})
	want := `indicators[1].unit_targets[0].unit "SOUTH" of indicator ABSENT is not a unit of the provider (units: NORTH, EAST)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	var problems check.Problems
	if !errors.As(err, &problems) || len(problems) != 1 || problems[0].Field != "indicators[1].unit_targets[0].unit" {
		t.Errorf("got %#v, want one check.Problem of field indicators[1].unit_targets[0].unit", err)
	}
}

func TestCatalogueForUnit(t *testing.T) {
	c := catalogue(t)
	for _, tt := range []struct {
		unit       string
		safe, away float64
	}{
		{"NORTH", 85, 8},
		{"SOUTH", 85, 10},
	} {
		got := c.ForUnit(tt.unit)
		if len(got) != 2 || *got[0].Target != tt.safe || *got[1].Target != tt.away || got[1].UnitTargets != nil {
			t.Errorf("ForUnit(%s): got %+v, want targets %v and %v and no unit targets", tt.unit, got, tt.safe, tt.away)
		}
	}
	// The catalogue itself is left as it was.
	if *c[1].Target != 8 || len(c[1].UnitTargets) != 1 {
		t.Errorf("ForUnit changed the catalogue: %+v", c[1])
	}
	if got := review.Catalogue(nil).ForUnit("NORTH"); got != nil {
		t.Errorf("ForUnit of no catalogue: got %+v, want nil", got)
	}
}

func TestTargetMet(t *testing.T) {
	for _, tt := range []struct {
		value, target float64
		better        string
		want          bool
	}{
		{86, 85, "higher", true},
		{85, 85, "higher", true},
		{84.9, 85, "higher", false},
		{84.9, 85, "", false},
		{7, 8, "lower", true},
		{8, 8, "lower", true},
		{8.5, 8, "lower", false},
	} {
		if got := review.TargetMet(tt.value, tt.target, tt.better); got != tt.want {
			t.Errorf("TargetMet(%v, %v, %q) = %v, want %v", tt.value, tt.target, tt.better, got, tt.want)
		}
	}
}

// checkEvaluation decodes an outcome as the workflow's validator does and
// checks it against the unit's view of the catalogue.
func checkEvaluation(t *testing.T, outcome string, cat review.Catalogue, unit string) error {
	t.Helper()
	var e review.Evaluation
	if err := review.DecodeOutcome(json.RawMessage(outcome), &e); err != nil {
		return err
	}
	return e.Check([]string{"communal", "individual"}, nil, nil, unit, cat.ForUnit(unit))
}

// TestEvaluationWithCatalogue holds an evaluation to the catalogue: each of
// its indicators once, with a value or not measured with a reason, and
// nothing that contradicts the catalogue; free indicators beside them.
func TestEvaluationWithCatalogue(t *testing.T) {
	cat := catalogue(t)
	for _, tt := range []struct {
		name, unit, indicators string
		want                   []string // parts of the refusal; none when accepted
	}{
		{"both measured", "NORTH", `{"code": "SAFE", "value": 78.5}, {"code": "ABSENT", "value": 9}`, nil},
		{"one not measured", "NORTH", `{"code": "SAFE", "not_measured": true, "reason": "The survey moved to the autumn."}, {"code": "ABSENT", "value": 9}`, nil},
		{"with a free indicator", "NORTH", `{"code": "SAFE", "value": 80}, {"code": "ABSENT", "value": 9},
			{"name": "Nurse visits per week", "value": 31, "target": 25}`, nil},
		{"agreeing with the catalogue", "SOUTH", `{"code": "SAFE", "value": 80, "target": 85, "name": "Feels safe at school", "unit": "%", "better": "higher"},
			{"code": "ABSENT", "value": 9, "target": 10, "name": "Poissaolot", "better": "lower"}`, nil},
		{"missing", "NORTH", `{"code": "SAFE", "value": 80}`,
			[]string{"indicator ABSENT (Poissaolot / Absences) of the catalogue is missing: give its value, or mark it not_measured with a reason"}},
		{"all missing", "NORTH", `{"name": "Nurse visits per week", "value": 31, "target": 25}`,
			[]string{"indicator SAFE (Koettu turvallisuus / Feels safe at school) of the catalogue is missing", "indicator ABSENT (Poissaolot / Absences) of the catalogue is missing"}},
		{"unknown code", "NORTH", `{"code": "SAFE", "value": 80}, {"code": "ABSENT", "value": 9}, {"code": "DROPOUT", "value": 4}`,
			[]string{`indicators[2].code "DROPOUT" is not an indicator of the catalogue (codes: SAFE, ABSENT)`}},
		{"twice", "NORTH", `{"code": "SAFE", "value": 80}, {"code": "ABSENT", "value": 9}, {"code": "SAFE", "value": 81}`,
			[]string{"indicators[2] (SAFE) is given twice (also indicators[0])"}},
		{"value and not measured", "NORTH", `{"code": "SAFE", "value": 80, "not_measured": true, "reason": "x"}, {"code": "ABSENT", "value": 9}`,
			[]string{"indicators[0] (SAFE) is marked not_measured but gives a value"}},
		{"not measured without reason", "NORTH", `{"code": "SAFE", "not_measured": true}, {"code": "ABSENT", "value": 9}`,
			[]string{"indicators[0] (SAFE) is marked not_measured and needs a reason"}},
		{"not measured with a blank reason", "NORTH", `{"code": "SAFE", "not_measured": true, "reason": "  "}, {"code": "ABSENT", "value": 9}`,
			[]string{"indicators[0] (SAFE) is marked not_measured and needs a reason"}},
		{"no value", "NORTH", `{"code": "SAFE"}, {"code": "ABSENT", "value": 9}`,
			[]string{"indicators[0] (SAFE) has no value: give its value, or mark it not_measured with a reason"}},
		{"reason without not measured", "NORTH", `{"code": "SAFE", "value": 80, "reason": "low turnout"}, {"code": "ABSENT", "value": 9}`,
			[]string{"indicators[0] (SAFE) has a reason but is not marked not_measured"}},
		{"another target", "SOUTH", `{"code": "SAFE", "value": 80}, {"code": "ABSENT", "value": 9, "target": 8}`,
			[]string{"indicators[1] (ABSENT) gives target 8, but the catalogue's target for this unit is 10: leave target out"}},
		{"another name", "NORTH", `{"code": "SAFE", "value": 80, "name": "Safety"}, {"code": "ABSENT", "value": 9}`,
			[]string{`indicators[0] (SAFE) is named "Safety", but the catalogue calls it "Koettu turvallisuus / Feels safe at school"`}},
		{"another unit of measure", "NORTH", `{"code": "SAFE", "value": 4, "unit": "1-5"}, {"code": "ABSENT", "value": 9}`,
			[]string{`indicators[0] (SAFE) is measured in "1-5", but the catalogue measures it in "%"`}},
		{"another direction", "NORTH", `{"code": "SAFE", "value": 80}, {"code": "ABSENT", "value": 9, "better": "higher"}`,
			[]string{`indicators[1] (ABSENT) says better is "higher", but the catalogue says "lower"`}},
		{"a free indicator not measured", "NORTH", `{"code": "SAFE", "value": 80}, {"code": "ABSENT", "value": 9},
			{"name": "Nurse visits", "not_measured": true, "reason": "no data", "value": 1, "target": 2}`,
			[]string{`indicators[2] ("Nurse visits") has no code: only indicators of the catalogue can be marked not_measured`}},
		{"a free indicator without a value", "NORTH", `{"code": "SAFE", "value": 80}, {"code": "ABSENT", "value": 9}, {"name": "Nurse visits", "target": 2}`,
			[]string{"indicators[2].value is required when code is not given"}},
		{"a code not a code", "NORTH", `{"code": "SAFE", "value": 80}, {"code": "ABSENT", "value": 9}, {"code": "A B", "value": 2}`,
			[]string{`indicators[2].code must be 1-32 letters`}},
		{"a value not a number", "NORTH", `{"code": "SAFE", "value": "80"}, {"code": "ABSENT", "value": 9}`,
			[]string{"value must be a number"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := checkEvaluation(t, `{"indicators": [`+tt.indicators+`]}`, cat, tt.unit)
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("got %v, want the evaluation accepted", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got the evaluation accepted, want a refusal saying %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to say %q", err, w)
				}
			}
		})
	}
}

// TestEvaluationWithoutCatalogue shows that with no catalogue an evaluation
// is held to exactly the rules it was held to before catalogues: free
// indicators with name, value and target, and no codes.
func TestEvaluationWithoutCatalogue(t *testing.T) {
	for _, tt := range []struct {
		name, outcome string
		want          string // a part of the refusal; empty when accepted
	}{
		{"free indicators", `{"indicators": [{"name": "Feels safe", "value": 78.5, "target": 85, "unit": "%"},
			{"name": "Absences", "value": 12, "target": 8, "unit": "%", "better": "lower"}]}`, ""},
		{"a finding only", `{"findings": [{"id": "F1", "section": "communal", "severity": "minor", "text": "x"}]}`, ""},
		{"nothing", `{"indicators": [], "findings": []}`, "an evaluation needs at least one indicator or finding"},
		{"no value", `{"indicators": [{"name": "Absences", "target": 5}]}`, "indicators[0].value is required"},
		{"no target", `{"indicators": [{"name": "Absences", "value": 5}]}`, "indicators[0].target is required"},
		{"no name", `{"indicators": [{"value": 5, "target": 5}]}`, "indicators[0].name is required"},
		{"a code", `{"indicators": [{"code": "SAFE", "value": 80}]}`,
			`indicators[0].code "SAFE" names a catalogue indicator, but this cycle has no indicator catalogue`},
		{"not measured", `{"indicators": [{"name": "Absences", "value": 5, "target": 5, "not_measured": true, "reason": "x"}]}`,
			"only indicators of the catalogue can be marked not_measured"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, cat := range []review.Catalogue{nil, {}} {
				err := checkEvaluation(t, tt.outcome, cat, "NORTH")
				switch {
				case tt.want == "" && err != nil:
					t.Errorf("got %v, want the evaluation accepted", err)
				case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
					t.Errorf("got %v, want a refusal saying %q", err, tt.want)
				}
			}
		})
	}
}
