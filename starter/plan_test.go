package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

func TestLineDiff(t *testing.T) {
	render := func(ls []diffLine) string {
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
	for _, d := range diffPlans(from, to) {
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

func TestRenderPlan(t *testing.T) {
	content := review.PlanContent{Sections: []review.SectionText{
		{Key: "communal", Title: "Communal welfare", Text: "First paragraph.\n\nSecond <script>alert(1)</script> paragraph."},
		{Key: "empty", Title: "Empty section"},
	}}
	at := time.Date(2027, 6, 1, 9, 30, 0, 0, time.UTC)
	doc := store.PlanDocument{
		PlanVersion: store.PlanVersion{Provider: "ACME", Version: 3, Hash: content.Hash(), EffectiveFrom: "2027-08-01",
			PublishedAt: at, CycleID: "review-cycle/ACME/2027", Round: 2, ApprovedBy: "acme.approver", Content: content},
		ProviderName: "Acme & Sons College",
		Signatures: []store.TraceSignature{
			{Kind: "signoff", Unit: "NORTH", Signer: "acme.head.north", SignerName: "Hanna Head", Role: "unit_head", Decision: "approve", Meaning: "approved for unit NORTH", SignedAt: at, Hash: content.Hash()},
			{Kind: "approve", Signer: "acme.approver", SignerName: "Rita | Rector", Role: "approver", Decision: "approve", Meaning: "approved for the provider", SignedAt: at, Hash: content.Hash()},
		},
	}
	for _, format := range []string{"md", "html"} {
		b, err := renderPlan(doc, format)
		if err != nil {
			t.Fatal(err)
		}
		out := string(b)
		front := out[:strings.Index(out, "Contents")]
		for _, want := range []string{"Version", "3", "2027-08-01", content.Hash(), "acme.head.north", "approved for unit NORTH", "approved for the provider", "2027-06-01 09:30 UTC", "Opiskeluhuoltosuunnitelma"} {
			if !strings.Contains(front, want) {
				t.Errorf("%s: the first page lacks %q", format, want)
			}
		}
		if format == "md" {
			if !strings.Contains(out, `Rita \| Rector`) || !strings.Contains(out, "*(This section has no text yet.)*") || !strings.Contains(out, "## 1. Communal welfare") {
				t.Errorf("md: table cells are not escaped or sections are missing:\n%s", out)
			}
			continue
		}
		if strings.Contains(out, "<script>") || !strings.Contains(out, "&lt;script&gt;") || !strings.Contains(out, "Acme &amp; Sons College") {
			t.Errorf("html: the text is not escaped:\n%s", out)
		}
		if n := strings.Count(out, "<p>"); n < 4 {
			t.Errorf("html: %d paragraphs, want the two of the first section and the empty note", n)
		}
		if ext := regexp.MustCompile(`(?i)(https?:|src=|<link|@import|url\()`).FindString(out); ext != "" {
			t.Errorf("html: an external reference %q; the handbook must be self-contained", ext)
		}
		for _, href := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(out, -1) {
			if !strings.HasPrefix(href[1], "#") || !strings.Contains(out, `id="`+href[1][1:]+`"`) {
				t.Errorf("html: link %s does not lead to a section of the document", href[1])
			}
		}
	}
}
