package review

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/oho-dev/oho/check"
)

// Finding severities.
const (
	SeverityInfo  = "info"
	SeverityMinor = "minor"
	SeverityMajor = "major"
)

// Disposition decisions.
const (
	DecisionAddressed = "addressed"
	DecisionDeferred  = "deferred"
	DecisionRejected  = "rejected"
)

// Sign-off and approval decisions.
const (
	DecisionApprove        = "approve"
	DecisionRequestChanges = "request_changes"
	DecisionReturn         = "return"
)

// Evaluation is the outcome of a unit's evaluate task: how the plan worked.
type Evaluation struct {
	Indicators    []Indicator     `json:"indicators" validate:"max=200,dive"`
	Findings      []Finding       `json:"findings" validate:"max=200,dive"`
	Effectiveness []Effectiveness `json:"effectiveness" validate:"max=200,dive"`
}

// Indicator is a measured value against its target, such as a survey score.
// An indicator of the cycle's catalogue is named by Code, and the catalogue
// gives its name, unit, direction and target; a free indicator (no code)
// gives them itself.
type Indicator struct {
	// Code names an indicator of the catalogue.
	Code   string   `json:"code,omitempty" validate:"omitempty,code"`
	Name   string   `json:"name" validate:"required_without=Code,max=200"`
	Value  *float64 `json:"value" validate:"required_without=Code"`
	Target *float64 `json:"target" validate:"required_without=Code"`
	Unit   string   `json:"unit" validate:"max=40"`
	// Better says which way the target is reached: "higher" (the default,
	// for a score whose target is a minimum) or "lower" (for absences,
	// whose target is a maximum).
	Better string `json:"better,omitempty" validate:"omitempty,oneof=higher lower"`
	// NotMeasured marks a catalogue indicator that was not measured this
	// year, and Reason says why, so that a gap in a trend is explained.
	NotMeasured bool   `json:"not_measured,omitempty"`
	Reason      string `json:"reason,omitempty" validate:"max=1000"`
}

// Finding is something the evaluation found about a section of the plan.
type Finding struct {
	ID             string `json:"id" validate:"required,code"`
	Section        string `json:"section" validate:"required"`
	Severity       string `json:"severity" validate:"required,oneof=info minor major"`
	Text           string `json:"text" validate:"required,max=4000"`
	Recommendation string `json:"recommendation" validate:"max=4000"`
}

// Effectiveness rates a change made in the previous cycle.
type Effectiveness struct {
	ChangeID string `json:"change_id" validate:"required"`
	Rating   string `json:"rating" validate:"required,oneof=effective partly not_effective"`
	Note     string `json:"note" validate:"max=4000"`
}

// Consultation is the outcome of a unit's consult task: how students were
// heard and what they said. It holds counts and roles, never students' names.
type Consultation struct {
	Method       string         `json:"method" validate:"required,oneof=council survey workshop interview"`
	Participants int            `json:"participants" validate:"required,min=1,max=100000"`
	HeldOn       string         `json:"held_on" validate:"required,datetime=2006-01-02"`
	Feedback     []FeedbackItem `json:"feedback" validate:"max=200,dive"`
}

// FeedbackItem is one thing students said about a section of the plan.
type FeedbackItem struct {
	ID      string `json:"id" validate:"required,code"`
	Section string `json:"section" validate:"required"`
	Text    string `json:"text" validate:"required,max=4000"`
}

// Draft is the outcome of the draft task: the changes to the plan and how
// every finding and feedback item was answered.
type Draft struct {
	Changes      []Change      `json:"changes" validate:"max=100,dive"`
	Dispositions []Disposition `json:"dispositions" validate:"max=2000,dive"`
	// Coverage says where the drafted plan covers each item of the
	// cycle's legal-content checklist.
	Coverage []Coverage `json:"coverage,omitempty" validate:"max=100,dive"`
}

// Change is the new wording of one section, with the items it answers.
type Change struct {
	ID        string   `json:"id" validate:"required,code"`
	Section   string   `json:"section" validate:"required"`
	Text      string   `json:"text" validate:"required,max=20000"`
	Rationale string   `json:"rationale" validate:"required,max=4000"`
	Addresses []string `json:"addresses" validate:"max=200,dive,required"`
}

// Disposition says how a finding or feedback item was answered.
type Disposition struct {
	Item     string `json:"item" validate:"required"`
	Decision string `json:"decision" validate:"required,oneof=addressed deferred rejected"`
	Change   string `json:"change"`
	Reason   string `json:"reason" validate:"max=4000"`
}

// SignOff is a unit head's decision on the exact draft named by its hash.
type SignOff struct {
	Decision    string `json:"decision" validate:"required,oneof=approve request_changes"`
	Comment     string `json:"comment" validate:"max=4000"`
	VersionHash string `json:"version_hash" validate:"required,len=64,hexadecimal"`
}

