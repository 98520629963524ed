package render

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// importedDoc is a version imported by a manager, with annexes of two units.
func importedDoc() store.PlanDocument {
	content := review.PlanContent{
		Sections: []review.SectionText{{Key: "communal", Title: "Communal welfare", Text: "Two supervisors at every break."}},
		Annexes: []review.Annex{
			{Unit: "NORTH", Title: "North <Campus> arrangements", Text: "Room 12.\n\nThe group meets monthly."},
			{Unit: "SOUTH", Title: "South Campus annex", Text: "Room 4."},
		},
	}
	return store.PlanDocument{
		PlanVersion: store.PlanVersion{Provider: "ACME", Version: 1, Hash: content.Hash(), EffectiveFrom: "2026-08-01",
			PublishedAt: time.Date(2026, 5, 4, 10, 15, 0, 0, time.UTC), Source: store.SourceImport, ImportedBy: "acme.manager", Content: content},
		ProviderName:   "Acme College",
		Signatures:     []store.TraceSignature{},
		ImportedByName: "Maija Manager",
	}
}

func TestHandbookOfAnImportedVersionWithAnnexes(t *testing.T) {
	doc := importedDoc()
	for _, tt := range []struct {
		format Format
		front  []string
		body   []string
	}{
		{FormatMarkdown,
			[]string{"| Imported | 4 May 2026 10:15 UTC by Maija Manager (acme.manager) |", "| Review | not yet reviewed in OHO |",
				"This version was imported by Maija Manager (acme.manager) on 4 May 2026 10:15 UTC, not yet reviewed in OHO: it has no signatures.",
				"`" + doc.Hash + "`"},
			[]string{"- Annex NORTH: North \\<Campus\\> arrangements", "## 1. Communal welfare", "## Unit annexes",
				"### Annex NORTH: North \\<Campus\\> arrangements\n\nRoom 12.\n\nThe group meets monthly.\n",
				"### Annex SOUTH: South Campus annex\n\nRoom 4.\n"}},
		{FormatHTML,
			[]string{"<tr><th>Imported</th><td>4 May 2026 10:15 UTC by Maija Manager (acme.manager)</td></tr>", "not yet reviewed in OHO",
				"This version was imported by Maija Manager (acme.manager) on 4 May 2026 10:15 UTC, not yet reviewed in OHO: it has no signatures."},
			[]string{`<a href="#annex-NORTH">Annex NORTH: North &lt;Campus&gt; arrangements</a>`, `<section id="annexes">`,
				`<section id="annex-NORTH">`, "<h3>Annex NORTH: North &lt;Campus&gt; arrangements</h3>", "<p>Room 12.</p>\n<p>The group meets monthly.</p>",
				"<h3>Annex SOUTH: South Campus annex</h3>"}},
	} {
		var b bytes.Buffer
		if err := Handbook(&b, doc, tt.format, Options{}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		i := strings.Index(out, "Contents")
		if i < 0 {
			t.Fatalf("%s: no contents:\n%s", tt.format, out)
		}
		front, body := out[:i], out[i:]
		for _, want := range tt.front {
			if !strings.Contains(front, want) {
				t.Errorf("%s: the first page lacks %q:\n%s", tt.format, want, front)
			}
		}
		for _, not := range []string{"Review cycle", "Signed by", "Every signature below"} {
			if strings.Contains(front, not) {
				t.Errorf("%s: the first page of an imported version says %q", tt.format, not)
			}
		}
		for _, want := range tt.body {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the handbook lacks %q:\n%s", tt.format, want, body)
			}
		}
		if strings.Index(body, "Communal welfare") > strings.Index(body, "Annex NORTH") || strings.Index(body, "NORTH:") > strings.Index(body, "SOUTH:") {
			t.Errorf("%s: want the common sections first, then the annexes in unit order", tt.format)
		}
		if tt.format == FormatHTML {
			for _, href := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(out, -1) {
				if !strings.Contains(out, `id="`+href[1][1:]+`"`) {
					t.Errorf("html: link %s does not lead to a part of the document", href[1])
				}
			}
		}
	}

	// The operator imports as nobody's person; a person no longer known is
	// named by ID.
	for _, tt := range []struct{ by, name, want string }{
		{store.ActorOperator, "", "imported by the operator on"},
		{"gone.person", "", "imported by gone.person on"},
	} {
		d := importedDoc()
		d.ImportedBy, d.ImportedByName = tt.by, tt.name
		var b bytes.Buffer
		if err := Handbook(&b, d, FormatMarkdown, Options{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tt.want) {
			t.Errorf("imported by %q: the handbook does not say %q", tt.by, tt.want)
		}
	}
}

func TestDiffWithAnnexesAndAnImportedVersion(t *testing.T) {
	v1 := importedDoc().PlanVersion
	content2 := review.PlanContent{
		Sections: []review.SectionText{{Key: "communal", Title: "Communal welfare", Text: "Two supervisors at every break."}},
		Annexes: []review.Annex{
			{Unit: "NORTH", Title: "North arrangements", Text: "Room 12.\n\nThe group meets every two weeks."},
			{Unit: "WEST", Title: "West Campus annex", Text: "Room 1."},
		},
	}
	v2 := store.PlanVersion{Provider: "ACME", Version: 2, Hash: content2.Hash(), EffectiveFrom: "2027-08-01", Source: store.SourceCycle,
		CycleID: "review-cycle/ACME/2027", Round: 1, ApprovedBy: "acme.approver", Content: content2}
	d := PlanDiff{Provider: "ACME", From: v1, To: v2, Sections: DiffPlans(v1.Content, v2.Content),
		Changes: []store.PlanChange{{Version: 2, ChangeID: "C3", Section: "annex/NORTH", Text: "x", Rationale: "Finding NORTH/F3"}}}
	var b strings.Builder
	if err := DiffText(&b, d); err != nil {
		t.Fatal(err)
	}
	want := `plan of ACME: version 1 (` + v1.Hash[:12] + `…) → version 2 (` + v2.Hash[:12] + `…)
version 1 was imported by acme.manager, not made by a review cycle

  communal: unchanged

  annex/NORTH: changed, and renamed "North <Campus> arrangements" → "North arrangements"
      Room 12.
      
    - The group meets monthly.
    + The group meets every two weeks.

  annex/WEST (West Campus annex): added
    + Room 1.

  annex/SOUTH (South Campus annex): removed
    - Room 4.

changes made between them:
  version 2, C3 (annex/NORTH): Finding NORTH/F3
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		From     map[string]any `json:"from"`
		To       map[string]any `json:"to"`
		Sections []SectionDiff  `json:"sections"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.From["source"] != "import" || got.To["source"] != "cycle" || len(got.Sections) != 4 ||
		got.Sections[1].Key != "annex/NORTH" || got.Sections[1].NewTitle != "North arrangements" || got.Sections[1].OldTitle != "North <Campus> arrangements" {
		t.Errorf("got JSON %s, want the sources and the annexes as sections with their titles", raw)
	}
}
