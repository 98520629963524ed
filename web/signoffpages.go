package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// The sign-off and approval pages show what is signed before the choice:
// the round's draft compared, section by section, with the published
// version it would replace, each change with why it was made and what it
// answers, the hash the signature binds to, the legal-content checklist
// and, for an approval, the unit heads' sign-offs of the round. A sign-off
// posts back the hash the page showed, so a person signs exactly the text
// they read; the service refuses any other.

// signingForm is the sign-off's or the approval's page and form.
type signingForm struct {
	Approve bool
	// Hash is the round's draft's content hash, shown, and posted back by
	// the sign-off's form.
	Hash      string
	DraftedBy string
	// Base is the published version the draft is compared with; nil when
	// the provider had none. BaseDay is its effective date in the reader's
	// words.
	Base    *store.PlanVersion
	BaseDay string
	// Annexes: the draft has units' annexes; OwnAnnex: the sign-off's unit
	// has one among them.
	Annexes, OwnAnnex bool
	Sections          []diffSection
	Counts            []changeCount
	Checklist         []checkRow
	SignOffs          []store.TraceSignature
	Decisions         []string
	// What was typed.
	Decision, Comment, EffectiveFrom string
	Errors                           map[string]*fieldErr
	// Stale is set when the service refused the hash posted: the page
	// shown then is the draft as it is now.
	Stale bool
	// Done is the decision recorded, once the task is done.
	Done *signedOutcome
}

// diffSection is a section of the draft as the page compares it.
type diffSection struct {
	render.SectionDiff
	// Title is the section's title in the draft, or in the published
	// version for a removed section; Text its wording in the draft.
	Title   string
	Text    string
	Changes []changeRow
}

// changeRow is a change of the draft with the items it answers.
type changeRow struct {
	review.Change
	Items []addressedItem
}

// addressedItem is a finding or feedback item a change answers; Known is
// false when the page may not show its text (see service.Signing).
type addressedItem struct {
	review.Item
	Known bool
}

type changeCount struct {
	Change render.SectionChange
	N      int
}

// checkRow is an item of the legal-content checklist with the titles of the
// sections it is expected in and covered in.
type checkRow struct {
	review.CoveredItem
	ExpectedTitle, SectionTitle string
}

// signedOutcome is a done sign-off's or approval's decision.
type signedOutcome struct {
	Decision      string `json:"decision"`
	Comment       string `json:"comment"`
	EffectiveFrom string `json:"effective_from"`
	// Day is the effective date in the reader's words.
	Day string `json:"-"`
}

// day writes a date given as YYYY-MM-DD in the reader's words, or as it is
// when it is no such date.
func day(date string, lang render.Lang) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return render.Day(d, time.UTC, lang)
}

// isSigning says whether tasks of the kind sign a draft.
func isSigning(k review.TaskKind) bool {
	return k == review.KindSignOff || k == review.KindApprove
}

