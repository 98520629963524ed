package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oho-dev/oho/review"
)

// What the demo's participants write: the fictional college's indicator
// catalogue, and the evaluations, consultations and drafts of its first two
// cycles. Year 0 is the demo's first cycle, year 1 the next.

func figure(v float64) *float64 { return &v }

// demoCatalogue is the college's indicator catalogue: the three indicators
// its plan's monitoring section names. Harbour Campus, whose students are
// mostly adults at work, has its own target for absences.
var demoCatalogue = review.Catalogue{
	{Code: "WELLBEING", NameFI: "Hyvinvointi koulussa (kouluterveyskysely)", NameEN: "Wellbeing at school (school health survey)",
		UnitOfMeasure: "score 1-5", Target: figure(4)},
	{Code: "ABSENCES", NameFI: "Selvittämättömät poissaolot", NameEN: "Unexplained absences",
		UnitOfMeasure: "% of lessons", Better: review.BetterLower, Target: figure(5),
		UnitTargets: []review.UnitTarget{{Unit: "HARBOUR", Target: figure(7)}}},
	{Code: "DROPOUT", NameFI: "Keskeyttäneiden osuus", NameEN: "Students who drop out",
		UnitOfMeasure: "%", Better: review.BetterLower, Target: figure(8)},
}

// demoConfig is the config of the demo's cycles: short deadlines, and the
// catalogue. In the first year evaluations are due in seconds, so that one
// left undone is seen going overdue and being escalated; in the second
// every task is done in time.
func demoConfig(first bool) review.Config {
	evaluate := 20 * time.Minute
	if first {
		evaluate = 4 * time.Second
	}
	return review.Config{
		Phases: review.PhaseDurations{
			Evaluate: review.Duration(evaluate),
			Consult:  review.Duration(20 * time.Minute),
			Update:   review.Duration(10 * time.Minute),
			SignOff:  review.Duration(10 * time.Minute),
			Approve:  review.Duration(10 * time.Minute),
		},
		Reminders:  review.Reminders{Before: review.Duration(2 * time.Second), Every: review.Duration(time.Minute)},
		MaxRounds:  3,
		Indicators: demoCatalogue,
	}
}

// demoValues are the catalogue's values per year, unit and code; a value
// missing is "not measured" (demoNotMeasured says why).
var demoValues = []map[string]map[string]float64{
	{
		"NORTH":   {"WELLBEING": 3.6, "ABSENCES": 6.5, "DROPOUT": 9.5},
		"HARBOUR": {"WELLBEING": 3.9, "ABSENCES": 7.5, "DROPOUT": 7},
		"FOREST":  {"WELLBEING": 4.1, "ABSENCES": 5.5},
	},
	{
		"NORTH":   {"WELLBEING": 3.9, "ABSENCES": 4.8, "DROPOUT": 8.5},
		"HARBOUR": {"WELLBEING": 4.1, "ABSENCES": 6.9, "DROPOUT": 6.5},
		"FOREST":  {"WELLBEING": 4, "ABSENCES": 5.2, "DROPOUT": 7.8},
	},
}

const demoNotMeasured = "The student register moved to a new system in the middle of the year; the drop-out figure would not be comparable."

