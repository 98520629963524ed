package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

func ptr(v float64) *float64 { return &v }

// catalogueConfig is a config whose catalogue follows a survey score (a
// minimum) and absences (a maximum); southAbsences, when not 0, is South
// campus's own target for absences.
func catalogueConfig(t *testing.T, absencesName string, southAbsences float64) review.Config {
	t.Helper()
	absent := review.CatalogueIndicator{Code: "ABSENT", NameFI: "Poissaolot", NameEN: absencesName, UnitOfMeasure: "%", Better: "lower", Target: ptr(8)}
	if southAbsences != 0 {
		absent.UnitTargets = []review.UnitTarget{{Unit: "SOUTH", Target: ptr(southAbsences)}}
	}
	cfg := review.Config{Indicators: review.Catalogue{
		{Code: "SAFE", NameFI: "Koettu turvallisuus", NameEN: "Feels safe at school", UnitOfMeasure: "%", Target: ptr(85)},
		absent,
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// evaluationWith is a unit's realistic evaluation (evaluationNorth's
// findings) with the indicators and ratings given as JSON lists.
func evaluationWith(t *testing.T, indicators, effectiveness string) string {
	t.Helper()
	var e map[string]json.RawMessage
	if err := json.Unmarshal([]byte(evaluationNorth), &e); err != nil {
		t.Fatal(err)
	}
	e["indicators"], e["effectiveness"] = json.RawMessage(indicators), json.RawMessage(effectiveness)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runOneRound takes the cycle from evaluation to publication in one round,
// with the units' evaluations given.
func (c *cycle) runOneRound(evaluations map[string]string) {
	c.t.Helper()
	var tasks []review.TaskSpec
	for _, u := range []string{"NORTH", "SOUTH"} {
		tasks = append(tasks, c.task(review.KindEvaluate, 0, u), c.task(review.KindConsult, 0, u))
	}
	c.open(review.PhaseEvaluate, 0, tasks...)
	c.complete(c.task(review.KindEvaluate, 0, "NORTH"), evaluations["NORTH"], nil)
	c.complete(c.task(review.KindConsult, 0, "NORTH"), consultationNorth, nil)
	c.complete(c.task(review.KindEvaluate, 0, "SOUTH"), evaluations["SOUTH"], nil)
	c.complete(c.task(review.KindConsult, 0, "SOUTH"), consultationSouth, nil)
	c.open(review.PhaseUpdate, 1, c.task(review.KindDraft, 1, ""))
	c.draft(1, round2Changes)
	c.open(review.PhaseSignOff, 1, c.task(review.KindSignOff, 1, "NORTH"), c.task(review.KindSignOff, 1, "SOUTH"))
	c.signOff(1, "NORTH", review.DecisionApprove, "")
	c.signOff(1, "SOUTH", review.DecisionApprove, "")
	c.open(review.PhaseApprove, 1, c.task(review.KindApprove, 1, ""))
	effective := fmt.Sprintf("%d-08-01", c.year)
	c.complete(c.task(review.KindApprove, 1, ""), fmt.Sprintf(`{"decision": "approve", "effective_from": %q}`, effective), nil)
	c.twice("Publish", func() error {
		_, err := c.s.Publish(context.Background(), review.PublishInput{
			CycleID: c.id, Provider: c.provider, Round: 1, Content: c.drafts[1], EffectiveFrom: effective, ApprovedBy: strings.ToLower(c.provider) + ".approver",
		})
		return err
	})
}

// indicatorRow is a row of the indicators table as the tests read it.
type indicatorRow struct {
	Unit   string   `db:"unit_code"`
	Code   string   `db:"code"`
	Name   string   `db:"name"`
	NameFI string   `db:"name_fi"`
	NameEN string   `db:"name_en"`
	Value  *float64 `db:"value"`
	Target float64  `db:"target"`
	Unit2  string   `db:"unit"`
	Better string   `db:"better"`
	Reason *string  `db:"not_measured_reason"`
}

func (r indicatorRow) String() string {
	value, reason := "NULL", "NULL"
	if r.Value != nil {
		value = fmt.Sprint(*r.Value)
	}
	if r.Reason != nil {
		reason = *r.Reason
	}
	return fmt.Sprintf("%s %q %q %q %q %s/%v %s %s %s", r.Unit, r.Code, r.Name, r.NameFI, r.NameEN, value, r.Target, r.Unit2, r.Better, reason)
}

func TestCatalogueIndicatorsRecorded(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, catalogueConfig(t, "Absences", 10))
	north, south := c.task(review.KindEvaluate, 0, "NORTH"), c.task(review.KindEvaluate, 0, "SOUTH")
	c.open(review.PhaseEvaluate, 0, north, south)

	// Outcomes that break the catalogue are refused here too, whoever sends
	// them, naming the indicator; nothing is written.
	for _, tt := range []struct{ indicators, says string }{
		{`[{"code": "SAFE", "value": 80}]`, "indicator ABSENT (Poissaolot / Absences) of the catalogue is missing"},
		{`[{"code": "SAFE", "value": 80}, {"code": "ABSENT", "value": 9}, {"code": "DROPOUT", "value": 3}]`, `indicators[2].code "DROPOUT" is not an indicator of the catalogue`},
		{`[{"code": "SAFE", "value": 80, "not_measured": true, "reason": "x"}, {"code": "ABSENT", "value": 9}]`, "indicators[0] (SAFE) is marked not_measured but gives a value"},
		{`[{"code": "SAFE", "not_measured": true}, {"code": "ABSENT", "value": 9}]`, "indicators[0] (SAFE) is marked not_measured and needs a reason"},
		{`[{"code": "SAFE", "value": 80}, {"code": "ABSENT", "value": 9, "target": 8}]`, "the catalogue's target for this unit is 10"},
	} {
		before := rowCounts(t, db)
		err := s.CompleteTask(ctx, review.CompleteTaskInput{Task: south, Actor: "acme.nurse.south", Outcome: json.RawMessage(evaluationWith(t, tt.indicators, `[]`))})
		wantKind(t, err, store.ErrInvalid, tt.says)
		if d := diff(before, rowCounts(t, db)); d != "" {
			t.Errorf("a refused outcome wrote rows: %s", d)
		}
	}

	c.complete(north, evaluationWith(t, `[
		{"code": "SAFE", "value": 78.5},
		{"code": "ABSENT", "not_measured": true, "reason": "The register changed systems in March."},
		{"name": "Nurse visits per week", "value": 31, "target": 25, "unit": "visits"}]`, `[]`), nil)
	c.complete(south, evaluationWith(t, `[{"code": "ABSENT", "value": 9, "target": 10, "name": "Absences"}, {"code": "SAFE", "value": 90}]`, `[]`), nil)

	var rows []indicatorRow
	const q = `SELECT unit_code, code, name, name_fi, name_en, value, target, unit, better, not_measured_reason
FROM indicators ORDER BY unit_code, ordinal`
	if err := db.SelectContext(ctx, &rows, q); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`NORTH "SAFE" "Feels safe at school" "Koettu turvallisuus" "Feels safe at school" 78.5/85 % higher NULL`,
		`NORTH "ABSENT" "Absences" "Poissaolot" "Absences" NULL/8 % lower The register changed systems in March.`,
		`NORTH "" "Nurse visits per week" "" "" 31/25 visits higher NULL`,
		`SOUTH "ABSENT" "Absences" "Poissaolot" "Absences" 9/10 % lower NULL`,
		`SOUTH "SAFE" "Feels safe at school" "Koettu turvallisuus" "Feels safe at school" 90/85 % higher NULL`,
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d indicator rows %v, want %d", len(rows), rows, len(want))
	}
	for i, r := range rows {
		if r.String() != want[i] {
			t.Errorf("row %d: got %s, want %s", i, r, want[i])
		}
	}

	tr, err := s.TraceReport(ctx, "ACME", 2025)
	if err != nil {
		t.Fatal(err)
	}
	wantNorth := []store.TraceIndicator{
		{Code: "SAFE", Name: "Feels safe at school", Value: ptr(78.5), Target: 85, Unit: "%", Better: "higher"},
		{Code: "ABSENT", Name: "Absences", NotMeasured: "The register changed systems in March.", Target: 8, Unit: "%", Better: "lower"},
		{Name: "Nurse visits per week", Value: ptr(31), Target: 25, Unit: "visits", Better: "higher", Met: true},
	}
	if got := tr.Units[0].Indicators; !equalJSON(got, wantNorth) {
		t.Errorf("got NORTH's indicators in the report %+v, want %+v", got, wantNorth)
	}
}

// TestCatalogueUnitsChecked refuses a catalogue whose unit target names a
// unit the provider does not have, before a cycle is recorded.
func TestCatalogueUnitsChecked(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	cfg := catalogueConfig(t, "Absences", 10)
	cfg.Indicators[1].UnitTargets[0].Unit = "WEST"
	const says = `indicators[1].unit_targets[0].unit "WEST" of indicator ABSENT is not a unit of the provider (units: NORTH, SOUTH)`
	wantKind(t, s.CheckCatalogue(ctx, "ACME", cfg.Indicators), store.ErrInvalid, says)
	wantKind(t, s.CheckCatalogue(ctx, "NOPE", cfg.Indicators), store.ErrNotFound, `provider "NOPE" has not been imported`)
	if err := s.CheckCatalogue(ctx, "ACME", catalogueConfig(t, "Absences", 10).Indicators); err != nil {
		t.Errorf("got %v for a catalogue of known units, want nil", err)
	}
	_, err := s.SetupCycle(ctx, review.SetupCycleInput{CycleID: review.CycleID("ACME", 2025), Provider: "ACME", Year: 2025, Config: cfg})
	wantKind(t, err, store.ErrInvalid, says)
	if n := rowCounts(t, db)["cycles"]; n != 0 {
		t.Errorf("got %d cycles recorded, want none", n)
	}
}

// TestIndicatorTrendsOverTwoCycles runs two years of a provider with a
// catalogue and reads the trends: every year's value against that year's
// target, met or not in the indicator's direction, and the reason where one
// was not measured; and the report of each year with what it shows across
// cycles.
func TestIndicatorTrendsOverTwoCycles(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME", "BETA")

	trends, err := s.IndicatorTrends(ctx, "ACME")
	if err != nil || len(trends) != 0 {
		t.Errorf("got trends %+v, %v before any cycle, want none", trends, err)
	}
	_, err = s.IndicatorTrends(ctx, "NOPE")
	wantKind(t, err, store.ErrNotFound, `provider "NOPE" has not been imported`)

	c24 := newCycle(t, s, db, "ACME", 2024, catalogueConfig(t, "Absences", 0))
	c24.runOneRound(map[string]string{
		"NORTH": evaluationWith(t, `[{"code": "SAFE", "value": 80}, {"code": "ABSENT", "value": 9}]`, `[]`),
		"SOUTH": evaluationWith(t, `[{"code": "SAFE", "value": 88}, {"code": "ABSENT", "not_measured": true, "reason": "Register changed systems."}]`, `[]`),
	})
	// Another provider's cycle of the same year stays out of ACME's trends.
	newCycle(t, s, db, "BETA", 2025, catalogueConfig(t, "Absences", 0)).runOneRound(map[string]string{
		"NORTH": evaluationWith(t, `[{"code": "SAFE", "value": 1}, {"code": "ABSENT", "value": 1}]`, `[]`),
		"SOUTH": evaluationWith(t, `[{"code": "SAFE", "value": 1}, {"code": "ABSENT", "value": 1}]`, `[]`),
	})
	c25 := newCycle(t, s, db, "ACME", 2025, catalogueConfig(t, "Absences over 10% of lessons", 10))
	if got := fmt.Sprint(c25.setup.PreviousChanges); got != "[C1 C2]" {
		t.Fatalf("got previous changes %s, want 2024's [C1 C2]", got)
	}
	c25.runOneRound(map[string]string{
		"NORTH": evaluationWith(t, `[{"code": "SAFE", "value": 86}, {"code": "ABSENT", "value": 7}]`,
			`[{"change_id": "C1", "rating": "not_effective", "note": "The procedure is not followed."}, {"change_id": "C2", "rating": "effective"}]`),
		"SOUTH": evaluationWith(t, `[{"code": "SAFE", "value": 84}, {"code": "ABSENT", "value": 9}]`,
			`[{"change_id": "C1", "rating": "not_effective", "note": "Nobody owns it."}, {"change_id": "C2", "rating": "partly", "note": "Autumn only."}]`),
	})

	point := func(year int, value *float64, target float64, better, status, reason string) store.TrendPoint {
		return store.TrendPoint{Year: year, CycleID: review.CycleID("ACME", year), Value: value, Target: target, Better: better, Status: status, Reason: reason}
	}
	absent := func(unit string, points ...store.TrendPoint) store.IndicatorTrend {
		return store.IndicatorTrend{Code: "ABSENT", NameFI: "Poissaolot", NameEN: "Absences over 10% of lessons", Unit: unit, UnitOfMeasure: "%", Better: "lower", Points: points}
	}
	safe := func(unit string, points ...store.TrendPoint) store.IndicatorTrend {
		return store.IndicatorTrend{Code: "SAFE", NameFI: "Koettu turvallisuus", NameEN: "Feels safe at school", Unit: unit, UnitOfMeasure: "%", Better: "higher", Points: points}
	}
	wantAll := []store.IndicatorTrend{
		absent("NORTH", point(2024, ptr(9), 8, "lower", store.TrendNotMet, ""), point(2025, ptr(7), 8, "lower", store.TrendMet, "")),
		absent("SOUTH", point(2024, nil, 8, "lower", store.TrendNotMeasured, "Register changed systems."), point(2025, ptr(9), 10, "lower", store.TrendMet, "")),
		safe("NORTH", point(2024, ptr(80), 85, "higher", store.TrendNotMet, ""), point(2025, ptr(86), 85, "higher", store.TrendMet, "")),
		safe("SOUTH", point(2024, ptr(88), 85, "higher", store.TrendMet, ""), point(2025, ptr(84), 85, "higher", store.TrendNotMet, "")),
	}
	trends, err = s.IndicatorTrends(ctx, "ACME")
	if err != nil {
		t.Fatal(err)
	}
	if !equalJSON(trends, wantAll) {
		t.Errorf("got trends\n%s\nwant\n%s", jsonOf(trends), jsonOf(wantAll))
	}

	// The report of 2025 follows its catalogue's indicators in catalogue
	// order, and sums up how the units rated 2024's changes.
	tr, err := s.TraceReport(ctx, "ACME", 2025)
	if err != nil {
		t.Fatal(err)
	}
	wantReport := []store.IndicatorTrend{wantAll[2], wantAll[3], wantAll[0], wantAll[1]}
	if !equalJSON(tr.Trends, wantReport) {
		t.Errorf("got the 2025 report's trends\n%s\nwant\n%s", jsonOf(tr.Trends), jsonOf(wantReport))
	}
	wantEffect := []store.ChangeEffectiveness{
		{ChangeID: "C1", Section: round2Changes[0].section, Text: round2Changes[0].text, NotEffective: 2, Unrated: []string{},
			Ratings: []store.UnitRating{{Unit: "NORTH", Rating: "not_effective", Note: "The procedure is not followed."}, {Unit: "SOUTH", Rating: "not_effective", Note: "Nobody owns it."}}},
		{ChangeID: "C2", Section: round2Changes[1].section, Text: round2Changes[1].text, Effective: 1, Partly: 1, Unrated: []string{},
			Ratings: []store.UnitRating{{Unit: "NORTH", Rating: "effective"}, {Unit: "SOUTH", Rating: "partly", Note: "Autumn only."}}},
	}
	if !equalJSON(tr.Effectiveness, wantEffect) {
		t.Errorf("got the 2025 report's effectiveness\n%s\nwant\n%s", jsonOf(tr.Effectiveness), jsonOf(wantEffect))
	}

	// The report of 2024 shows the trends up to 2024 only, and no ratings:
	// there was no earlier cycle.
	tr, err = s.TraceReport(ctx, "ACME", 2024)
	if err != nil {
		t.Fatal(err)
	}
	for _, trend := range tr.Trends {
		if len(trend.Points) != 1 || trend.Points[0].Year != 2024 {
			t.Errorf("got %s %s points %+v in the 2024 report, want 2024's only", trend.Code, trend.Unit, trend.Points)
		}
	}
	if len(tr.Trends) != 4 || tr.Trends[0].NameEN != "Feels safe at school" || tr.Trends[2].NameEN != "Absences" || len(tr.Effectiveness) != 0 {
		t.Errorf("got the 2024 report's trends %+v and effectiveness %+v, want 4 trends named as in 2024 and no ratings", tr.Trends, tr.Effectiveness)
	}
}

// TestEffectivenessWhileUnitsRate reads the summary of ratings while one
// unit has rated and the other has not.
func TestEffectivenessWhileUnitsRate(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	newCycle(t, s, db, "ACME", 2024, review.Config{}).run(round1Changes, round2Changes)
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	north := c.task(review.KindEvaluate, 0, "NORTH")
	c.open(review.PhaseEvaluate, 0, north, c.task(review.KindEvaluate, 0, "SOUTH"))
	c.complete(north, evaluationWith(t, `[]`, `[{"change_id": "C1", "rating": "not_effective", "note": "x"}, {"change_id": "C2", "rating": "effective"}]`), nil)

	tr, err := s.TraceReport(ctx, "ACME", 2025)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range tr.Effectiveness {
		got = append(got, fmt.Sprintf("%s e%d p%d n%d rated %d unrated %v", c.ChangeID, c.Effective, c.Partly, c.NotEffective, c.Rated(), c.Unrated))
	}
	if want := "[C1 e0 p0 n1 rated 1 unrated [SOUTH] C2 e1 p0 n0 rated 1 unrated [SOUTH]]"; fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
	if len(tr.Trends) != 0 {
		t.Errorf("got trends %+v for a cycle without a catalogue, want none", tr.Trends)
	}
}

func jsonOf(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
