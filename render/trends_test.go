package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/store"
)

func value(v float64) *float64 { return &v }

// trends are two years of two catalogue indicators: a survey score whose
// target is a minimum, and absences, whose target is a maximum and which
// South campus could not measure in 2025.
func trends() []store.IndicatorTrend {
	return []store.IndicatorTrend{
		{Code: "SAFE", NameFI: "Koettu turvallisuus", NameEN: "Feels safe", Unit: "NORTH", UnitOfMeasure: "%", Better: "higher", Points: []store.TrendPoint{
			{Year: 2025, CycleID: "review-cycle/ACME/2025", Value: value(80), Target: 85, Better: "higher", Status: store.TrendNotMet},
			{Year: 2026, CycleID: "review-cycle/ACME/2026", Value: value(86.5), Target: 85, Better: "higher", Status: store.TrendMet},
		}},
		{Code: "ABSENT", NameFI: "Poissaolot", NameEN: "Absences", Unit: "SOUTH", UnitOfMeasure: "%", Better: "lower", Points: []store.TrendPoint{
			{Year: 2025, CycleID: "review-cycle/ACME/2025", Target: 8, Better: "lower", Status: store.TrendNotMeasured, Reason: `Register changed, "mid-year"`},
			{Year: 2026, CycleID: "review-cycle/ACME/2026", Value: value(9), Target: 10, Better: "lower", Status: store.TrendMet},
		}},
	}
}

