package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

func TestWhenAndDay(t *testing.T) {
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	winter := time.Date(2026, 12, 1, 2, 55, 0, 0, time.UTC)
	summer := time.Date(2027, 6, 15, 21, 5, 0, 0, time.UTC)
	for _, tt := range []struct {
		t    time.Time
		loc  *time.Location
		lang Lang
		when string
		day  string
	}{
		{winter, helsinki, Finnish, "1.12.2026 klo 4.55 EET", "1.12.2026"},
		{winter, helsinki, English, "1 Dec 2026 04:55 EET", "1 Dec 2026"},
		{summer, helsinki, Finnish, "16.6.2027 klo 0.05 EEST", "16.6.2027"},
		{summer, helsinki, English, "16 Jun 2027 00:05 EEST", "16 Jun 2027"},
		{summer, nil, English, "15 Jun 2027 21:05 UTC", "15 Jun 2027"},
	} {
		if got := When(tt.t, tt.loc, tt.lang); got != tt.when {
			t.Errorf("When(%s, %v, %s) = %q, want %q", tt.t, tt.loc, tt.lang, got, tt.when)
		}
		if got := Day(tt.t, tt.loc, tt.lang); got != tt.day {
			t.Errorf("Day(%s, %v, %s) = %q, want %q", tt.t, tt.loc, tt.lang, got, tt.day)
		}
	}
	for in, want := range map[string]Lang{"fi": Finnish, "en": English, "en-GB": English, "sv": Finnish, "": Finnish} {
		if got := ParseLang(in); got != want {
			t.Errorf("ParseLang(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestReportAndHandbookAgreeOnTimes renders the same signature in the
// report and in the handbook of the version it signed: in the zone given,
// both write the moment the same way, and name the zone.
func TestReportAndHandbookAgreeOnTimes(t *testing.T) {
	stockholm, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Fatal(err)
	}
	tr := runningTrace()
	sig := tr.Rounds[0].SignOffs[0] // signed 2025-01-15 10:00 UTC
	content := review.PlanContent{Sections: []review.SectionText{{Key: "communal", Title: "Communal welfare", Text: "One procedure."}}}
	doc := store.PlanDocument{
		PlanVersion: store.PlanVersion{Provider: "ACME", Version: 1, Hash: sig.Hash, EffectiveFrom: "2025-08-01",
			PublishedAt: sig.SignedAt.Add(time.Hour), CycleID: tr.Cycle.ID, Round: 1, Content: content},
		ProviderName: tr.ProviderName,
		Signatures:   []store.TraceSignature{sig},
	}
	o := Options{Now: time.Date(2025, 6, 2, 9, 5, 0, 0, time.UTC), Location: stockholm}
	const signed = "15 Jan 2025 11:00 CET"
	if got := When(sig.SignedAt, stockholm, English); got != signed {
		t.Fatalf("When: got %q, want %q", got, signed)
	}
	for _, f := range []Format{FormatMarkdown, FormatHTML} {
		report := renderReport(t, tr, f, o)
		var b bytes.Buffer
		if err := Handbook(&b, doc, f, o); err != nil {
			t.Fatal(err)
		}
		handbook := b.String()
		for name, out := range map[string]string{"report": report, "handbook": handbook} {
			if !strings.Contains(out, signed) {
				t.Errorf("%s, %s: got no %q, the signature's time in Stockholm", name, f, signed)
			}
			if !strings.Contains(out, "Europe/Stockholm") {
				t.Errorf("%s, %s: the zone is not named", name, f)
			}
			for _, other := range []string{"10:00 UTC", "12:00 EET", "2025-01-15"} {
				if strings.Contains(out, other) {
					t.Errorf("%s, %s: got %q, the moment written another way", name, f, other)
				}
			}
		}
		if !strings.Contains(handbook, "1 Aug 2025") {
			t.Errorf("handbook, %s: the effective date is not written as %q", f, "1 Aug 2025")
		}
	}
}

func TestZone(t *testing.T) {
	for _, name := range []string{"Europe/Helsinki", "Atlantic/Reykjavik", "UTC"} {
		loc, err := Zone(name)
		if err != nil || loc.String() != name {
			t.Errorf("Zone(%q): got %v, %v; want the zone", name, loc, err)
		}
		if again, _ := Zone(name); again != loc {
			t.Errorf("Zone(%q) twice: got two locations, want the one loaded first", name)
		}
	}
	// The machine's zone and the empty name (which Go takes for UTC) would
	// make what is shown depend on the machine or hide a missing value.
	for _, name := range []string{"", "Local", "Mars/Base", "../etc/localtime"} {
		if loc, err := Zone(name); err == nil || !strings.Contains(err.Error(), "cannot be used") {
			t.Errorf("Zone(%q): got %v, %v; want it refused", name, loc, err)
		}
	}
}