func newSigningForm(sg service.Signing, lang render.Lang) *signingForm {
	t, d := sg.Task, sg.Task.Draft
	f := &signingForm{
		Approve: t.Kind == review.KindApprove, Hash: d.VersionHash, DraftedBy: d.DraftedBy, Base: sg.Base,
		Annexes: len(d.Content.Annexes) > 0, SignOffs: sg.SignOffs,
		Decisions: []string{review.DecisionApprove, review.DecisionRequestChanges},
	}
	if f.Approve {
		f.Decisions = []string{review.DecisionApprove, review.DecisionReturn}
	}
	_, f.OwnAnnex = d.Content.Annex(t.Unit)
	if sg.Base != nil {
		f.BaseDay = day(sg.Base.EffectiveFrom, lang)
	}
	titles := map[string]string{}
	if sg.Base != nil {
		for _, p := range sg.Base.Content.Parts() {
			titles[p.Key] = p.Title
		}
	}
	texts := map[string]string{}
	for _, p := range d.Content.Parts() {
		titles[p.Key], texts[p.Key] = p.Title, p.Text
	}
	items := map[string]review.Item{}
	for _, it := range sg.Items {
		items[it.Ref] = it
	}
	counts := map[render.SectionChange]int{}
	for _, sd := range sg.Sections {
		s := diffSection{SectionDiff: sd, Title: sd.NewTitle, Text: texts[sd.Key]}
		if s.Title == "" {
			s.Title = sd.OldTitle
		}
		for _, c := range d.Changes {
			if c.Section != sd.Key {
				continue
			}
			row := changeRow{Change: c}
			for _, ref := range c.Addresses {
				it, ok := items[ref]
				if !ok {
					it = review.Item{Ref: ref}
				}
				row.Items = append(row.Items, addressedItem{Item: it, Known: ok})
			}
			s.Changes = append(s.Changes, row)
		}
		counts[sd.Change]++
		f.Sections = append(f.Sections, s)
	}
	for _, c := range []render.SectionChange{render.SectionChanged, render.SectionRenamed, render.SectionAdded, render.SectionRemoved, render.SectionUnchanged} {
		if counts[c] > 0 {
			f.Counts = append(f.Counts, changeCount{Change: c, N: counts[c]})
		}
	}
	for _, it := range d.Checklist {
		f.Checklist = append(f.Checklist, checkRow{CoveredItem: it, ExpectedTitle: titles[it.Expected], SectionTitle: titles[it.Section]})
	}
	if t.Status == review.TaskDone && len(t.Outcome) > 0 {
		var o signedOutcome
		if json.Unmarshal(t.Outcome, &o) == nil {
			o.Day = day(o.EffectiveFrom, lang)
			f.Done = &o
		}
	}
	return f
}

// read keeps what the form holds, as typed.
func (f *signingForm) read(r *http.Request) {
	get := func(name string) string { return strings.TrimSpace(r.PostForm.Get(name)) }
	f.Decision, f.Comment, f.EffectiveFrom = get("decision"), get("comment"), get("effective_from")
}

// outcome is the sign-off or approval the form holds. A sign-off names the
// hash the page showed (posted), not the draft's as it is now, so that the
// service refuses a signature of text the person did not see. An approval
// takes its effective date only when it approves: the date belongs to the
// choice to approve.
func (f *signingForm) outcome(r *http.Request) any {
	if !f.Approve {
		return review.SignOff{Decision: f.Decision, Comment: f.Comment, VersionHash: strings.TrimSpace(r.PostForm.Get("version_hash"))}
	}
	a := review.Approval{Decision: f.Decision, Comment: f.Comment}
	if f.Decision == review.DecisionApprove {
		a.EffectiveFrom = f.EffectiveFrom
	}
	return a
}

// formField names the field a problem of the outcome concerns: the rules
// that ask for a comment ("request_changes needs a comment…", "return needs
// a comment…") concern the comment; a refused hash concerns no field the
// person can change, and marks the page stale.
func (f *signingForm) formField(text string) string {
	list, _, _ := problemPath(text)
	switch list {
	case "decision", "comment", "effective_from":
		return list
	case review.DecisionRequestChanges, review.DecisionReturn:
		return "comment"
	case "version_hash":
		f.Stale = true
	}
	return ""
}

// pageSigning shows a sign-off or an approval task.
func (s *Server) pageSigning(w http.ResponseWriter, r *http.Request, a *service.Actor, id string) {
	sg, err := s.svc.Signing(r.Context(), *a, id)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	t := sg.Task
	v := s.page(r, a, string("kind."+t.Kind), "inbox")
	p := taskPage{Task: t, Overdue: t.OverdueAt != nil && t.Status == review.TaskOpen, Signing: newSigningForm(sg, v.W.Lang)}
	v.Data = p
	s.render(w, r, http.StatusOK, "signing.html", v)
}

// pageSigningPost signs: it completes the sign-off or approval with the
// decision the form holds. A refusal shows the page again with what was
// typed and each problem next to its field (outcomeProblems).
func (s *Server) pageSigningPost(w http.ResponseWriter, r *http.Request, a *service.Actor, id string) {
	sg, err := s.svc.Signing(r.Context(), *a, id)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	t := sg.Task
	v := s.page(r, a, string("kind."+t.Kind), "inbox")
	f := newSigningForm(sg, v.W.Lang)
	f.read(r)
	p := taskPage{Task: t, Overdue: t.OverdueAt != nil && t.Status == review.TaskOpen, Signing: f}
	s.completeForm(w, r, a, v, p, f.outcome(r), f.formField, f.label)
}