func TestTrendsCSV(t *testing.T) {
	var b bytes.Buffer
	if err := TrendsCSV(&b, trends()); err != nil {
		t.Fatal(err)
	}
	want := `code,name_fi,name_en,unit,year,value,target,unit_of_measure,better,status,reason
SAFE,Koettu turvallisuus,Feels safe,NORTH,2025,80,85,%,higher,not_met,
SAFE,Koettu turvallisuus,Feels safe,NORTH,2026,86.5,85,%,higher,met,
ABSENT,Poissaolot,Absences,SOUTH,2025,,8,%,lower,not_measured,"Register changed, ""mid-year"""
ABSENT,Poissaolot,Absences,SOUTH,2026,9,10,%,lower,met,
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	b.Reset()
	if err := TrendsCSV(&b, nil); err != nil || b.String() != "code,name_fi,name_en,unit,year,value,target,unit_of_measure,better,status,reason\n" {
		t.Errorf("no trends: got %q, %v; want the header alone", b.String(), err)
	}
}

// acrossCycles is the running trace of the report tests in its second year,
// with the trends and with three units' ratings of last year's changes: C1
// not effective in two of them, C2 rated by two and not yet by the third.
func acrossCycles() store.Trace {
	tr := runningTrace()
	tr.Cycle.Year, tr.PreviousCycle = 2026, "review-cycle/ACME/2025"
	tr.Trends = trends()
	tr.Effectiveness = []store.ChangeEffectiveness{
		{ChangeID: "C1", Section: "communal", Text: "One anti-bullying procedure.", Effective: 1, NotEffective: 2, Unrated: []string{},
			Ratings: []store.UnitRating{{Unit: "FOREST", Rating: "not_effective", Note: "Nobody owns it."}, {Unit: "HARBOUR", Rating: "effective"},
				{Unit: "NORTH", Rating: "not_effective", Note: "Not <followed>."}}},
		{ChangeID: "C2", Section: "individual", Text: "Drop-in hours.", Effective: 1, Partly: 1, Unrated: []string{"NORTH"},
			Ratings: []store.UnitRating{{Unit: "FOREST", Rating: "partly", Note: "Autumn only."}, {Unit: "HARBOUR", Rating: "effective"}}},
	}
	return tr
}

func TestReportAcrossCycles(t *testing.T) {
	o := Options{Now: time.Date(2026, 6, 2, 9, 5, 0, 0, time.UTC)}
	md := renderReport(t, acrossCycles(), FormatMarkdown, o)
	html := renderReport(t, acrossCycles(), FormatHTML, o)
	for _, tt := range []struct {
		format, out string
		want        []string
	}{
		{"md", md, []string{
			"\n## 8. Indicator trends across cycles\n",
			"| Indicator | Unit | Target reached when the value is | 2025 | 2026 |\n",
			"| Koettu turvallisuus / Feels safe (SAFE) | `NORTH` | at or above the target | 80 % (target 85 %): not met | 86.5 % (target 85 %): met |\n",
			"| Poissaolot / Absences (ABSENT) | `SOUTH` | at or below the target | not measured: Register changed, \"mid-year\" | 9 % (target 10 %): met |\n",
			"\n## 9. How last cycle's changes worked, across units\n",
			"\n> **ATTENTION: change C1 (communal) was rated not effective in 2 of 3 units.**\n",
			"| `C1` | communal: One anti-bullying procedure. | 1 | 0 | 2 | none | NOT EFFECTIVE in 2 of 3 units |\n",
			"| `C2` | individual: Drop-in hours. | 1 | 1 | 0 | NORTH | effective in 1 of 2 units; partly effective in 1 of 2 units |\n",
			"| `C1` | `NORTH` | not effective | Not \\<followed\\>. |\n",
			"| `C2` | `FOREST` | partly effective | Autumn only. |\n",
			"\n## 12. How to read this report\n",
		}},
		{"html", html, []string{
			"<h2>8. Indicator trends across cycles</h2>",
			"<tr><th>Indicator</th><th>Unit</th><th>Target reached when the value is</th><th>2025</th><th>2026</th></tr>",
			"<tr><td>Koettu turvallisuus / Feels safe (SAFE)</td><td><code>NORTH</code></td><td>at or above the target</td><td>80 % (target 85 %): not met</td><td>86.5 % (target 85 %): met</td></tr>",
			"<tr><td>Poissaolot / Absences (ABSENT)</td><td><code>SOUTH</code></td><td>at or below the target</td><td>not measured: Register changed, &#34;mid-year&#34;</td><td>9 % (target 10 %): met</td></tr>",
			"<h2>9. How last cycle&#39;s changes worked, across units</h2>",
			`<p class="notice">ATTENTION: change C1 (communal) was rated not effective in 2 of 3 units.</p>`,
			"<tr><td><code>C1</code></td><td>communal: One anti-bullying procedure.</td><td>1</td><td>0</td><td>2</td><td>none</td><td>NOT EFFECTIVE in 2 of 3 units</td></tr>",
			"<tr><td><code>C2</code></td><td>individual: Drop-in hours.</td><td>1</td><td>1</td><td>0</td><td>NORTH</td><td>effective in 1 of 2 units; partly effective in 1 of 2 units</td></tr>",
			"<tr><td><code>C1</code></td><td><code>NORTH</code></td><td>not effective</td><td>Not &lt;followed&gt;.</td></tr>",
			"<h2>12. How to read this report</h2>",
		}},
	} {
		for _, s := range tt.want {
			if !strings.Contains(tt.out, s) {
				t.Errorf("%s: got no %q in the report, want it", tt.format, s)
			}
		}
	}
}

// TestReportWithoutAnythingAcrossCycles is a first cycle without a
// catalogue: both sections say there is nothing to show, and why.
func TestReportWithoutAnythingAcrossCycles(t *testing.T) {
	o := Options{Now: time.Date(2026, 6, 2, 9, 5, 0, 0, time.UTC)}
	md := renderReport(t, runningTrace(), FormatMarkdown, o)
	for _, s := range []string{
		"## 8. Indicator trends across cycles\n\nNo trend to show: indicators are followed from year to year when the cycle's configuration defines them",
		"## 9. How last cycle's changes worked, across units\n\nThere was no earlier completed cycle whose changes could be rated.\n",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("got no %q in the report, want it", s)
		}
	}
	if strings.Contains(md, "ATTENTION") {
		t.Errorf("got an ATTENTION notice in a report with no ratings")
	}
}

func TestVerdict(t *testing.T) {
	for _, tt := range []struct {
		c       store.ChangeEffectiveness
		running bool
		want    string
	}{
		{store.ChangeEffectiveness{}, true, "not rated yet"},
		{store.ChangeEffectiveness{}, false, "not rated"},
		{store.ChangeEffectiveness{NotEffective: 1}, false, "NOT EFFECTIVE in 1 of 1 unit"},
		{store.ChangeEffectiveness{NotEffective: 1, Effective: 1}, false, "effective in 1 of 2 units; not effective in 1 of 2 units"},
		{store.ChangeEffectiveness{NotEffective: 2, Partly: 1}, false, "NOT EFFECTIVE in 2 of 3 units"},
		{store.ChangeEffectiveness{Effective: 3}, false, "effective in 3 of 3 units"},
	} {
		if got := verdict(tt.c, tt.running); got != tt.want {
			t.Errorf("verdict(%+v) = %q, want %q", tt.c, got, tt.want)
		}
	}
}
