package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// sectionRow is a section (or a unit's annex) of the plan on the draft
// form: its text in force, and the editor's new text and why.
type sectionRow struct {
	Key, Title, Current string
	Text, Rationale     string
}

// Changed says whether the editor changed the section's text.
func (r sectionRow) Changed() bool { return normalize(r.Text) != normalize(r.Current) }

// itemRow is a finding, a feedback item or an item carried from an earlier
// cycle, with the editor's answer.
type itemRow struct {
	review.Item
	Needs                    bool
	Decision, Change, Reason string
}

// coverageRow is an item of the legal-content checklist with where the
// editor says the plan covers it.
type coverageRow struct {
	review.ChecklistItem
	Section, Note, Reason string
}

// draftForm is the draft task's form: the plan section by section beside
// the editor, every item with its answer, and the checklist.
type draftForm struct {
	Round          int
	Comments       []review.Comment
	Sections       []sectionRow
	Items          []itemRow
	Checklist      []coverageRow
	ReasonsAllowed bool
	// Revising is the round whose draft, sent back, the form starts from
	// (0 when it starts from the plan in force).
	Revising  int
	Decisions []string
	Errors    map[string]*fieldErr
	// changeRows maps the outcome's changes to the form's section rows.
	changeRows []int
	dispRows   []int
}

// normalize makes text typed in a browser (CRLF line ends, trailing blanks)
// comparable with the stored text.
func normalize(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
}

// newDraftForm is the draft form as it opens: from the plan in force, or,
// in a later round, from the draft of the round before, which was sent
// back — its texts, reasons, answers and coverage — so that the editor
// revises it rather than starting again.
func newDraftForm(in review.DraftInput, previous *store.RoundDraft) *draftForm {
	f := &draftForm{Round: in.Round, Comments: in.Comments, ReasonsAllowed: in.ChecklistReasons,
		Decisions: []string{review.DecisionAddressed, review.DecisionDeferred, review.DecisionRejected}}
	for _, p := range in.Plan.Parts() {
		f.Sections = append(f.Sections, sectionRow{Key: p.Key, Title: p.Title, Current: p.Text, Text: p.Text})
	}
	for _, it := range in.Items {
		f.Items = append(f.Items, itemRow{Item: it, Needs: it.NeedsDisposition(), Change: it.Section})
	}
	for _, c := range in.Checklist {
		// Not filled in: the editor says where each item is covered.
		f.Checklist = append(f.Checklist, coverageRow{ChecklistItem: c})
	}
	if previous != nil {
		f.revise(*previous)
	}
	return f
}

// revise fills the form with the draft of the round before.
func (f *draftForm) revise(d store.RoundDraft) {
	f.Revising = d.Round
	sectionOf := map[string]string{}
	for _, c := range d.Changes {
		sectionOf[c.ID] = c.Section
		for i := range f.Sections {
			if f.Sections[i].Key == c.Section {
				f.Sections[i].Text, f.Sections[i].Rationale = c.Text, c.Rationale
			}
		}
	}
	for _, ds := range d.Dispositions {
		for i := range f.Items {
			if f.Items[i].Ref == ds.Item {
				f.Items[i].Decision, f.Items[i].Reason = ds.Decision, ds.Reason
				if s, ok := sectionOf[ds.Change]; ok {
					f.Items[i].Change = s
				}
			}
		}
	}
	for _, c := range d.Checklist {
		for i := range f.Checklist {
			if f.Checklist[i].ID == c.ID {
				f.Checklist[i].Section, f.Checklist[i].Note, f.Checklist[i].Reason = c.Section, c.Note, c.Reason
			}
		}
	}
}

func readDraftForm(in review.DraftInput, r *http.Request) *draftForm {
	f := newDraftForm(in, nil)
	get := func(format string, args ...any) string { return r.PostForm.Get(fmt.Sprintf(format, args...)) }
	for i := range f.Sections {
		f.Sections[i].Text = strings.ReplaceAll(get("sec-%d-text", i), "\r\n", "\n")
		f.Sections[i].Rationale = strings.TrimSpace(get("sec-%d-why", i))
	}
	for i := range f.Items {
		f.Items[i].Decision = strings.TrimSpace(get("it-%d-decision", i))
		f.Items[i].Change = strings.TrimSpace(get("it-%d-change", i))
		f.Items[i].Reason = strings.TrimSpace(get("it-%d-reason", i))
	}
	for i := range f.Checklist {
		f.Checklist[i].Section = strings.TrimSpace(get("ck-%d-section", i))
		f.Checklist[i].Note = strings.TrimSpace(get("ck-%d-note", i))
		f.Checklist[i].Reason = strings.TrimSpace(get("ck-%d-reason", i))
	}
	return f
}

