package web

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

func figure(v float64) *float64 { return &v }

// sampleTrends are two indicators over two years: SAFE, higher is better,
// one target for all; ABSENT, lower is better, with a unit's own target
// and a year not measured. The Finnish name carries markup to be escaped.
func sampleTrends() []store.IndicatorTrend {
	safe := func(unit string, v26, v27 float64) store.IndicatorTrend {
		return store.IndicatorTrend{Code: "SAFE", NameFI: `Koettu <b>turvallisuus</b> & "rauha"`, NameEN: "Feels safe <at> school",
			Unit: unit, UnitOfMeasure: "%", Better: review.BetterHigher, Points: []store.TrendPoint{
				{Year: 2027, Value: figure(v27), Target: 85, Better: review.BetterHigher, Status: metOrNot(v27 >= 85)},
				{Year: 2026, Value: figure(v26), Target: 85, Better: review.BetterHigher, Status: metOrNot(v26 >= 85)},
			}}
	}
	return []store.IndicatorTrend{
		{Code: "ABSENT", NameFI: "Poissaolot", NameEN: "Absences", Unit: "FOREST", UnitOfMeasure: "%", Better: review.BetterLower,
			Points: []store.TrendPoint{
				{Year: 2026, Target: 8, Better: review.BetterLower, Status: store.TrendNotMeasured, Reason: "The register <changed> systems."},
				{Year: 2027, Value: figure(6), Target: 8, Better: review.BetterLower, Status: store.TrendMet},
			}},
		{Code: "ABSENT", NameFI: "Poissaolot", NameEN: "Absences", Unit: "HARBOUR", UnitOfMeasure: "%", Better: review.BetterLower,
			Points: []store.TrendPoint{
				{Year: 2026, Value: figure(9.5), Target: 10, Better: review.BetterLower, Status: store.TrendMet},
				{Year: 2027, Value: figure(11), Target: 10, Better: review.BetterLower, Status: store.TrendNotMet},
			}},
		safe("NORTH", 80, 86),
		safe("SOUTH", 88, 84),
		safe("WEST", 90, 91),
	}
}

func metOrNot(met bool) string {
	if met {
		return store.TrendMet
	}
	return store.TrendNotMet
}

// svgElement is the part of an SVG element the test reads.
type svgElement struct {
	name  string
	attrs map[string]string
	text  string
}

// parseSVG reads the chart as XML, strictly: it must be well-formed, and
// every element is returned in document order with its attributes and the
// text directly inside it.
func parseSVG(t *testing.T, svg string) []svgElement {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	dec.Strict = true
	var out []svgElement
	var open []int
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed SVG: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := svgElement{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			if tok.Name.Space != "http://www.w3.org/2000/svg" {
				t.Errorf("element %s is in namespace %q, not SVG's", tok.Name.Local, tok.Name.Space)
			}
			out = append(out, e)
			open = append(open, len(out)-1)
		case xml.EndElement:
			open = open[:len(open)-1]
		case xml.CharData:
			if len(open) > 0 {
				out[open[len(open)-1]].text += string(tok)
			}
		}
	}
	return out
}

func find(els []svgElement, name, class string) []svgElement {
	var out []svgElement
	for _, e := range els {
		if e.name == name && (class == "" || e.attrs["class"] == class) {
			out = append(out, e)
		}
	}
	return out
}

