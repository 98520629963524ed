package render

import (
	"fmt"
	"strings"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// carriedSection follows each item an earlier cycle deferred into this one:
// the year that found it, how each cycle since answered it, and this
// cycle's answer, until a cycle addresses or rejects it.
func carriedSection(d *doc, tr store.Trace) {
	d.h(2, "10. Items carried from earlier cycles")
	if len(tr.Carried) == 0 {
		d.p("None: the previous cycle deferred nothing, or there was no previous cycle.")
		return
	}
	d.p("An item a cycle defers comes back in the next cycle's draft, which must answer it again. Each row follows one item " +
		"from the cycle that found it; its reference names that year.")
	running := tr.Cycle.Status == review.CycleRunning
	t := &table{Head: []string{"Item", "Kind", "Section", "What was said", "Found in", "Earlier answers", fmt.Sprintf("Answer in %d", tr.Cycle.Year)}}
	for _, it := range tr.Carried {
		var earlier []string
		for _, e := range it.Earlier {
			s := fmt.Sprintf("%d: %s", e.Year, e.Decision)
			if e.Reason != "" {
				s += " (" + e.Reason + ")"
			}
			earlier = append(earlier, s)
		}
		t.row(code(it.Ref), txt("%s", kindOf(it)), txt("%s", it.Section), txt("%s", it.Text), txt("%d", it.From),
			txt("%s", strings.Join(earlier, "; ")), txt("%s", disposition(it, running)))
	}
	d.table(t, "")
}

// checklistSection shows where the final round's draft covers the legal
// content the plan must have.
func checklistSection(d *doc, tr store.Trace) {
	d.h(2, "11. The legal-content checklist")
	if len(tr.Checklist) == 0 {
		d.p("No checklist to show: the cycle has no draft yet, or it was set up before OHO kept legal-content checklists.")
		return
	}
	d.p("The content the plan must cover (by default, what section 13 of the Student Welfare Act 1287/2013 requires), and where "+
		"the draft of round %d says the plan covers each item.", tr.FinalRound)
	d.table(checklistTable(tr.Checklist), "")
}

// checklistTable is the checklist with its coverage, for the report and the
// handbook.
func checklistTable(items []review.CoveredItem) *table {
	t := &table{Head: []string{"Item", "Content required", "Sisältö", "Covered in"}}
	for _, it := range items {
		where := it.Section
		switch {
		case it.Section == "":
			where = "NOT COVERED: " + it.Reason
		case it.Note != "":
			where += ": " + it.Note
		}
		t.row(code(it.ID), txt("%s", it.EN), txt("%s", it.FI), txt("%s", where))
	}
	return t
}
