package web

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// signingFixture is a sign-off (or, approve, an approval) of a draft that
// changes one section, adds North's annex and leaves one section out, with
// a checklist item left uncovered; texts people typed hold markup.
func signingFixture(approve bool) service.Signing {
	base := review.PlanContent{Sections: []review.SectionText{
		{Key: "communal", Title: "Communal welfare", Text: "One supervisor.\nBreaks are short."},
		{Key: "individual", Title: "Individual welfare", Text: "Nurse on Mondays."},
		{Key: "old", Title: "Old section", Text: "Gone soon."},
	}}
	changes := []review.Change{
		{ID: "C1", Section: "communal", Text: "Two supervisors <script>alert(1)</script>.\nBreaks are short.", Rationale: "Gaps <b>found</b>", Addresses: []string{"NORTH/F1", "SOUTH/S9"}},
		{ID: "C2", Section: "annex/NORTH", Text: "North meets weekly.", Rationale: "North asked"},
	}
	draft := review.PlanContent{Sections: base.Sections[:2]}.Apply(changes, review.Unit{Code: "NORTH", Name: "North campus"})
	kind, unit := review.KindSignOff, "NORTH"
	if approve {
		kind, unit = review.KindApprove, ""
	}
	sg := service.Signing{
		Task: store.Task{ID: "ACME/2026/" + string(kind) + "/r1" + map[bool]string{false: "/NORTH", true: ""}[approve], Provider: "ACME", Year: 2026,
			Kind: kind, Unit: unit, Round: 1, Status: review.TaskOpen, DueAt: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
			Draft: &store.RoundDraft{Round: 1, VersionHash: draft.Hash(), DraftedBy: "acme.editor", Content: draft, Changes: changes,
				Checklist: []review.CoveredItem{
					{ID: "communal_practices", FI: "Yhteisöllinen opiskeluhuolto", EN: "Communal student welfare", Expected: "communal", Section: "communal", Note: "Second paragraph"},
					{ID: "crises_threats", FI: "Kriisitilanteet", EN: "Crises", Expected: "communal", Reason: "The crisis plan <i>is separate</i>"},
				}}},
		Base:     &store.PlanVersion{Provider: "ACME", Version: 3, Hash: base.Hash(), EffectiveFrom: "2025-08-01", Source: store.SourceImport, Content: base},
		Sections: render.DiffPlans(base, draft),
		Items:    []review.Item{{Ref: "NORTH/F1", Kind: review.ItemFinding, Severity: review.SeverityMajor, Text: "<script>alert(2)</script> Breaks unsupervised"}},
	}
	if approve {
		sg.SignOffs = []store.TraceSignature{{Kind: "signoff", Round: 1, Unit: "NORTH", Signer: "acme.head.north", SignerName: "Head of North",
			Role: "unit_head", Decision: review.DecisionApprove, Meaning: "approved for unit NORTH: the common part and NORTH's annex",
			SignedAt: time.Date(2026, 4, 20, 9, 30, 0, 0, time.UTC)}}
	}
	return sg
}

func renderSigning(t *testing.T, lang render.Lang, p taskPage) string {
	t.Helper()
	var buf bytes.Buffer
	v := view{W: wordsFor(lang), Title: "t", Data: p, loc: time.UTC}
	if err := pageTemplates["signing.html"].ExecuteTemplate(&buf, "layout", v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestSigningPageShowsTheDiffEscaped(t *testing.T) {
	for _, lang := range []render.Lang{render.Finnish, render.English} {
		for _, approve := range []bool{false, true} {
			sg := signingFixture(approve)
			p := taskPage{Task: sg.Task, Signing: newSigningForm(sg, lang)}
			body := renderSigning(t, lang, p)
			what := string(lang) + " " + string(sg.Task.Kind)
			for _, want := range []string{
				sg.Task.Draft.VersionHash,
				"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;script&gt;alert(2)&lt;/script&gt; Breaks unsupervised",
				"Gaps &lt;b&gt;found&lt;/b&gt;", "The crisis plan &lt;i&gt;is separate&lt;/i&gt;",
				"<strong>NORTH/F1</strong>", "<strong>SOUTH/S9</strong>", "<del>", "<ins>",
				`<input type="radio" name="decision" value="approve" id="decision"`, `<label for="comment">`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("%s: the page does not have %q", what, want)
				}
			}
			words := map[render.Lang][]string{
				render.Finnish: {"EI KATETTU", "Muuttuneita osia: 1", "Uusia osia: 1", "Poistettuja osia: 1", "versioon 3, joka on voimassa 1.8.2025 alkaen", "Lisätty rivi:", "Poistettu rivi:"},
				render.English: {"NOT COVERED", "Sections changed: 1", "Sections added: 1", "Sections removed: 1", "version 3 of the plan, in force from 1 Aug 2025", "Added line:", "Removed line:"},
			}
			for _, want := range words[lang] {
				if !strings.Contains(body, want) {
					t.Errorf("%s: the page does not say %q", what, want)
				}
			}
			for _, bad := range []string{"<script>", "<b>found", "signing.", "<i>is"} {
				if strings.Contains(body, bad) {
					t.Errorf("%s: the page has %q", what, bad)
				}
			}
			hidden := strings.Contains(body, `name="version_hash" value="`+sg.Task.Draft.VersionHash+`"`)
			date := strings.Contains(body, `id="effective_from" name="effective_from" type="date"`)
			signoffs := strings.Contains(body, "acme.head.north") && strings.Contains(body, `<span lang="en">approved for unit NORTH`)
			if hidden == approve || date != approve || signoffs != approve {
				t.Errorf("%s: hash posted %v, date field %v, sign-offs shown %v", what, hidden, date, signoffs)
			}
		}
	}
}

func TestSigningFormRefusalsByField(t *testing.T) {
	sg := signingFixture(false)
	f := newSigningForm(sg, render.Finnish)
	for _, tt := range []struct{ problem, field string }{
		{"request_changes needs a comment saying what should change", "comment"},
		{"return needs a comment saying what should change", "comment"},
		{"decision is required", "decision"},
		{`effective_from must be a date written as YYYY-MM-DD (got "1.8.2026")`, "effective_from"},
		{"comment must be at most 4000 characters", "comment"},
		{"version_hash abc is not the current draft's (def): read the draft again", ""},
	} {
		if got := f.formField(tt.problem); got != tt.field {
			t.Errorf("%q: got field %q, want %q", tt.problem, got, tt.field)
		}
	}
	if !f.Stale {
		t.Error("a refused hash does not mark the page stale")
	}
	f.Comment = "<script>x</script>"
	f.Decision = review.DecisionRequestChanges
	f.Errors = map[string]*fieldErr{"comment": {ID: "comment", Text: "request_changes needs a comment"}}
	body := renderSigning(t, render.Finnish, taskPage{Task: sg.Task, Signing: f,
		Problems: []problem{{Field: "comment", Text: "request_changes needs a comment"}, {Text: "version_hash abc is not the current draft's"}}})
	for _, want := range []string{
		`<span class="field-error" id="comment-error">request_changes needs a comment</span>`,
		`aria-describedby="comment-hint comment-error" aria-invalid="true">&lt;script&gt;x&lt;/script&gt;</textarea>`,
		`href="#comment"`, `value="request_changes" id="decision-request_changes" checked`, "Lomake ei vastannut tämän tehtävän luonnosta",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the refused form does not have %q", want)
		}
	}
}