// TestTrendChart draws the sample trends in both languages and reads the
// SVG back: well-formed, an image named by its title and description, one
// series per unit told apart by colour, dash and marker, the target as a
// line, names escaped; and the table rows carry the same numbers in words.
func TestTrendChart(t *testing.T) {
	for _, lang := range []render.Lang{render.English, render.Finnish} {
		w := wordsFor(lang)
		charts, err := trendCharts(w, sampleTrends())
		if err != nil {
			t.Fatal(err)
		}
		if len(charts) != 2 || charts[0].Code != "ABSENT" || charts[1].Code != "SAFE" {
			t.Fatalf("%s: got charts %v, want ABSENT and SAFE", lang, charts)
		}
		absent, safe := charts[0], charts[1]

		// SAFE: three units, one target line for all.
		svg := string(safe.SVG)
		els := parseSVG(t, svg)
		root := els[0]
		if root.name != "svg" || root.attrs["role"] != "img" || root.attrs["aria-labelledby"] != safe.ID+"-title "+safe.ID+"-desc" {
			t.Errorf("%s: the chart's root is %+v, want an svg with role img labelled by its title and description", lang, root)
		}
		titles := find(els, "title", "")
		if len(titles) == 0 || titles[0].attrs["id"] != safe.ID+"-title" || titles[0].text != safe.Title {
			t.Errorf("%s: the chart's title is %+v, want %q", lang, titles, safe.Title)
		}
		desc := find(els, "desc", "")
		if len(desc) != 1 || desc[0].attrs["id"] != safe.ID+"-desc" || !strings.Contains(desc[0].text, "NORTH, SOUTH, WEST") {
			t.Errorf("%s: the chart's description is %+v, want one naming the units", lang, desc)
		}
		wantTitle := map[render.Lang]string{
			render.English: `Feels safe <at> school (SAFE) by unit, 2026–2027`,
			render.Finnish: `Koettu <b>turvallisuus</b> & "rauha" (SAFE) yksiköittäin, 2026–2027`,
		}[lang]
		if safe.Title != wantTitle {
			t.Errorf("%s: title %q, want %q", lang, safe.Title, wantTitle)
		}
		if strings.Contains(svg, "<b>") || strings.Contains(svg, "<at>") {
			t.Errorf("%s: the chart has a name unescaped:\n%s", lang, svg)
		}
		series := find(els, "g", "series")
		// The target line first, then one series per unit.
		if len(series) != 4 {
			t.Fatalf("%s: got %d series groups, want the target and 3 units:\n%s", lang, len(series), svg)
		}
		polylines := find(els, "polyline", "")
		var strokes, dashes []string
		for _, p := range polylines {
			strokes = append(strokes, p.attrs["stroke"])
			dashes = append(dashes, p.attrs["stroke-dasharray"])
		}
		if len(polylines) != 4 || slices.Compact(slices.Sorted(slices.Values(strokes)))[0] == "" ||
			len(slices.Compact(slices.Sorted(slices.Values(strokes)))) != 4 || len(slices.Compact(slices.Sorted(slices.Values(dashes)))) != 4 {
			t.Errorf("%s: lines with strokes %v and dashes %v, want 4 lines each of its own colour and dash", lang, strokes, dashes)
		}
		markers := find(els, "path", "")
		var tips []string
		shapes := map[string]bool{}
		for _, m := range markers {
			if m.attrs["d"] == "" {
				t.Errorf("%s: a marker without a path", lang)
			}
			shapes[m.attrs["d"][len(m.attrs["d"])-1:]] = true
		}
		for _, e := range titles[1:] {
			tips = append(tips, e.text)
		}
		// 6 values (3 units × 2 years) with a tooltip each, and a marker per
		// unit in the legend.
		if len(tips) != 6 || len(markers) != 9 {
			t.Errorf("%s: %d markers with %d tooltips, want 9 and 6: %v", lang, len(markers), len(tips), tips)
		}
		wantTip := map[render.Lang]string{
			render.English: "NORTH 2026: 80 % (target at least 85 %): not met",
			render.Finnish: "NORTH 2026: 80 % (tavoite vähintään 85 %): ei saavutettu",
		}[lang]
		if !slices.Contains(tips, wantTip) {
			t.Errorf("%s: tooltips %q, want one %q", lang, tips, wantTip)
		}
		for _, axis := range []string{"2026", "2027", "0", "100"} {
			if !slices.ContainsFunc(find(els, "text", ""), func(e svgElement) bool { return e.text == axis }) {
				t.Errorf("%s: the axes have no label %q", lang, axis)
			}
		}
		if strings.Contains(svg, "style") {
			t.Errorf("%s: the chart uses a style, which the page's policy refuses", lang)
		}

		// The table: the same numbers, the result in words.
		wantRows := map[render.Lang][]trendRow{
			render.English: {
				{Unit: "NORTH", Year: "2026", Value: "80 %", Target: "at least 85 %", Result: "not met", Status: store.TrendNotMet},
				{Unit: "NORTH", Year: "2027", Value: "86 %", Target: "at least 85 %", Result: "met", Status: store.TrendMet},
				{Unit: "SOUTH", Year: "2026", Value: "88 %", Target: "at least 85 %", Result: "met", Status: store.TrendMet},
				{Unit: "SOUTH", Year: "2027", Value: "84 %", Target: "at least 85 %", Result: "not met", Status: store.TrendNotMet},
				{Unit: "WEST", Year: "2026", Value: "90 %", Target: "at least 85 %", Result: "met", Status: store.TrendMet},
				{Unit: "WEST", Year: "2027", Value: "91 %", Target: "at least 85 %", Result: "met", Status: store.TrendMet},
			},
			render.Finnish: {
				{Unit: "NORTH", Year: "2026", Value: "80 %", Target: "vähintään 85 %", Result: "ei saavutettu", Status: store.TrendNotMet},
				{Unit: "NORTH", Year: "2027", Value: "86 %", Target: "vähintään 85 %", Result: "saavutettu", Status: store.TrendMet},
				{Unit: "SOUTH", Year: "2026", Value: "88 %", Target: "vähintään 85 %", Result: "saavutettu", Status: store.TrendMet},
				{Unit: "SOUTH", Year: "2027", Value: "84 %", Target: "vähintään 85 %", Result: "ei saavutettu", Status: store.TrendNotMet},
				{Unit: "WEST", Year: "2026", Value: "90 %", Target: "vähintään 85 %", Result: "saavutettu", Status: store.TrendMet},
				{Unit: "WEST", Year: "2027", Value: "91 %", Target: "vähintään 85 %", Result: "saavutettu", Status: store.TrendMet},
			},
		}[lang]
		if !slices.Equal(safe.Rows, wantRows) {
			t.Errorf("%s: SAFE's rows\n%+v\nwant\n%+v", lang, safe.Rows, wantRows)
		}

		// ABSENT: a target per unit (they differ), a value not measured
		// breaking FOREST's line, a decimal comma in Finnish.
		els = parseSVG(t, string(absent.SVG))
		if n := len(find(els, "g", "series")); n != 4 {
			t.Errorf("%s: ABSENT has %d series, want a target and a line per unit (2 + 2)", lang, n)
		}
		forestLine := 0
		for _, p := range find(els, "polyline", "") {
			if strings.Count(p.attrs["points"], ",") == 1 {
				forestLine++
			}
		}
		if forestLine != 0 {
			t.Errorf("%s: a line of one point is drawn", lang)
		}
		wantAbsent := map[render.Lang][]trendRow{
			render.English: {
				{Unit: "FOREST", Year: "2026", Value: "—", Target: "at most 8 %", Result: "not measured: The register <changed> systems.", Status: store.TrendNotMeasured},
				{Unit: "FOREST", Year: "2027", Value: "6 %", Target: "at most 8 %", Result: "met", Status: store.TrendMet},
				{Unit: "HARBOUR", Year: "2026", Value: "9.5 %", Target: "at most 10 %", Result: "met", Status: store.TrendMet},
				{Unit: "HARBOUR", Year: "2027", Value: "11 %", Target: "at most 10 %", Result: "not met", Status: store.TrendNotMet},
			},
			render.Finnish: {
				{Unit: "FOREST", Year: "2026", Value: "—", Target: "enintään 8 %", Result: "ei mitattu: The register <changed> systems.", Status: store.TrendNotMeasured},
				{Unit: "FOREST", Year: "2027", Value: "6 %", Target: "enintään 8 %", Result: "saavutettu", Status: store.TrendMet},
				{Unit: "HARBOUR", Year: "2026", Value: "9,5 %", Target: "enintään 10 %", Result: "saavutettu", Status: store.TrendMet},
				{Unit: "HARBOUR", Year: "2027", Value: "11 %", Target: "enintään 10 %", Result: "ei saavutettu", Status: store.TrendNotMet},
			},
		}[lang]
		if !slices.Equal(absent.Rows, wantAbsent) {
			t.Errorf("%s: ABSENT's rows\n%+v\nwant\n%+v", lang, absent.Rows, wantAbsent)
		}
		if !strings.Contains(string(absent.SVG), map[render.Lang]string{render.English: "Not measured: 1", render.Finnish: "Ei mitattu: 1"}[lang]) {
			t.Errorf("%s: ABSENT's chart does not say a value is missing", lang)
		}
	}
}

