package review

import (
	"fmt"
	"slices"
	"strings"
)

// ChecklistItem is content the plan must cover, tied to the section where
// it is expected. A provider's checklist is in its cycle configuration
// (Config.Checklist); without one, a cycle takes DefaultChecklist.
type ChecklistItem struct {
	ID      string `json:"id" validate:"required,code"`
	Section string `json:"section" validate:"required,max=64"`
	// FI and EN say what must be covered, in Finnish and English.
	FI string `json:"fi" validate:"required,max=500"`
	EN string `json:"en" validate:"required,max=500"`
}

// DefaultChecklist is the content section 13 of the Student Welfare Act
// (oppilas- ja opiskelijahuoltolaki 1287/2013, as amended by 377/2022)
// requires of an education provider's student welfare plan, each item tied
// to the default section that covers it.
var DefaultChecklist = []ChecklistItem{
	{ID: "need_and_services", Section: "welfare_need",
		FI: "Opiskeluhuollon kokonaistarve ja käytettävissä olevat opiskeluhuollon palvelut",
		EN: "The overall need for student welfare and the student welfare services available"},
	{ID: "communal_practices", Section: "communal",
		FI: "Yhteisöllinen opiskeluhuolto ja sen toimintatavat",
		EN: "Communal student welfare and its practices"},
	{ID: "violence_bullying", Section: "communal",
		FI: "Opiskelijoiden suojaaminen väkivallalta, kiusaamiselta ja häirinnältä",
		EN: "Protecting students from violence, bullying and harassment"},
	{ID: "crises_threats", Section: "communal",
		FI: "Toiminta äkillisissä kriisi- ja uhkatilanteissa",
		EN: "Acting in sudden crises and threatening situations"},
	{ID: "individual", Section: "individual",
		FI: "Yksilökohtaisen opiskeluhuollon järjestäminen",
		EN: "How individual student welfare is arranged"},
	{ID: "cooperation", Section: "cooperation",
		FI: "Yhteistyö opiskelijoiden ja huoltajien sekä hyvinvointialueen kanssa",
		EN: "Cooperation with students and guardians, and with the wellbeing services county"},
	{ID: "implementation", Section: "monitoring",
		FI: "Suunnitelman toteuttaminen ja seuranta",
		EN: "How the plan is implemented and followed up"},
}

// Coverage says where a draft covers a checklist item: the section (or
// annex) and, in Note, where in it. An item the configuration lets a draft
// leave uncovered has no section and a Reason instead.
type Coverage struct {
	Item    string `json:"item" validate:"required,code"`
	Section string `json:"section" validate:"max=64"`
	Note    string `json:"note" validate:"max=1000"`
	Reason  string `json:"reason" validate:"max=4000"`
}

// CheckCoverage applies the rules of a draft's coverage of the checklist:
// every item covered once, in a section of the plan; an item left uncovered
// only with a reason, and only where the configuration allows it
// (reasonsAllowed). Unknown items are refused.
func CheckCoverage(p *problems, checklist []ChecklistItem, coverage []Coverage, sections []string, reasonsAllowed bool) {
	known := map[string]bool{}
	for _, it := range checklist {
		known[it.ID] = true
	}
	covered := map[string]bool{}
	for i, c := range coverage {
		switch {
		case !known[c.Item]:
			p.addf("coverage[%d].item %q is not on the checklist (%s)", i, c.Item, strings.Join(checklistIDs(checklist), ", "))
			continue
		case covered[c.Item]:
			p.addf("coverage[%d].item %q is covered twice", i, c.Item)
		case c.Section == "" && strings.TrimSpace(c.Reason) == "":
			p.addf("coverage[%d] for %q names no section and gives no reason", i, c.Item)
		case c.Section == "" && !reasonsAllowed:
			p.addf("coverage[%d]: %q is left uncovered, but this provider's configuration requires every checklist item to be covered (checklist_reasons is off)", i, c.Item)
		case c.Section != "":
			sectionProblem(p, fmt.Sprintf("coverage[%d].section", i), c.Section, sections)
		}
		covered[c.Item] = true
	}
	var missing []string
	for _, it := range checklist {
		if !covered[it.ID] {
			missing = append(missing, fmt.Sprintf("%s (%s)", it.ID, it.EN))
		}
	}
	if len(missing) > 0 {
		p.addf("the legal-content checklist is not covered: say where the plan covers %s", strings.Join(missing, "; "))
	}
}

func checklistIDs(checklist []ChecklistItem) []string {
	ids := make([]string, len(checklist))
	for i, it := range checklist {
		ids[i] = it.ID
	}
	return ids
}

// checkChecklist refuses a checklist with an item twice.
func checkChecklist(checklist []ChecklistItem) error {
	var p problems
	for i, it := range checklist {
		if slices.ContainsFunc(checklist[:i], func(o ChecklistItem) bool { return o.ID == it.ID }) {
			p.addf("checklist[%d].id %q is used twice", i, it.ID)
		}
	}
	return p.err()
}

// CoveredItem is a checklist item with where a draft covered it, as the
// sign-off and approval tasks, the report and the handbook show it.
type CoveredItem struct {
	ID string `json:"id"`
	FI string `json:"fi"`
	EN string `json:"en"`
	// Expected is the section the checklist expects the item in; Section
	// is where the draft says it is covered ("" when it is not), Note where
	// in it, and Reason why an item is left uncovered.
	Expected string `json:"expected"`
	Section  string `json:"section,omitempty"`
	Note     string `json:"note,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Covered joins the checklist with a draft's coverage, in checklist order.
func Covered(checklist []ChecklistItem, coverage []Coverage) []CoveredItem {
	out := make([]CoveredItem, len(checklist))
	for i, it := range checklist {
		out[i] = CoveredItem{ID: it.ID, FI: it.FI, EN: it.EN, Expected: it.Section}
		if j := slices.IndexFunc(coverage, func(c Coverage) bool { return c.Item == it.ID }); j >= 0 {
			out[i].Section, out[i].Note, out[i].Reason = coverage[j].Section, coverage[j].Note, coverage[j].Reason
		}
	}
	return out
}
