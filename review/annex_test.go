package review_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/oho-dev/oho/review"
)

// TestHashOfContentWithoutAnnexesIsUnchanged pins the hash of a plan without
// annexes to the value it had before annexes existed: sign-offs, approvals and
// published versions name such hashes, and a change of encoding would make
// every one of them point at nothing.
func TestHashOfContentWithoutAnnexesIsUnchanged(t *testing.T) {
	c := review.PlanContent{}.Reshape(review.DefaultSections).Apply([]review.Change{
		{ID: "C1", Section: "communal", Text: "Two supervisors at every break.\nThe rota is posted on Mondays."},
	})
	for _, tt := range []struct {
		name    string
		content review.PlanContent
		want    string
	}{
		{"six default sections, one with text", c, "07e59d3c7e6c29dd833c35304b87aea4f3886ee8d0e11fd7c6fa54f6dd9c6758"},
		{"the same with an empty, not nil, list of annexes", review.PlanContent{Sections: c.Sections, Annexes: []review.Annex{}},
			"07e59d3c7e6c29dd833c35304b87aea4f3886ee8d0e11fd7c6fa54f6dd9c6758"},
		{"no sections at all", review.PlanContent{}, "d4c232c5315ef579646fc6d053fb8267a07248de1f6e47aacd0b68448d597c37"},
	} {
		if got := tt.content.Hash(); got != tt.want {
			t.Errorf("%s: got hash %s, want %s", tt.name, got, tt.want)
		}
	}
	withAnnex := c.Apply([]review.Change{{ID: "C2", Section: "annex/NORTH", Text: "Room 12."}}, importUnits...)
	if withAnnex.Hash() == c.Hash() {
		t.Error("an annex did not change the hash")
	}
	b, _ := json.Marshal(withAnnex)
	if !strings.HasSuffix(string(b), `"annexes":[{"unit":"NORTH","title":"North Campus annex","text":"Room 12."}]}`) {
		t.Errorf("got content encoded as %s, want the annexes after the sections", b)
	}
}

func TestApplyAndReshapeWithAnnexes(t *testing.T) {
	base := review.PlanContent{
		Sections: []review.SectionText{{Key: "communal", Title: "Communal welfare", Text: "Rota."}, {Key: "individual", Title: "Individual welfare", Text: "Nurse."}},
		Annexes:  []review.Annex{{Unit: "SOUTH", Title: "South arrangements", Text: "South's group."}},
	}
	for _, tt := range []struct {
		name    string
		changes []review.Change
		units   []review.Unit
		want    []string
	}{
		{"a section change keeps the annexes", []review.Change{{Section: "communal", Text: "New rota."}}, importUnits, []string{
			"communal|Communal welfare|New rota.", "individual|Individual welfare|Nurse.", "annex/SOUTH|South arrangements|South's group."}},
		{"an annex change keeps its title", []review.Change{{Section: "annex/SOUTH", Text: "South meets monthly."}}, importUnits, []string{
			"communal|Communal welfare|Rota.", "individual|Individual welfare|Nurse.", "annex/SOUTH|South arrangements|South meets monthly."}},
		{"a new annex is titled after its unit and placed in unit order", []review.Change{{Section: "annex/NORTH", Text: "Room 12."}}, importUnits, []string{
			"communal|Communal welfare|Rota.", "individual|Individual welfare|Nurse.",
			"annex/NORTH|North Campus annex|Room 12.", "annex/SOUTH|South arrangements|South's group."}},
		{"a unit the list does not name is titled by its code", []review.Change{{Section: "annex/EAST", Text: "East."}}, nil, []string{
			"communal|Communal welfare|Rota.", "individual|Individual welfare|Nurse.",
			"annex/EAST|EAST annex|East.", "annex/SOUTH|South arrangements|South's group."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := base.Apply(tt.changes, tt.units...)
			if g := outline(got); !slices.Equal(g, tt.want) {
				t.Errorf("got %q, want %q", g, tt.want)
			}
			if len(base.Annexes) != 1 || base.Annexes[0].Text != "South's group." {
				t.Errorf("Apply changed the content it was called on: %+v", base.Annexes)
			}
		})
	}
	reshaped := base.Reshape([]review.Section{{Key: "individual", Title: "Individual welfare"}, {Key: "digital", Title: "Digital services"}})
	if g, want := outline(reshaped), []string{"individual|Individual welfare|Nurse.", "digital|Digital services|", "annex/SOUTH|South arrangements|South's group."}; !slices.Equal(g, want) {
		t.Errorf("Reshape: got %q, want %q", g, want)
	}
	if text, ok := base.Text("annex/SOUTH"); !ok || text != "South's group." {
		t.Errorf("Text(annex/SOUTH): got %q, %v", text, ok)
	}
	if _, ok := base.Text("annex/NORTH"); ok {
		t.Error("Text(annex/NORTH) found an annex the content does not have")
	}
}