// Approval is the approver's decision on the signed-off draft.
type Approval struct {
	Decision      string `json:"decision" validate:"required,oneof=approve return"`
	Comment       string `json:"comment" validate:"max=4000"`
	EffectiveFrom string `json:"effective_from" validate:"required_if=Decision approve,omitempty,datetime=2006-01-02"`
}

// DecodeOutcome reads an outcome strictly: unknown fields are refused, so a
// field such as a student's name cannot slip into the records. The struct is
// then checked against its validation tags.
func DecodeOutcome(raw json.RawMessage, v any) error {
	if err := check.Decode(raw, "the outcome", v); err != nil {
		return err
	}
	return check.Struct(v)
}

// problems collects rule violations so that one refusal names all of them.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return errors.New(strings.Join(p, "; "))
}

func sectionProblem(p *problems, field, section string, sections []string) {
	if !slices.Contains(sections, section) {
		p.addf("%s %q is not a section of the plan (sections: %s)", field, section, strings.Join(sections, ", "))
	}
}

// unitSectionProblem is sectionProblem for what a unit says (findings,
// feedback items): a section of the plan, or the unit's own annex, never
// another unit's.
func unitSectionProblem(p *problems, field, section string, sections []string, unit string) {
	other, ok := AnnexUnit(section)
	switch {
	case !ok:
		sectionProblem(p, field, section, sections)
	case unit == "":
		p.addf("%s %q is a unit's annex, which only that unit's findings and feedback may point at", field, section)
	case other != unit:
		p.addf("%s %q is the annex of unit %s: a unit's findings and feedback may point at the plan's sections and its own annex (%s) only", field, section, other, AnnexKey(unit))
	}
}

// draftSectionProblem is sectionProblem for a draft's changes: a section of
// the plan, or the annex of any unit of the provider.
func draftSectionProblem(p *problems, field, section string, sections []string, units []Unit) {
	unit, ok := AnnexUnit(section)
	if !ok {
		sectionProblem(p, field, section, sections)
		return
	}
	if !slices.ContainsFunc(units, func(u Unit) bool { return u.Code == unit }) {
		codes := make([]string, len(units))
		for i, u := range units {
			codes[i] = u.Code
		}
		p.addf("%s %q is the annex of %s, which is not a unit of the provider (units: %s)", field, section, unit, strings.Join(codes, ", "))
	}
}

// Check applies the rules a unit's evaluation must meet beyond its tags: at
// least one indicator or finding, known sections (or the unit's own annex,
// "annex/UNIT", never another unit's), unique finding IDs that do not clash
// with the unit's feedback items (taken), ratings only for changes of the
// previous cycle, each of which needs one, and every indicator of the
// catalogue (the unit's view of it, Catalogue.ForUnit) reported once, with a
// value or as not measured with a reason. With an empty catalogue only free
// indicators are allowed, as before catalogues.
func (e Evaluation) Check(sections, previousChanges, taken []string, unit string, catalogue Catalogue) error {
	var p problems
	if len(e.Indicators) == 0 && len(e.Findings) == 0 {
		p.addf("an evaluation needs at least one indicator or finding")
	}
	checkIndicators(&p, e.Indicators, catalogue)
	seen := map[string]bool{}
	for i, f := range e.Findings {
		unitSectionProblem(&p, fmt.Sprintf("findings[%d].section", i), f.Section, sections, unit)
		if seen[f.ID] {
			p.addf("findings[%d].id %q is used twice", i, f.ID)
		}
		seen[f.ID] = true
		if slices.Contains(taken, f.ID) {
			p.addf("findings[%d].id %q is already used by a feedback item of this unit", i, f.ID)
		}
	}
	rated := map[string]bool{}
	for i, r := range e.Effectiveness {
		if !slices.Contains(previousChanges, r.ChangeID) {
			p.addf("effectiveness[%d].change_id %q is not a change of the previous cycle", i, r.ChangeID)
		}
		if rated[r.ChangeID] {
			p.addf("effectiveness[%d].change_id %q is rated twice", i, r.ChangeID)
		}
		rated[r.ChangeID] = true
	}
	for _, id := range previousChanges {
		if !rated[id] {
			p.addf("effectiveness has no rating for change %q of the previous cycle", id)
		}
	}
	return p.err()
}

// IDs lists the finding IDs.
func (e Evaluation) IDs() []string {
	ids := make([]string, len(e.Findings))
	for i, f := range e.Findings {
		ids[i] = f.ID
	}
	return ids
}

