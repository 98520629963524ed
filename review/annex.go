package review

import (
	"slices"
	"strings"
)

// Annex is a unit's own part of the plan: the unit's arrangements (its
// welfare group, its contacts, its local practices) beside the sections the
// whole provider shares. A unit has at most one annex.
type Annex struct {
	Unit  string `json:"unit"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

// AnnexPrefix starts the section key by which findings, feedback items and
// changes name a unit's annex: "annex/NORTH". Section keys are codes, which
// cannot hold a slash, so an annex key never collides with a section's.
const AnnexPrefix = "annex/"

// AnnexKey is the section key of the unit's annex.
func AnnexKey(unit string) string { return AnnexPrefix + unit }

// AnnexUnit returns the unit whose annex the section key names, and whether
// it names an annex at all.
func AnnexUnit(section string) (string, bool) {
	unit, ok := strings.CutPrefix(section, AnnexPrefix)
	return unit, ok && unit != ""
}

// AnnexTitle is the title an annex gets when nobody gave it one: "North
// Campus annex".
func AnnexTitle(u Unit) string {
	name := u.Name
	if name == "" {
		name = u.Code
	}
	return name + " annex"
}

// Annex returns the unit's annex, if the content has one.
func (c PlanContent) Annex(unit string) (Annex, bool) {
	i := slices.IndexFunc(c.Annexes, func(a Annex) bool { return a.Unit == unit })
	if i < 0 {
		return Annex{}, false
	}
	return c.Annexes[i], true
}

// Parts lists the content as the sections a reader compares: the sections,
// then each annex as a section keyed "annex/UNIT" with its title. Diffs and
// lookups by section key go through it, so an annex is found, compared and
// traced as a section is.
func (c PlanContent) Parts() []SectionText {
	out := make([]SectionText, 0, len(c.Sections)+len(c.Annexes))
	out = append(out, c.Sections...)
	for _, a := range c.Annexes {
		out = append(out, SectionText{Key: AnnexKey(a.Unit), Title: a.Title, Text: a.Text})
	}
	return out
}

// Text returns the wording of a section or annex, by section key, and
// whether the content has it.
func (c PlanContent) Text(key string) (string, bool) {
	for _, p := range c.Parts() {
		if p.Key == key {
			return p.Text, true
		}
	}
	return "", false
}

// cloneAnnexes copies the annexes, so that content derived from c never
// shares its backing array (nil stays nil, which keeps the hash).
func (c PlanContent) cloneAnnexes() []Annex {
	if len(c.Annexes) == 0 {
		return nil
	}
	return slices.Clone(c.Annexes)
}

// setAnnex sets the unit's annex text, creating the annex, in unit code
// order, when the unit has none.
func (c *PlanContent) setAnnex(unit, text string, units []Unit) {
	for i := range c.Annexes {
		if c.Annexes[i].Unit == unit {
			c.Annexes[i].Text = text
			return
		}
	}
	u := Unit{Code: unit}
	if i := slices.IndexFunc(units, func(u Unit) bool { return u.Code == unit }); i >= 0 {
		u = units[i]
	}
	c.Annexes = append(c.Annexes, Annex{Unit: unit, Title: AnnexTitle(u), Text: text})
	slices.SortFunc(c.Annexes, func(a, b Annex) int { return strings.Compare(a.Unit, b.Unit) })
}

// SignOffMeaning is the meaning a unit head's sign-off records, in words.
// The signature is bound to the hash of the whole draft, but a unit head
// answers for the common part and their own unit's annex, not for other
// units' arrangements: when the draft has annexes, the meaning says so. A
// draft without annexes keeps the meaning sign-offs always had ("approved
// for unit NORTH"). schema/009_plan_import.sql holds the database to the
// same words.
func SignOffMeaning(decision, unit string, draft PlanContent) string {
	meaning := "approved for unit " + unit
	if decision == DecisionRequestChanges {
		meaning = "changes requested for unit " + unit
	}
	switch _, ok := draft.Annex(unit); {
	case len(draft.Annexes) == 0:
		return meaning
	case ok:
		return meaning + ": the common part and " + unit + "'s annex"
	default:
		return meaning + ": the common part (" + unit + " has no annex)"
	}
}