// TestTrendChartOneYear draws a single year: the target is still a line.
func TestTrendChartOneYear(t *testing.T) {
	c, err := newTrendChart(wordsFor(render.English), "t", []store.IndicatorTrend{{Code: "X", NameEN: "X", Unit: "U",
		Points: []store.TrendPoint{{Year: 2026, Value: figure(3), Target: 4, Status: store.TrendNotMet}}}})
	if err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, string(c.SVG))
	lines := find(els, "polyline", "")
	if len(lines) != 1 || strings.Count(lines[0].attrs["points"], ",") != 2 {
		t.Errorf("one year: lines %+v, want the target as a level line of two points", lines)
	}
	if c.Title != "X (X) by unit, 2026" {
		t.Errorf("one year: title %q", c.Title)
	}
}

// TestDashboardShowsChartsWithTables renders the dashboard's template with
// the sample trends: each chart in the page, followed by its table with the
// same numbers; no inline style anywhere.
func TestDashboardShowsChartsWithTables(t *testing.T) {
	w := wordsFor(render.English)
	charts, err := trendCharts(w, sampleTrends())
	if err != nil {
		t.Fatal(err)
	}
	v := view{W: w, Title: "Dashboard", Path: "/dashboard", Section: "dashboard", loc: time.UTC,
		Data: dashboardPage{Provider: "ACME", Errors: map[string]*fieldErr{}, Charts: charts,
			StartConfig: newConfigView(w, "start-", configForm{}, nil), SchedConfig: newConfigView(w, "sched-", configForm{}, nil)}}
	var buf bytes.Buffer
	if err := pageTemplates["dashboard.html"].ExecuteTemplate(&buf, "layout", v); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, c := range charts {
		i := strings.Index(page, `aria-labelledby="`+c.ID+`-title `+c.ID+`-desc"`)
		if i < 0 {
			t.Fatalf("the page lacks the chart of %s", c.Code)
		}
		table := page[i:]
		end := strings.Index(table, "</table>")
		if end < 0 {
			t.Fatalf("no table after the chart of %s", c.Code)
		}
		table = table[strings.Index(table, "</svg>"):end]
		for _, r := range c.Rows {
			row := "<tr><th scope=\"row\">" + r.Unit + "</th><td>" + r.Year + "</td><td>" + r.Value + "</td><td>" + r.Target + "</td><td>" +
				strings.ReplaceAll(strings.ReplaceAll(r.Result, "<", "&lt;"), ">", "&gt;") + "</td></tr>"
			if !strings.Contains(table, row) {
				t.Errorf("the table after the chart of %s lacks the row %s:\n%s", c.Code, row, table)
			}
		}
	}
	if inlineScriptOrStyle(page) {
		t.Error("the dashboard has inline style or script")
	}
	if strings.Contains(page, "<b>turvallisuus") || strings.Contains(page, "<changed>") {
		t.Error("the dashboard shows a name or reason unescaped")
	}
}