// demoEvaluation is a unit's evaluation in the demo's year: every catalogue
// indicator the task asks for (and, at North, one of its own), the year's
// findings, and ratings of the previous cycle's changes.
func demoEvaluation(year int, in review.EvaluateInput) review.Evaluation {
	var e review.Evaluation
	values := demoValues[min(year, len(demoValues)-1)][in.Unit]
	for _, ind := range in.Indicators {
		if v, ok := values[ind.Code]; ok {
			e.Indicators = append(e.Indicators, review.Indicator{Code: ind.Code, Value: figure(v)})
		} else {
			e.Indicators = append(e.Indicators, review.Indicator{Code: ind.Code, NotMeasured: true, Reason: demoNotMeasured})
		}
	}
	if in.Unit == "NORTH" {
		e.Indicators = append(e.Indicators, review.Indicator{Name: "Incidents in the workshop halls reported to group tutors",
			Value: figure(14 - 5*float64(year)), Target: figure(10), Unit: "per term", Better: review.BetterLower})
	}
	if year == 0 {
		e.Findings = []review.Finding{
			{ID: "F1", Section: "communal", Severity: review.SeverityMajor,
				Text:           "Break-time supervision does not reach the workshop halls of " + in.Unit + ".",
				Recommendation: "Add the workshop halls to the supervision rota."},
			{ID: "F2", Section: "monitoring", Severity: review.SeverityMinor,
				Text: "Absence figures reach the welfare group two months late."},
		}
	} else {
		e.Findings = []review.Finding{
			{ID: "F1", Section: "common_practices", Severity: review.SeverityMajor,
				Text:           "Group tutors at " + in.Unit + " follow up absences at different thresholds: the shared rule of three unexplained absences a month is not applied everywhere.",
				Recommendation: "Make the rule part of every group tutor's induction."},
			{ID: "F2", Section: "monitoring", Severity: review.SeverityInfo,
				Text: "This year the absence figures reached the welfare group within a month."},
		}
		if in.Annex != "" && in.Unit == "NORTH" {
			e.Findings = append(e.Findings, review.Finding{ID: "F3", Section: in.Annex, Severity: review.SeverityMajor,
				Text:           "The annex does not say who supervises breaks in the workshop halls now that the rota covers them, nor whom students turn to there.",
				Recommendation: "Write the halls' supervisors and contact details into North Campus's annex."})
		}
	}
	for n, id := range in.PreviousChanges {
		r := review.Effectiveness{ChangeID: id, Rating: "effective", Note: "Seen in this year's figures."}
		if n == 0 {
			switch in.Unit {
			case "NORTH":
				r.Rating, r.Note = "not_effective", "The rota reaches the halls, but students there still do not know who is on duty."
			case "FOREST":
				r.Rating, r.Note = "partly", "Works in the main building; the temporary rooms have no rota yet."
			}
		}
		e.Effectiveness = append(e.Effectiveness, r)
	}
	return e
}

// demoConsultation is what a unit's students said in the demo's year.
func demoConsultation(year, i, calendarYear int) review.Consultation {
	methods := []string{"council", "survey", "workshop"}
	text := "It is hard to find out when the counsellor is available."
	if year > 0 {
		text = "Students would like to book the counsellor and the psychologist online."
	}
	return review.Consultation{
		Method: methods[i%len(methods)], Participants: 12 + 40*i, HeldOn: fmt.Sprintf("%d-03-1%d", calendarYear, i),
		Feedback: []review.FeedbackItem{{ID: "S1", Section: "individual", Text: text}},
	}
}

// demoDraft answers every item that needs it — majors, feedback, and what
// an earlier cycle deferred — with one change per section, which adds a
// paragraph to the section's text; with deferForest, Forest Campus's new
// feedback is deferred with a reason instead. It says where the plan covers
// each item of the checklist, and a later round answers the requests for
// changes.
func demoDraft(in review.DraftInput, year int, deferForest bool) review.Draft {
	var d review.Draft
	keys := in.Plan.Keys()
	for _, it := range in.Checklist {
		section := it.Section
		if !slices.Contains(keys, section) {
			section = keys[0]
		}
		note, ok := demoCoverage[it.ID]
		if !ok {
			note = "See the section's text."
		}
		d.Coverage = append(d.Coverage, review.Coverage{Item: it.ID, Section: section, Note: note})
	}
	changeFor := map[string]int{}
	for _, it := range in.Items {
		if !it.NeedsDisposition() {
			continue
		}
		if deferForest && it.From == 0 && strings.HasPrefix(it.Ref, "FOREST/") && it.Kind == review.ItemFeedback {
			d.Dispositions = append(d.Dispositions, review.Disposition{Item: it.Ref, Decision: review.DecisionDeferred,
				Reason: "Forest Campus moves to new premises next year; its counselling hours are planned with the move."})
			continue
		}
		n, ok := changeFor[it.Section]
		if !ok {
			n = len(d.Changes)
			changeFor[it.Section] = n
			current, _ := in.Plan.Text(it.Section)
			d.Changes = append(d.Changes, review.Change{ID: fmt.Sprintf("C%d", n+1), Section: it.Section,
				Text:      addParagraph(current, it.Section, year),
				Rationale: fmt.Sprintf("Answers the %d evaluation and student feedback.", year)})
		}
		d.Changes[n].Addresses = append(d.Changes[n].Addresses, it.Ref)
		d.Dispositions = append(d.Dispositions, review.Disposition{Item: it.Ref, Decision: review.DecisionAddressed, Change: d.Changes[n].ID})
	}
	if len(in.Comments) > 0 {
		for i := range d.Changes {
			if d.Changes[i].Section == "communal" {
				d.Changes[i].Text += "\n\n" + demoRotaOwner
				d.Changes[i].Rationale += " Round " + fmt.Sprint(in.Round) + " answers: " + in.Comments[0].Text
			}
		}
	}
	return d
}

