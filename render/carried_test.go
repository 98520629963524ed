package render

import (
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// TestReportCarriedAndChecklist renders a running cycle of 2027 with two
// items carried into it: one found in 2025 and deferred twice, which this
// cycle has addressed, and one deferred in 2026 not yet answered; and a
// checklist with an item left uncovered with a reason.
func TestReportCarriedAndChecklist(t *testing.T) {
	tr := runningTrace()
	tr.Cycle.Year = 2027
	tr.Carried = []store.TraceItem{
		{Kind: store.ItemFeedback, Unit: "NORTH", ID: "S1", Ref: "2025/NORTH/S1", Section: "individual", Text: "Hours <hard> to find", From: 2025,
			Earlier: []store.EarlierAnswer{
				{Year: 2025, Decision: "deferred", Reason: "Reorganised next year"},
				{Year: 2026, Decision: "deferred", Reason: "Still reorganising"},
			},
			Disposition: &store.TraceDisposition{Round: 1, Decision: "addressed", ChangeID: "C2"}},
		{Kind: store.ItemFinding, Unit: "SOUTH", ID: "F4", Ref: "2026/SOUTH/F4", Section: "annex/SOUTH", Severity: review.SeverityMinor, Text: "No map", From: 2026,
			Earlier: []store.EarlierAnswer{{Year: 2026, Decision: "deferred", Reason: "Budget"}}},
	}
	tr.Checklist = []review.CoveredItem{
		{ID: "violence_bullying", Expected: "communal", FI: "Kiusaaminen", EN: "Bullying & harassment", Section: "communal", Note: "Rota"},
		{ID: "crises_threats", Expected: "communal", FI: "Kriisit", EN: "Crises", Reason: "In the <crisis> plan"},
	}
	o := Options{Now: time.Date(2027, 6, 2, 9, 5, 0, 0, time.UTC)}
	md := renderReport(t, tr, FormatMarkdown, o)
	html := renderReport(t, tr, FormatHTML, o)
	for _, tt := range []struct {
		format, out string
		want        []string
	}{
		{"md", md, []string{
			"## 10. Items carried from earlier cycles\n",
			"| Item | Kind | Section | What was said | Found in | Earlier answers | Answer in 2027 |\n",
			"| `2025/NORTH/S1` | student feedback | individual | Hours \\<hard\\> to find | 2025 | 2025: deferred (Reorganised next year); 2026: deferred (Still reorganising) | addressed (round 1) by change C2 |\n",
			// A carried item needs an answer whatever its severity.
			"| `2026/SOUTH/F4` | minor finding | annex/SOUTH | No map | 2026 | 2026: deferred (Budget) | none yet |\n",
			"## 11. The legal-content checklist\n",
			"| `violence_bullying` | Bullying \\& harassment | Kiusaaminen | communal: Rota |\n",
			"| `crises_threats` | Crises | Kriisit | NOT COVERED: In the \\<crisis\\> plan |\n",
		}},
		{"html", html, []string{
			"<h2>10. Items carried from earlier cycles</h2>",
			"<td>Hours &lt;hard&gt; to find</td><td>2025</td><td>2025: deferred (Reorganised next year); 2026: deferred (Still reorganising)</td><td>addressed (round 1) by change C2</td>",
			"<td>Bullying &amp; harassment</td>",
			"<td>NOT COVERED: In the &lt;crisis&gt; plan</td>",
		}},
	} {
		for _, s := range tt.want {
			if !strings.Contains(tt.out, s) {
				t.Errorf("the %s report does not say %q", tt.format, s)
			}
		}
	}

	tr.Carried, tr.Checklist = nil, nil
	md = renderReport(t, tr, FormatMarkdown, o)
	for _, s := range []string{"## 10. Items carried from earlier cycles\n\nNone:", "## 11. The legal-content checklist\n\nNo checklist to show"} {
		if !strings.Contains(md, s) {
			t.Errorf("the report without carried items and checklist does not say %q", s)
		}
	}
}