func TestSpanOf(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"42": 42 * 24 * time.Hour, "1,5": 36 * time.Hour, "14d": 14 * 24 * time.Hour, "3 pv": 72 * time.Hour,
		"36h": 36 * time.Hour, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute, "5s": 5 * time.Second,
	} {
		if got, ok := spanOf(in); !ok || got != want {
			t.Errorf("spanOf(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "soon", "-3", "0", "0s", "3 weeks"} {
		if got, ok := spanOf(in); ok {
			t.Errorf("spanOf(%q) = %v, want refused", in, got)
		}
	}
}

func TestDueOf(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]time.Time{
		"2027-04-15T16:00": time.Date(2027, 4, 15, 16, 0, 0, 0, loc),
		"2027-04-15 16:00": time.Date(2027, 4, 15, 16, 0, 0, 0, loc),
		"2027-04-15":       time.Date(2027, 4, 15, 23, 59, 0, 0, loc),
	} {
		if got, ok := dueOf(in, loc); !ok || !got.Equal(want) {
			t.Errorf("dueOf(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	if _, ok := dueOf("tomorrow", loc); ok {
		t.Error("dueOf(tomorrow) is accepted")
	}
}

// TestConfigForm reads the start form's configuration: fields win over the
// JSON, what is not a duration or a number is refused next to its field.
func TestConfigForm(t *testing.T) {
	w := wordsFor(render.English)
	cfg, problems := configForm{Evaluate: "5s", MaxRounds: "2",
		JSON: `{"phases": {"evaluate": "2h", "consult": "1h"}, "indicators": [{"code": "SAFE", "name_fi": "A", "name_en": "A", "target": 1}]}`}.config(w, "start-")
	if len(problems) != 0 || time.Duration(cfg.Phases.Evaluate) != 5*time.Second || time.Duration(cfg.Phases.Consult) != time.Hour ||
		cfg.MaxRounds != 2 || len(cfg.Indicators) != 1 {
		t.Errorf("config: %+v %v", cfg, problems)
	}
	_, problems = configForm{Evaluate: "soon", MaxRounds: "many", JSON: `{"phases": 3}`}.config(w, "start-")
	var fields []string
	for _, p := range problems {
		fields = append(fields, p.Field)
	}
	if !slices.Equal(fields, []string{"start-config", "start-evaluate", "start-max_rounds"}) ||
		problems[1].Text != "soon is not a duration: give days (42) or hours and minutes (36h, 90m)" {
		t.Errorf("problems: %+v", problems)
	}
	for name, want := range map[string]string{"year": "start-year", "config.phases.signoff": "start-signoff", "config.max_rounds": "start-max_rounds",
		"config.reminders.every": "start-every", "config.indicators[1].code": "start-config", "config": "start-config", "reason": ""} {
		if got := configField("start-")(name); got != want {
			t.Errorf("configField(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestUnitRows counts each unit's tasks done, superseded ones not at all,
// and the provider-wide tasks in a row of their own.
func TestUnitRows(t *testing.T) {
	rows := unitRows(review.Progress{Phase: review.PhaseSignOff,
		Units: []review.UnitProgress{{Unit: "NORTH", Phase: "signoff"}, {Unit: "SOUTH", Phase: "waiting"}},
		Tasks: []review.TaskProgress{
			{Unit: "NORTH", Status: review.TaskDone}, {Unit: "NORTH", Status: review.TaskDone}, {Unit: "NORTH", Status: review.TaskSuperseded},
			{Unit: "NORTH", Status: review.TaskOpen}, {Unit: "SOUTH", Status: review.TaskDone}, {Unit: "", Status: review.TaskDone},
		}})
	want := []unitRow{{Unit: "NORTH", Phase: "signoff", Done: 2, Total: 3}, {Unit: "SOUTH", Phase: "waiting", Done: 1, Total: 1},
		{Phase: "signoff", Done: 1, Total: 1}}
	if !slices.Equal(rows, want) {
		t.Errorf("got %+v, want %+v", rows, want)
	}
}

// TestDashboardWordsForEveryState checks the words the dashboard makes
// keys of at run time: every cycle status, phase and unit stage, in both
// languages.
func TestDashboardWordsForEveryState(t *testing.T) {
	fi, en := catalog(t, "fi"), catalog(t, "en")
	var keys []string
	for _, s := range []string{review.CycleRunning, review.CycleCompleted, review.CycleFailed, review.CycleCancelled} {
		keys = append(keys, "dash.cycle_"+s)
	}
	for _, p := range []review.Phase{review.PhaseEvaluate, review.PhaseUpdate, review.PhaseSignOff, review.PhaseApprove,
		review.PhasePublished, review.PhaseFailed, review.PhaseCancelled} {
		keys = append(keys, "dash.phase_"+string(p))
	}
	for _, u := range []string{"waiting", "evaluate", "signoff", "done", "failed", "cancelled"} {
		keys = append(keys, "dash.unit_"+u)
	}
	for _, k := range keys {
		if fi[k] == "" || en[k] == "" {
			t.Errorf("%q is missing from fi.toml or en.toml", k)
		}
	}
}

// TestDashboardNotice words each notice, and nothing for an unknown one.
func TestDashboardNotice(t *testing.T) {
	w := wordsFor(render.Finnish)
	q := url.Values{"done": {"extended"}, "task": {"A/2027/evaluate/N"}, "due": {"1807020000"}}
	if got := dashboardNotice(w, time.UTC, q); got != "Tehtävän A/2027/evaluate/N määräaika on nyt 6.4.2027 klo 14.00 UTC." {
		t.Errorf("got %q", got)
	}
	if got := dashboardNotice(w, time.UTC, url.Values{"done": {"<script>"}}); got != "" {
		t.Errorf("an unknown notice: got %q", got)
	}
}