// demoCoverage says where in its section the demo plan covers each item of
// the default checklist.
var demoCoverage = map[string]string{
	"need_and_services":  "The need from the school health survey and absences; the services and who provides them.",
	"communal_practices": "The campus welfare groups, their meetings and the break supervision rota.",
	"violence_bullying":  "Second paragraph: reported to the group tutor the same day, handled within three working days.",
	"crises_threats":     "Second paragraph: the campus crisis plan, and the crisis team meets within an hour.",
	"individual":         "Consent, self-referral, waiting times, the multidisciplinary group and the records.",
	"cooperation":        "The student council, surveys and workshops; guardians of students under 18; the wellbeing services county.",
	"implementation":     "The yearly evaluation in OHO and the indicators followed.",
}

// addParagraph adds to a section's text the first of its demo paragraphs
// the text does not have yet (an earlier run of the demo may have added
// some), or a line saying the section was reviewed.
func addParagraph(current, section string, year int) string {
	add := fmt.Sprintf("Tarkistettu vuoden %d arvioinnin perusteella. / Reviewed after the %d evaluation.", year, year)
	for _, p := range demoParagraphs[section] {
		if !strings.Contains(current, p) {
			add = p
			break
		}
	}
	if current == "" {
		return add
	}
	return current + "\n\n" + add
}

// demoParagraphs are what the drafts add to each section, in Finnish and
// English as the plan is written.
var demoParagraphs = map[string][]string{
	"communal": {
		"Välituntivalvonnan vuorolista kattaa myös työpajahallit: jokaisella välitunnilla valvoo kaksi aikuista. / " +
			"The break supervision rota also covers the workshop halls: two adults supervise every break.",
	},
	"individual": {
		"Terveydenhoitajan, kuraattorin ja psykologin vastaanottoajat julkaistaan viikoittain jokaisen kampuksen ilmoitustaululla ja intrassa. / " +
			"The nurse's, counsellor's and psychologist's hours are posted every week on each campus's notice board and intranet.",
		"Kuraattorin ja psykologin ajan voi varata verkossa; Metsäkampuksen vastaanotot pidetään muuton ajan samoissa väistötilojen huoneissa. / " +
			"The counsellor and the psychologist can be booked online; Forest Campus's appointments are held in the same temporary rooms throughout the move.",
	},
	"common_practices": {
		"Poissaolojen yhteinen seurantasääntö käydään läpi jokaisen ryhmänohjaajan perehdytyksessä, ja kampus tarkistaa kuukausittain, että sitä noudatetaan. / " +
			"The shared rule for following up absences is part of every group tutor's induction, and each campus checks monthly that it is applied.",
	},
	"annex/NORTH": {
		"Työpajahallien välitunneilla valvovat hallimestari ja vuorolistan mukainen opettaja; heidän yhteystietonsa ovat hallien ilmoitustaululla. / " +
			"At breaks in the workshop halls the hall master and a teacher from the rota supervise; their contact details are on the halls' notice board.",
	},
}

const demoRotaOwner = "Kunkin kampuksen johtaja nimeää vuorolistan vastuuhenkilön lukukauden alussa. / " +
	"Each campus head names the owner of the rota at the start of the term."
