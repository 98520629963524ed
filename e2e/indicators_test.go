package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
)

// catalogueConfig is a cycle config with an indicator catalogue: a survey
// score whose target is a minimum, and absences, whose target is a maximum
// and HARBOUR's own.
func catalogueConfig(harbour string) string {
	return `{"phases": {"evaluate": "2h", "consult": "2h", "update": "1h", "signoff": "1h", "approve": "1h"},
 "indicators": [
  {"code": "SAFE", "name_fi": "Koettu turvallisuus", "name_en": "Feels safe at school", "unit_of_measure": "%", "target": 85},
  {"code": "ABSENT", "name_fi": "Poissaolot", "name_en": "Absences", "unit_of_measure": "%", "better": "lower", "target": 8,
   "unit_targets": [{"unit": "` + harbour + `", "target": 10}]}]}`
}

// catalogueCycle runs a cycle of the year through the command line in one
// round, every unit reporting the catalogue indicators given for it and
// rating the previous cycle's changes as given.
func (e *env) catalogueCycle(yr int, indicators map[string][]map[string]any, ratings map[string][]map[string]any) {
	e.t.Helper()
	id := func(kind review.TaskKind, round int, unit string) string {
		return review.TaskID(e.provider, yr, kind, round, unit)
	}
	for _, u := range units {
		eval := evaluation(u)
		eval["indicators"], eval["effectiveness"] = indicators[u], ratings[u]
		e.complete(id(review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", eval)
		e.complete(id(review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}
	e.complete(id(review.KindDraft, 1, ""), "p.editor", draft(1))
	for _, u := range units {
		sid := id(review.KindSignOff, 1, u)
		e.complete(sid, strings.ToLower(u)+".head", map[string]any{"decision": "approve", "version_hash": hashOf(e.waitTask(sid))})
	}
	e.complete(id(review.KindApprove, 1, ""), "r.approver", map[string]any{"decision": "approve", "effective_from": fmt.Sprintf("%d-08-01", yr)})
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM plan_versions WHERE cycle_id = $1`, review.CycleID(e.provider, yr)) == 0 {
		if time.Now().After(deadline) {
			e.t.Fatalf("the %d cycle did not publish within 30s", yr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func measured(code string, v float64) map[string]any { return map[string]any{"code": code, "value": v} }

// TestIndicatorCatalogueAcrossTwoCycles runs two consecutive cycles of one
// provider with an indicator catalogue in the config, through the command
// line: the evaluate task shows each unit its targets, evaluations that
// break the catalogue are refused in one line, values are given in both
// years and one indicator is not measured with a reason; then the trends
// show both years and whether the targets were met, and the report of the
// second year shows them with a summary of how the units rated the first
// year's changes.
func TestIndicatorCatalogueAcrossTwoCycles(t *testing.T) {
	e := newEnv(t)
	e.startWorker()
	e.ok("org", "import", e.file("org.json", e.org()))
	start := func(yr int, config string) {
		e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", strconv.Itoa(yr), "--config", e.file(fmt.Sprintf("config-%d.json", yr), config))
	}
	e.refused(1, `indicators[1].unit_targets[0].unit "WEST" of indicator ABSENT is not a unit of the provider (units: FOREST, HARBOUR, NORTH)`,
		"cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", "2026", "--config", e.file("west.json", catalogueConfig("WEST")))
	e.refused(1, `indicators[1].code "SAFE" is already the code of indicators[0]`,
		"cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", "2026", "--config",
		e.file("twice.json", strings.Replace(catalogueConfig("HARBOUR"), `"code": "ABSENT"`, `"code": "SAFE"`, 1)))
	start(2026, catalogueConfig("HARBOUR"))

	// Each unit's evaluate task shows the catalogue with its own targets.
	for _, u := range []struct {
		unit   string
		absent float64
	}{{"NORTH", 8}, {"HARBOUR", 10}} {
		var in review.EvaluateInput
		if err := json.Unmarshal(e.waitTask(review.TaskID(e.provider, 2026, review.KindEvaluate, 0, u.unit)).Input, &in); err != nil {
			t.Fatal(err)
		}
		if len(in.Indicators) != 2 || in.Indicators[1].Code != "ABSENT" || *in.Indicators[1].Target != u.absent || in.Indicators[1].UnitTargets != nil {
			t.Errorf("the evaluate task of %s shows the indicators %+v, want SAFE and ABSENT with target %v", u.unit, in.Indicators, u.absent)
		}
	}

	// Evaluations that break the catalogue, refused with one line each.
	evalNorth := review.TaskID(e.provider, 2026, review.KindEvaluate, 0, "NORTH")
	for i, tt := range []struct {
		indicators []map[string]any
		says       string
	}{
		{[]map[string]any{measured("SAFE", 80)}, "indicator ABSENT (Poissaolot / Absences) of the catalogue is missing: give its value, or mark it not_measured with a reason"},
		{[]map[string]any{measured("SAFE", 80), measured("ABSENT", 9), measured("DROPOUT", 3)}, `indicators[2].code "DROPOUT" is not an indicator of the catalogue (codes: SAFE, ABSENT)`},
		{[]map[string]any{measured("SAFE", 80), {"code": "ABSENT", "value": 9, "not_measured": true, "reason": "x"}}, "indicators[1] (ABSENT) is marked not_measured but gives a value"},
		{[]map[string]any{measured("SAFE", 80), {"code": "ABSENT", "not_measured": true}}, "indicators[1] (ABSENT) is marked not_measured and needs a reason saying why it was not measured"},
		{[]map[string]any{measured("SAFE", 80), {"code": "ABSENT", "value": 9, "target": 12}}, "indicators[1] (ABSENT) gives target 12, but the catalogue's target for this unit is 8"},
	} {
		eval := evaluation("NORTH")
		eval["indicators"] = tt.indicators
		e.refused(1, "outcome of task "+evalNorth+": "+tt.says,
			"task", "complete", evalNorth, "--as", "north.staff", "--outcome", e.file(fmt.Sprintf("bad-indicators-%d.json", i), eval))
	}
	if n := e.count(`SELECT count(*) FROM indicators`); n != 0 {
		t.Fatalf("refused evaluations wrote %d indicators", n)
	}

	e.catalogueCycle(2026, map[string][]map[string]any{
		"NORTH":   {measured("SAFE", 80), measured("ABSENT", 9)},
		"HARBOUR": {measured("SAFE", 88), measured("ABSENT", 9)},
		"FOREST":  {measured("SAFE", 86), {"code": "ABSENT", "not_measured": true, "reason": "The register changed systems in March."}},
	}, nil)

	// The next year: the same catalogue, and every unit rates last year's
	// changes; C1 worked in one unit of three.
	start(2027, catalogueConfig("HARBOUR"))
	rate := func(c1, note string) []map[string]any {
		return []map[string]any{{"change_id": "C1", "rating": c1, "note": note}, {"change_id": "C2", "rating": "effective"}}
	}
	e.catalogueCycle(2027, map[string][]map[string]any{
		"NORTH":   {measured("SAFE", 86), measured("ABSENT", 7)},
		"HARBOUR": {measured("SAFE", 84), measured("ABSENT", 11)},
		"FOREST":  {measured("SAFE", 90), measured("ABSENT", 6)},
	}, map[string][]map[string]any{
		"NORTH":   rate("not_effective", "The rota is not followed."),
		"HARBOUR": rate("not_effective", "Nobody owns the rota."),
		"FOREST":  rate("effective", ""),
	})

	// The trends, as CSV: both years, whether met, and why not measured.
	trends := func(args ...string) []string {
		return append([]string{"indicators", "trends", "--provider", e.provider}, args...)
	}
	csv := e.ok(trends("--csv")...)
	want := `code,name_fi,name_en,unit,year,value,target,unit_of_measure,better,status,reason
ABSENT,Poissaolot,Absences,FOREST,2026,,8,%,lower,not_measured,The register changed systems in March.
ABSENT,Poissaolot,Absences,FOREST,2027,6,8,%,lower,met,
ABSENT,Poissaolot,Absences,HARBOUR,2026,9,10,%,lower,met,
ABSENT,Poissaolot,Absences,HARBOUR,2027,11,10,%,lower,not_met,
ABSENT,Poissaolot,Absences,NORTH,2026,9,8,%,lower,not_met,
ABSENT,Poissaolot,Absences,NORTH,2027,7,8,%,lower,met,
SAFE,Koettu turvallisuus,Feels safe at school,FOREST,2026,86,85,%,higher,met,
SAFE,Koettu turvallisuus,Feels safe at school,FOREST,2027,90,85,%,higher,met,
SAFE,Koettu turvallisuus,Feels safe at school,HARBOUR,2026,88,85,%,higher,met,
SAFE,Koettu turvallisuus,Feels safe at school,HARBOUR,2027,84,85,%,higher,not_met,
SAFE,Koettu turvallisuus,Feels safe at school,NORTH,2026,80,85,%,higher,not_met,
SAFE,Koettu turvallisuus,Feels safe at school,NORTH,2027,86,85,%,higher,met,
`
	if csv != want {
		t.Errorf("indicators trends --csv: got\n%s\nwant\n%s", csv, want)
	}
	var asJSON []struct {
		Code, Unit string
		Points     []struct {
			Year   int
			Status string
		}
	}
	if err := json.Unmarshal([]byte(e.ok(trends("--json", "--as", "north.head")...)), &asJSON); err != nil || len(asJSON) != 6 || len(asJSON[0].Points) != 2 {
		t.Errorf("indicators trends --json as north.head: got %+v (%v), want 6 trends of 2 years", asJSON, err)
	}
	if out := e.ok(trends()...); !strings.Contains(out, "not measured: The register changed systems in March.") {
		t.Errorf("indicators trends: got\n%s\nwant the reason FOREST gave", out)
	}
	e.refused(1, `"north.rep" may not report the indicator trends of `+e.provider, trends("--as", "north.rep")...)
	e.refused(1, `provider "NOSUCH" has not been imported`, "indicators", "trends", "--provider", "NOSUCH")
	e.refused(2, "indicators trends needs --provider", "indicators", "trends")
	e.refused(2, "choose --json or --csv, not both", trends("--json", "--csv")...)

	// The report of the second year: the trend table, and the summary of
	// the ratings, with the change that did not work marked in words.
	md := e.ok("report", "--provider", e.provider, "--year", "2027")
	out := filepath.Join(e.dir, "report-2027.html")
	e.ok("report", "--provider", e.provider, "--year", "2027", "--format", "html", "--out", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, f := range []struct {
		name, out string
		want      []string
	}{
		{"md", md, []string{
			"## 8. Indicator trends across cycles",
			"| Indicator | Unit | Target reached when the value is | 2026 | 2027 |",
			"| Koettu turvallisuus / Feels safe at school (SAFE) | `NORTH` | at or above the target | 80 % (target 85 %): not met | 86 % (target 85 %): met |",
			"| Poissaolot / Absences (ABSENT) | `FOREST` | at or below the target | not measured: The register changed systems in March. | 6 % (target 8 %): met |",
			"| Poissaolot / Absences (ABSENT) | `HARBOUR` | at or below the target | 9 % (target 10 %): met | 11 % (target 10 %): not met |",
			"## 9. How last cycle's changes worked, across units",
			"> **ATTENTION: change C1 (communal) was rated not effective in 2 of 3 units.**",
			"| `C1` | communal: Two supervisors at every break (round 1). | 1 | 0 | 2 | none | NOT EFFECTIVE in 2 of 3 units |",
			"| `C2` | individual: Counsellor hours are posted weekly. | 3 | 0 | 0 | none | effective in 3 of 3 units |",
			"| `C1` | `HARBOUR` | not effective | Nobody owns the rota. |",
			"| `C1` | `NORTH` | not effective | The rota is not followed. |",
		}},
		{"html", html, []string{
			"<h2>8. Indicator trends across cycles</h2>",
			"<tr><td>Koettu turvallisuus / Feels safe at school (SAFE)</td><td><code>NORTH</code></td><td>at or above the target</td><td>80 % (target 85 %): not met</td><td>86 % (target 85 %): met</td></tr>",
			`<p class="notice">ATTENTION: change C1 (communal) was rated not effective in 2 of 3 units.</p>`,
			"<td>NOT EFFECTIVE in 2 of 3 units</td>",
		}},
	} {
		for _, s := range f.want {
			if !strings.Contains(f.out, s) {
				t.Errorf("the %s report of 2027 does not say %q", f.name, s)
			}
		}
	}
	// The first year's report shows its own year only, and no ratings.
	first := e.ok("report", "--provider", e.provider, "--year", "2026")
	if !strings.Contains(first, "| Indicator | Unit | Target reached when the value is | 2026 |\n") || strings.Contains(first, "2027 |") ||
		!strings.Contains(first, "There was no earlier completed cycle whose changes could be rated.") {
		t.Errorf("the report of 2026 does not show the trends up to 2026 and no ratings:\n%s", first[strings.Index(first, "## 8."):])
	}
}
