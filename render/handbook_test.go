package render

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

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
	for _, format := range []Format{FormatMarkdown, FormatHTML} {
		var b bytes.Buffer
		if err := Handbook(&b, doc, format, Options{}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		front := out[:strings.Index(out, "Contents")]
		for _, want := range []string{"Version", "3", "1 Aug 2027", content.Hash(), "acme.head.north", "approved for unit NORTH", "approved for the provider", "1 Jun 2027 09:30 UTC", "Opiskeluhuoltosuunnitelma"} {
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

func TestMarkdownPlanTextIsNotMarkup(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"Plain text.", "Plain text."},
		{"<script>alert(1)</script>", `\<script\>alert(1)\</script\>`},
		{"Q&A, a\\b", `Q\&A, a\\b`},
		{"# not a heading\n  ## nor this\nbut # this stays", "\\# not a heading\n  \\## nor this\nbut # this stays"},
		{"- a list\n- stays a list", "- a list\n- stays a list"},
	} {
		if got := mdPlanText(c.in); got != c.want {
			t.Errorf("mdPlanText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	content := review.PlanContent{Sections: []review.SectionText{
		{Key: "communal", Title: "Communal <b>welfare</b>", Text: "Line one.\n# Heading?\n<script>alert(1)</script>"}}}
	var b bytes.Buffer
	if err := Handbook(&b, store.PlanDocument{PlanVersion: store.PlanVersion{Version: 1, Hash: content.Hash(), Content: content},
		ProviderName: "Acme\n# College"}, FormatMarkdown, Options{}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "# Acme") && !strings.HasPrefix(line, "## ") && !strings.HasPrefix(line, "### ") {
			t.Errorf("the Markdown has a heading the template did not make: %q", line)
		}
	}
	if strings.Contains(md, "<script>") || strings.Contains(md, "<b>") || !strings.Contains(md, `## 1. Communal \<b\>welfare\</b\>`) {
		t.Errorf("the Markdown lets markup from the plan through:\n%s", md)
	}
}

func TestHandbookShowsTimesInTheGivenZone(t *testing.T) {
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	content := review.PlanContent{Sections: []review.SectionText{{Key: "communal", Title: "Communal welfare", Text: "Text."}}}
	doc := store.PlanDocument{
		PlanVersion: store.PlanVersion{Provider: "ACME", Version: 1, Hash: content.Hash(), EffectiveFrom: "2027-08-01",
			PublishedAt: time.Date(2027, 6, 1, 9, 30, 0, 0, time.UTC), Content: content},
		ProviderName: "Acme College",
		Signatures: []store.TraceSignature{{Kind: "approve", Signer: "acme.approver", SignerName: "Rita Rector", Role: "approver",
			Meaning: "approved for the provider", SignedAt: time.Date(2027, 1, 20, 14, 0, 0, 0, time.UTC), Hash: content.Hash()}},
	}
	utc := []string{"1 Jun 2027 09:30 UTC", "20 Jan 2027 14:00 UTC"}
	eet := []string{"1 Jun 2027 12:30 EEST", "20 Jan 2027 16:00 EET"}
	for _, tt := range []struct {
		name      string
		loc       *time.Location
		want, not []string
	}{
		{"UTC", time.UTC, utc, eet},
		{"Helsinki", helsinki, eet, utc},
	} {
		for _, f := range []Format{FormatMarkdown, FormatHTML} {
			var b bytes.Buffer
			if err := Handbook(&b, doc, f, Options{Location: tt.loc}); err != nil {
				t.Fatal(err)
			}
			// The first page names the zone.
			zone := "| Times are in | " + tt.loc.String() + " |"
			if f == FormatHTML {
				zone = "<tr><th>Times are in</th><td>" + tt.loc.String() + "</td></tr>"
			}
			for _, s := range append(tt.want, zone) {
				if !strings.Contains(b.String(), s) {
					t.Errorf("%s, %s: got no %q in the handbook, want it", tt.name, f, s)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(b.String(), s) {
					t.Errorf("%s, %s: got %q in the handbook, want only times in the zone given", tt.name, f, s)
				}
			}
		}
	}
	var b bytes.Buffer
	if err := Handbook(&b, doc, "pdf", Options{}); err == nil || b.Len() != 0 {
		t.Errorf("Handbook in format pdf: got error %v and %d bytes written, want an error and nothing written", err, b.Len())
	}
}
