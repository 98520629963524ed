package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// runningTrace is a cycle in its sign-off phase: NORTH's unit head has
// signed the draft of round 1, the approval is still open. Its one finding
// carries markup that both formats must show as text.
func runningTrace() store.Trace {
	hash := strings.Repeat("ab", 32)
	finding := store.TraceItem{Kind: store.ItemFinding, Unit: "NORTH", ID: "F1", Ref: "NORTH/F1", Section: "communal",
		Severity: review.SeverityMajor, Text: `Bullying <script>alert("x")</script> | not followed up`,
		Disposition: &store.TraceDisposition{Round: 1, Decision: "addressed", ChangeID: "C1"}}
	return store.Trace{
		Provider: "ACME", ProviderName: "Acme College",
		Cycle: store.Cycle{ID: "review-cycle/ACME/2025", Provider: "ACME", Year: 2025, Status: review.CycleRunning,
			Phase: review.PhaseSignOff, Round: 1, StartedAt: time.Date(2025, 1, 10, 6, 30, 0, 0, time.UTC)},
		FinalRound: 1,
		Units:      []store.TraceUnit{{Code: "NORTH", Name: "North campus", Findings: []store.TraceItem{finding}}},
		Changes:    []store.TraceChange{{Round: 1, ID: "C1", Section: "communal", Text: "One procedure.", Addresses: []string{"NORTH/F1"}}},
		Rounds: []store.TraceRound{{Round: 1, DraftHash: hash, DraftedBy: "acme.editor", DraftedByName: "Eddie Editor",
			DraftedAt: time.Date(2025, 1, 14, 8, 0, 0, 0, time.UTC),
			SignOffs: []store.TraceSignature{{Kind: "signoff", Round: 1, Unit: "NORTH", Signer: "acme.head.north", SignerName: "Hanna Head",
				Role: "unit_head", Decision: review.DecisionApprove, Meaning: "approved for unit NORTH", Hash: hash,
				SignedAt: time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)}},
			Unsigned: []store.TraceUnsigned{{Round: 1, Kind: review.KindApprove, Status: review.TaskOpen}}}},
	}
}

func renderReport(t *testing.T, tr store.Trace, f Format, o Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := Report(&b, tr, f, o); err != nil {
		t.Fatalf("Report(%s): %v", f, err)
	}
	return b.String()
}

func TestReportShowsTimesInTheGivenZone(t *testing.T) {
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	// A machine in Helsinki: a zone left unset must still give UTC.
	local := time.Local
	time.Local = helsinki
	t.Cleanup(func() { time.Local = local })

	now := time.Date(2025, 6, 2, 9, 5, 0, 0, time.UTC) // summer time in Helsinki
	utc := []string{"2 Jun 2025 09:05 UTC", "10 Jan 2025 06:30 UTC", "14 Jan 2025 08:00 UTC", "15 Jan 2025 10:00 UTC"}
	eet := []string{"2 Jun 2025 12:05 EEST", "10 Jan 2025 08:30 EET", "14 Jan 2025 10:00 EET", "15 Jan 2025 12:00 EET"}
	for _, tt := range []struct {
		name      string
		loc       *time.Location
		want, not []string
		zone      string
	}{
		{"UTC", time.UTC, utc, eet, "UTC"},
		{"Helsinki", helsinki, eet, utc, "Europe/Helsinki"},
		{"no zone", nil, utc, eet, "UTC"},
	} {
		for _, f := range []Format{FormatMarkdown, FormatHTML} {
			out := renderReport(t, runningTrace(), f, Options{Now: now, Location: tt.loc})
			// The notice and the introduction give the time of rendering;
			// the cycle table, the round and its signature their own.
			if got := strings.Count(out, tt.want[0]); got != 2 {
				t.Errorf("%s, %s: got the time of rendering %q %d times, want 2 (the notice and the introduction)", tt.name, f, tt.want[0], got)
			}
			for _, s := range append(tt.want[1:], "Times are given in the time zone "+tt.zone+".") {
				if !strings.Contains(out, s) {
					t.Errorf("%s, %s: got no %q in the report, want it", tt.name, f, s)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(out, s) {
					t.Errorf("%s, %s: got %q in the report, want only times in the zone given", tt.name, f, s)
				}
			}
		}
	}
}

func TestReportRefusals(t *testing.T) {
	now := time.Date(2025, 6, 2, 9, 5, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		f    Format
		o    Options
		says string
	}{
		{"unknown format", "pdf", Options{Now: now}, `format "pdf" is not md or html`},
		{"no time", FormatMarkdown, Options{}, "no time to say it was generated at"},
	} {
		var b bytes.Buffer
		err := Report(&b, runningTrace(), tt.f, tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.says) || b.Len() != 0 {
			t.Errorf("%s: got error %v and %d bytes written, want an error saying %q and nothing written", tt.name, err, b.Len(), tt.says)
		}
	}
}

func TestReportFormatsSayTheSame(t *testing.T) {
	o := Options{Now: time.Date(2025, 6, 2, 9, 5, 0, 0, time.UTC)}
	md := renderReport(t, runningTrace(), FormatMarkdown, o)
	html := renderReport(t, runningTrace(), FormatHTML, o)
	for _, tt := range []struct {
		format, out string
		want        []string
	}{
		{"md", md, []string{
			"# Traceability report: Acme College (ACME), review cycle 2025\n",
			"\n> **IN PROGRESS: this cycle is still running (phase signoff, round 1).",
			"| `NORTH/F1` | major finding | communal | Bullying \\<script\\>alert(\"x\")\\</script\\> \\| not followed up | addressed (round 1) by change C1 |",
			"Not signed: the approval is still open.",
		}},
		{"html", html, []string{
			"<h1>Traceability report: Acme College (ACME), review cycle 2025</h1>",
			`<p class="notice">IN PROGRESS: this cycle is still running (phase signoff, round 1).`,
			"<tr><td><code>NORTH/F1</code></td><td>major finding</td><td>communal</td><td>Bullying &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; | not followed up</td><td>addressed (round 1) by change C1</td>",
			"<p>Not signed: the approval is still open.</p>",
		}},
	} {
		for _, s := range tt.want {
			if !strings.Contains(tt.out, s) {
				t.Errorf("%s: got no %q in the report, want it", tt.format, s)
			}
		}
		if strings.Contains(tt.out, "<script>") {
			t.Errorf("%s: got the finding's <script> unescaped", tt.format)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Format
		ok   bool
	}{
		{"md", FormatMarkdown, true},
		{"html", FormatHTML, true},
		{"", "", false},
		{"pdf", "", false},
		{"MD", "", false},
	} {
		got, err := ParseFormat(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