func TestAnnexRules(t *testing.T) {
	sections := review.PlanContent{}.Reshape(review.DefaultSections).Keys()
	finding := func(section string) review.Evaluation {
		return review.Evaluation{Findings: []review.Finding{{ID: "F1", Section: section, Severity: review.SeverityMinor, Text: "x"}}}
	}
	feedback := func(section string) review.Consultation {
		return review.Consultation{Feedback: []review.FeedbackItem{{ID: "S1", Section: section, Text: "x"}}}
	}
	change := func(section string) review.Draft {
		return review.Draft{Changes: []review.Change{{ID: "C1", Section: section, Text: "x", Rationale: "y"}}}
	}
	for _, tt := range []struct {
		name string
		err  error
		want string // "" for no refusal
	}{
		{"a finding on the unit's own annex", finding("annex/NORTH").Check(sections, nil, nil, "NORTH", nil), ""},
		{"a finding on a section", finding("communal").Check(sections, nil, nil, "NORTH", nil), ""},
		{"a finding on another unit's annex", finding("annex/SOUTH").Check(sections, nil, nil, "NORTH", nil),
			`findings[0].section "annex/SOUTH" is the annex of unit SOUTH: a unit's findings and feedback may point at the plan's sections and its own annex (annex/NORTH) only`},
		{"a finding on an annex with no unit known", finding("annex/NORTH").Check(sections, nil, nil, "", nil), "only that unit's findings and feedback"},
		{"a finding on an unknown section", finding("canteen").Check(sections, nil, nil, "NORTH", nil), `findings[0].section "canteen" is not a section of the plan`},
		{"feedback on the unit's own annex", feedback("annex/SOUTH").Check(sections, nil, "SOUTH"), ""},
		{"feedback on another unit's annex", feedback("annex/NORTH").Check(sections, nil, "SOUTH"),
			`feedback[0].section "annex/NORTH" is the annex of unit NORTH`},
		{"a change to any unit's annex", change("annex/SOUTH").Check(sections, nil, importUnits), ""},
		{"a change to the annex of no unit", change("annex/WEST").Check(sections, nil, importUnits),
			`changes[0].section "annex/WEST" is the annex of WEST, which is not a unit of the provider (units: NORTH, SOUTH)`},
		{"a change to an annex twice", review.Draft{Changes: []review.Change{
			{ID: "C1", Section: "annex/NORTH", Text: "x", Rationale: "y"}, {ID: "C2", Section: "annex/NORTH", Text: "z", Rationale: "y"}}}.Check(sections, nil, importUnits),
			`section "annex/NORTH" is changed twice`},
	} {
		switch {
		case tt.want == "" && tt.err != nil:
			t.Errorf("%s: got %v, want no refusal", tt.name, tt.err)
		case tt.want != "" && (tt.err == nil || !strings.Contains(tt.err.Error(), tt.want)):
			t.Errorf("%s: got %v, want a refusal saying %q", tt.name, tt.err, tt.want)
		}
	}
}

func TestSignOffMeaning(t *testing.T) {
	plain := review.PlanContent{}.Reshape(review.DefaultSections)
	annexed := plain.Apply([]review.Change{{Section: "annex/NORTH", Text: "Room 12."}}, importUnits...)
	for _, tt := range []struct {
		decision, unit string
		draft          review.PlanContent
		want           string
	}{
		{review.DecisionApprove, "NORTH", plain, "approved for unit NORTH"},
		{review.DecisionRequestChanges, "NORTH", plain, "changes requested for unit NORTH"},
		{review.DecisionApprove, "NORTH", annexed, "approved for unit NORTH: the common part and NORTH's annex"},
		{review.DecisionRequestChanges, "NORTH", annexed, "changes requested for unit NORTH: the common part and NORTH's annex"},
		{review.DecisionApprove, "SOUTH", annexed, "approved for unit SOUTH: the common part (SOUTH has no annex)"},
	} {
		if got := review.SignOffMeaning(tt.decision, tt.unit, tt.draft); got != tt.want {
			t.Errorf("SignOffMeaning(%s, %s): got %q, want %q", tt.decision, tt.unit, got, tt.want)
		}
	}
}
