package render

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

func TestLineDiff(t *testing.T) {
	render := func(ls []DiffLine) string {
		var b strings.Builder
		for _, l := range ls {
			b.WriteString(l.Op + l.Text + "|")
		}
		return b.String()
	}
	for _, c := range []struct{ a, b, want string }{
		{"", "", ""},
		{"", "x", "+x|"},
		{"x", "", "-x|"},
		{"a\nb\nc", "a\nb\nc", " a| b| c|"},
		{"a\nb\nc", "a\nc", " a|-b| c|"},
		{"a\nc", "a\nb\nc", " a|+b| c|"},
		{"a\nb", "a\nB", " a|-b|+B|"},
		{"one\ntwo\nthree\nfour", "zero\none\nthree\nfour\nfive", "+zero| one|-two| three| four|+five|"},
	} {
		if got := render(lineDiff(c.a, c.b)); got != c.want {
			t.Errorf("lineDiff(%q, %q) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

func TestDiffPlans(t *testing.T) {
	from := review.PlanContent{Sections: []review.SectionText{
		{Key: "a", Title: "A", Text: "same"},
		{Key: "b", Title: "B", Text: "old\nkept"},
		{Key: "c", Title: "C", Text: "renamed only"},
		{Key: "gone", Title: "Gone", Text: "bye"},
	}}
	to := review.PlanContent{Sections: []review.SectionText{
		{Key: "a", Title: "A", Text: "same"},
		{Key: "b", Title: "B", Text: "new\nkept"},
		{Key: "c", Title: "C2", Text: "renamed only"},
		{Key: "d", Title: "D", Text: "hello"},
	}}
	var got []string
	for _, d := range DiffPlans(from, to) {
		got = append(got, fmt.Sprintf("%s %s %q→%q %v", d.Key, d.Change, d.OldTitle, d.NewTitle, d.Lines))
	}
	want := []string{
		`a unchanged ""→"A" []`,
		`b changed ""→"B" [{- old} {+ new} {  kept}]`,
		`c renamed "C"→"C2" []`,
		`d added ""→"D" [{+ hello}]`,
		`gone removed "Gone"→"" [{- bye}]`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDiffText(t *testing.T) {
	v1 := store.PlanVersion{Version: 1, Hash: strings.Repeat("1", 64), Content: review.PlanContent{Sections: []review.SectionText{
		{Key: "a", Title: "A", Text: "same"},
		{Key: "b", Title: "B", Text: "old\nkept"},
		{Key: "c", Title: "C", Text: "renamed only"},
		{Key: "e", Title: "E", Text: "both"},
		{Key: "gone", Title: "Gone", Text: "bye"},
	}}}
	v2 := store.PlanVersion{Version: 2, Hash: strings.Repeat("2", 64), Content: review.PlanContent{Sections: []review.SectionText{
		{Key: "a", Title: "A", Text: "same"},
		{Key: "b", Title: "B", Text: "new\nkept"},
		{Key: "c", Title: "C2", Text: "renamed only"},
		{Key: "e", Title: "E2", Text: "both, changed"},
		{Key: "d", Title: "D", Text: "hello"},
	}}}
	changes := []store.PlanChange{{Version: 2, ChangeID: "C1", Section: "b", Text: "new\nkept", Rationale: "Finding NORTH/F1"}}
	for _, tt := range []struct {
		name     string
		from, to store.PlanVersion
		want     string
	}{
		{"older to newer", v1, v2, `plan of ACME: version 1 (111111111111…) → version 2 (222222222222…)

  a: unchanged

  b (B): changed
    - old
    + new
      kept

  c: renamed "C" → "C2"

  e: changed, and renamed "E" → "E2"
    - both
    + both, changed

  d (D): added
    + hello

  gone (Gone): removed
    - bye

changes made between them:
  version 2, C1 (b): Finding NORTH/F1
`},
		// The changes made version 2; they are not why version 1 differs from it.
		{"newer to older", v2, v1, `plan of ACME: version 2 (222222222222…) → version 1 (111111111111…)

  a: unchanged

  b (B): changed
    - new
    + old
      kept

  c: renamed "C2" → "C"

  e: changed, and renamed "E2" → "E"
    - both, changed
    + both

  gone (Gone): added
    + bye

  d (D): removed
    - hello
`},
		{"a version with itself", v1, v1, `plan of ACME: version 1 (111111111111…) → version 1 (111111111111…)

  a: unchanged

  b: unchanged

  c: unchanged

  e: unchanged

  gone: unchanged

the two versions have the same sections and text
`},
	} {
		var b strings.Builder
		err := DiffText(&b, PlanDiff{Provider: "ACME", From: tt.from, To: tt.to,
			Sections: DiffPlans(tt.from.Content, tt.to.Content), Changes: changes})
		if err != nil {
			t.Fatal(err)
		}
		if got := b.String(); got != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
}

func TestSectionDiffJSON(t *testing.T) {
	// plan diff --json is a contract: these names must not change.
	b, err := json.Marshal([]SectionDiff{
		{Key: "b", Change: SectionChanged, OldTitle: "B", NewTitle: "B2", Lines: []DiffLine{{"-", "old"}, {"+", "new"}}},
		{Key: "a", Change: SectionUnchanged, NewTitle: "A"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"key":"b","change":"changed","old_title":"B","new_title":"B2","lines":[{"op":"-","text":"old"},{"op":"+","text":"new"}]},` +
		`{"key":"a","change":"unchanged","new_title":"A"}]`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}