// Check applies the rules a consultation must meet beyond its tags: known
// sections (or the unit's own annex, as for findings) and unique item IDs
// that do not clash with the unit's findings.
func (c Consultation) Check(sections, taken []string, unit string) error {
	var p problems
	seen := map[string]bool{}
	for i, f := range c.Feedback {
		unitSectionProblem(&p, fmt.Sprintf("feedback[%d].section", i), f.Section, sections, unit)
		if seen[f.ID] {
			p.addf("feedback[%d].id %q is used twice", i, f.ID)
		}
		seen[f.ID] = true
		if slices.Contains(taken, f.ID) {
			p.addf("feedback[%d].id %q is already used by a finding of this unit", i, f.ID)
		}
	}
	return p.err()
}

// IDs lists the feedback item IDs.
func (c Consultation) IDs() []string {
	ids := make([]string, len(c.Feedback))
	for i, f := range c.Feedback {
		ids[i] = f.ID
	}
	return ids
}

// Check applies the rules a draft must meet: changes name known sections or
// the annex of one of the provider's units ("annex/UNIT", which the change
// creates if the unit has none), one change per section, unique change IDs,
// references to items that exist; every major finding and every feedback
// item has exactly one disposition; addressed names a change of this draft;
// deferred and rejected give a reason.
func (d Draft) Check(sections []string, items []Item, units []Unit) error {
	var p problems
	known := func(ref string) bool {
		return slices.ContainsFunc(items, func(it Item) bool { return it.Ref == ref })
	}
	changeIDs := map[string]bool{}
	changedSection := map[string]string{}
	for i, c := range d.Changes {
		draftSectionProblem(&p, fmt.Sprintf("changes[%d].section", i), c.Section, sections, units)
		if changeIDs[c.ID] {
			p.addf("changes[%d].id %q is used twice", i, c.ID)
		}
		changeIDs[c.ID] = true
		if other, ok := changedSection[c.Section]; ok {
			p.addf("section %q is changed twice (changes %q and %q): give its whole new wording in one change", c.Section, other, c.ID)
		} else {
			changedSection[c.Section] = c.ID
		}
		for j, ref := range c.Addresses {
			if !known(ref) {
				p.addf("changes[%d].addresses[%d] %q is not a finding or feedback item of this cycle", i, j, ref)
			}
		}
	}
	disposed := map[string]bool{}
	for i, ds := range d.Dispositions {
		if !known(ds.Item) {
			p.addf("dispositions[%d].item %q is not a finding or feedback item of this cycle", i, ds.Item)
		}
		if disposed[ds.Item] {
			p.addf("dispositions[%d].item %q has a second disposition", i, ds.Item)
		}
		disposed[ds.Item] = true
		switch ds.Decision {
		case DecisionAddressed:
			if ds.Change == "" {
				p.addf("dispositions[%d] for %q is addressed but names no change", i, ds.Item)
			} else if !changeIDs[ds.Change] {
				p.addf("dispositions[%d] for %q names change %q, which this draft does not have", i, ds.Item, ds.Change)
			}
		case DecisionDeferred, DecisionRejected:
			if strings.TrimSpace(ds.Reason) == "" {
				p.addf("dispositions[%d] for %q is %s and needs a reason", i, ds.Item, ds.Decision)
			}
		}
	}
	var missing []string
	for _, it := range items {
		if it.NeedsDisposition() && !disposed[it.Ref] {
			missing = append(missing, it.Ref)
		}
	}
	if len(missing) > 0 {
		p.addf("these need a disposition (every major finding and every feedback item): %s", strings.Join(missing, ", "))
	}
	return p.err()
}

// CheckCoverage applies the rules of the draft's coverage of the cycle's
// legal-content checklist (see CheckCoverage); a cycle without a checklist
// takes no coverage.
func (d Draft) CheckCoverage(checklist []ChecklistItem, sections []string, reasonsAllowed bool) error {
	var p problems
	if len(checklist) == 0 {
		if len(d.Coverage) > 0 {
			p.addf("this cycle has no legal-content checklist, so the draft takes no coverage")
		}
		return p.err()
	}
	CheckCoverage(&p, checklist, d.Coverage, sections, reasonsAllowed)
	return p.err()
}

// Check applies the rules of a sign-off: it names the current draft's hash,
// and a request for changes says what should change.
func (s SignOff) Check(draftHash string) error {
	var p problems
	if s.VersionHash != draftHash {
		p.addf("version_hash %s is not the current draft's (%s): read the draft again with 'task show' and sign what it shows", s.VersionHash, draftHash)
	}
	if s.Decision == DecisionRequestChanges && strings.TrimSpace(s.Comment) == "" {
		p.addf("request_changes needs a comment saying what should change")
	}
	return p.err()
}

// Check applies the rules of an approval: a return says why.
func (a Approval) Check() error {
	if a.Decision == DecisionReturn && strings.TrimSpace(a.Comment) == "" {
		return errors.New("return needs a comment saying what should change")
	}
	return nil
}
