package review_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/oho-dev/oho/review"
)

// FuzzPlanMarkdown: the Markdown a provider imports its plan from is read
// by hand (review.ParsePlanMarkdown). Whatever the text, it never panics;
// a refusal is one line (a *MarkdownError) of bounded length however long
// the line at fault; and a plan it accepts keeps every limit a draft is
// held to (sections, their text and titles, unique keys).
func FuzzPlanMarkdown(f *testing.F) {
	for _, s := range []string{
		"# Plan\n\n## Communal welfare\n\nTwo supervisors.\n\n## Annex NORTH: North\n\nMonthly.\n",
		"## 2. Individual welfare {#individual}\n\ntext\n### Sub\nmore\n",
		"##Title\n", "text first\n## Communal welfare\n", "# A\n# B\n", "## \n", "## Annex NOWHERE\n\nx\n",
		"```\n## not a heading\n```\n## Communal welfare\nx\n", "\ufeff## Communal welfare\r\nx\r\n",
		"## Communal welfare\n## Communal welfare\n", "## Digital welfare services\n\nx\n", "## x {#communal}\n## y {#communal}\n",
		"## " + strings.Repeat("Title ", 100) + "\n", "##" + strings.Repeat("x", 5000) + "\n",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	units := []review.Unit{{Code: "NORTH", Name: "North Campus"}}
	f.Fuzz(func(t *testing.T, md string, add bool) {
		plan, err := review.ParsePlanMarkdown(md, review.ImportBasis{Sections: review.DefaultSections, Units: units, AddSections: add})
		if err != nil {
			var me *review.MarkdownError
			switch msg := err.Error(); {
			case !errors.As(err, &me):
				t.Fatalf("%.200q: refused with %T, not a MarkdownError: %v", md, err, err)
			case strings.Contains(msg, "\n"):
				t.Fatalf("%.200q: a refusal of more than one line: %q", md, msg)
			case len(msg) > 8000:
				t.Fatalf("%.200q: a refusal of %d bytes", md, len(msg))
			}
			return
		}
		parts := plan.Content.Parts()
		if len(plan.Content.Sections) > review.MaxSections {
			t.Fatalf("%.200q: accepted %d sections", md, len(plan.Content.Sections))
		}
		seen := map[string]bool{}
		for _, p := range parts {
			if seen[p.Key] {
				t.Fatalf("%.200q: the key %q twice", md, p.Key)
			}
			seen[p.Key] = true
			if utf8.RuneCountInString(p.Text) > review.MaxSectionText || !utf8.ValidString(p.Text) || strings.ContainsRune(p.Text, 0) {
				t.Fatalf("%.200q: accepted section %q over the limit or not text", md, p.Key)
			}
		}
	})
}