// Missing lists what the form still lacks before the draft can be sent:
// items that need an answer and have none, and checklist items not said to
// be covered (nor, where allowed, left out with a reason). It is shown on
// the form as a list to work through; the rules decide when it is sent.
func (f *draftForm) Missing() []string {
	var out []string
	for _, it := range f.Items {
		if it.Needs && it.Decision == "" {
			out = append(out, it.Ref)
		}
	}
	for _, c := range f.Checklist {
		if c.Section == "" && (!f.ReasonsAllowed || c.Reason == "") {
			out = append(out, c.ID)
		}
	}
	return out
}

// outcome is the draft the form holds: a change for each section whose text
// was changed (numbered C1, C2, … in the plan's order), each addressing the
// items answered by it; an answer for each item given one; the coverage.
func (f *draftForm) outcome() review.Draft {
	d := review.Draft{Changes: []review.Change{}, Dispositions: []review.Disposition{}}
	changeOf := map[string]string{}
	f.changeRows, f.dispRows = nil, nil
	for i, s := range f.Sections {
		if !s.Changed() {
			continue
		}
		id := fmt.Sprintf("C%d", len(d.Changes)+1)
		changeOf[s.Key] = id
		f.changeRows = append(f.changeRows, i)
		d.Changes = append(d.Changes, review.Change{ID: id, Section: s.Key, Text: normalize(s.Text), Rationale: s.Rationale, Addresses: []string{}})
	}
	for i, it := range f.Items {
		if it.Decision == "" {
			continue
		}
		ds := review.Disposition{Item: it.Ref, Decision: it.Decision, Reason: it.Reason}
		if it.Decision == review.DecisionAddressed {
			ds.Change = changeOf[it.Change]
			for c := range d.Changes {
				if d.Changes[c].ID == ds.Change && ds.Change != "" {
					d.Changes[c].Addresses = append(d.Changes[c].Addresses, it.Ref)
				}
			}
		}
		f.dispRows = append(f.dispRows, i)
		d.Dispositions = append(d.Dispositions, ds)
	}
	for _, c := range f.Checklist {
		cov := review.Coverage{Item: c.ID, Section: c.Section, Note: c.Note}
		if c.Section == "" {
			cov.Reason = c.Reason
		}
		d.Coverage = append(d.Coverage, cov)
	}
	return d
}

// check finds what the form can tell before the rules: an item answered
// "addressed" by a section whose text was not changed.
func (f *draftForm) check(w words) []problem {
	var out []problem
	for i, it := range f.Items {
		if it.Decision != review.DecisionAddressed {
			continue
		}
		j := slices.IndexFunc(f.Sections, func(s sectionRow) bool { return s.Key == it.Change })
		if j < 0 || !f.Sections[j].Changed() {
			out = append(out, problem{Field: fmt.Sprintf("it-%d-change", i), Text: w.T("draft.unchanged_section", "Item", it.Ref, "Section", it.Change)})
		}
	}
	return out
}

// formField names the form field a problem concerns: by the list and place
// it names, else by the item or checklist item it names.
func (f *draftForm) formField(text string) string {
	list, i, field := problemPath(text)
	switch list {
	case "changes":
		if i >= 0 && i < len(f.changeRows) {
			if field == "rationale" {
				return fmt.Sprintf("sec-%d-why", f.changeRows[i])
			}
			return fmt.Sprintf("sec-%d-text", f.changeRows[i])
		}
	case "dispositions":
		if i >= 0 && i < len(f.dispRows) {
			if field == "reason" {
				return fmt.Sprintf("it-%d-reason", f.dispRows[i])
			}
			return fmt.Sprintf("it-%d-decision", f.dispRows[i])
		}
	case "coverage":
		if i >= 0 && i < len(f.Checklist) {
			if field == "reason" {
				return fmt.Sprintf("ck-%d-reason", i)
			}
			return fmt.Sprintf("ck-%d-section", i)
		}
	}
	for i, it := range f.Items {
		if strings.Contains(text, it.Ref+" ") || strings.HasSuffix(text, it.Ref) || strings.Contains(text, it.Ref+",") {
			return fmt.Sprintf("it-%d-decision", i)
		}
	}
	for i, c := range f.Checklist {
		if strings.Contains(text, c.ID+" ") || strings.Contains(text, `"`+c.ID+`"`) || strings.HasSuffix(text, c.ID) {
			return fmt.Sprintf("ck-%d-section", i)
		}
	}
	return ""
}
