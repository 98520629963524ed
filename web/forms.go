package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/oho-dev/oho/review"
)

// The task forms work as plain HTML forms: each row of a list is a group of
// fields named after its place ("f-2-text"), empty rows are left out, and a
// button adds a row by showing the form again. What a person typed is kept
// as typed, so that a refusal shows it back unchanged.

// maxRows bounds the rows a form shows, whatever a request asks for.
const maxRows = 50

// indicatorRow is one indicator of the catalogue as the evaluation form
// shows it, with what was typed.
type indicatorRow struct {
	review.CatalogueIndicator
	Value       string
	NotMeasured bool
	Reason      string
}

type findingRow struct {
	Section, Severity, Text, Recommendation string
}

type ratingRow struct {
	ChangeID, Rating, Note string
}

// evalForm is the evaluate task's form.
type evalForm struct {
	Indicators    []indicatorRow
	Findings      []findingRow
	Ratings       []ratingRow
	Sections      []review.Section
	Severities    []string
	RatingChoices []string
	Errors        map[string]*fieldErr
	// used maps the outcome's lists to the form's rows: used[i] is the row
	// of the outcome's findings[i].
	usedFindings []int
}

func newEvalForm(in review.EvaluateInput, findings int) *evalForm {
	f := &evalForm{
		Sections:      sectionsOf(in.Sections, in.Annex, in.Unit),
		Severities:    []string{review.SeverityMajor, review.SeverityMinor, review.SeverityInfo},
		RatingChoices: []string{"effective", "partly", "not_effective"},
		Findings:      make([]findingRow, findings),
	}
	for _, c := range in.Indicators {
		f.Indicators = append(f.Indicators, indicatorRow{CatalogueIndicator: c})
	}
	for _, id := range in.PreviousChanges {
		f.Ratings = append(f.Ratings, ratingRow{ChangeID: id})
	}
	return f
}

// sectionsOf lists the sections a unit's findings may point at: the plan's,
// and the unit's own annex.
func sectionsOf(sections []review.Section, annex, unit string) []review.Section {
	out := append([]review.Section{}, sections...)
	if annex != "" {
		out = append(out, review.Section{Key: annex, Title: "Annex " + unit})
	}
	return out
}

// rowCount reads how many rows a list of the form has, one more when the
// "add a row" button was pressed.
func rowCount(r *http.Request, name string, least int) int {
	n, err := strconv.Atoi(r.PostForm.Get(name))
	if err != nil || n < least {
		n = least
	}
	if r.PostForm.Get("action") == "more" {
		n++
	}
	return min(n, maxRows)
}

func readEvalForm(in review.EvaluateInput, r *http.Request) *evalForm {
	f := newEvalForm(in, rowCount(r, "findings", 1))
	get := func(format string, args ...any) string {
		return strings.TrimSpace(r.PostForm.Get(fmt.Sprintf(format, args...)))
	}
	for i := range f.Indicators {
		f.Indicators[i].Value = get("ind-%d-value", i)
		f.Indicators[i].NotMeasured = get("ind-%d-nm", i) != ""
		f.Indicators[i].Reason = get("ind-%d-reason", i)
	}
	for i := range f.Findings {
		f.Findings[i] = findingRow{Section: get("f-%d-section", i), Severity: get("f-%d-severity", i),
			Text: get("f-%d-text", i), Recommendation: get("f-%d-rec", i)}
	}
	for i := range f.Ratings {
		f.Ratings[i].Rating, f.Ratings[i].Note = get("r-%d-rating", i), get("r-%d-note", i)
	}
	return f
}

// number reads a number as people type it, with a decimal comma or point.
func number(s string) (*float64, bool) {
	if s == "" {
		return nil, true
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", "."), 64)
	if err != nil {
		return nil, false
	}
	return &v, true
}

// check finds what the form itself can tell is wrong before the rules see
// it: a value that is not a number.
func (f *evalForm) check(w words) []problem {
	var out []problem
	for i, r := range f.Indicators {
		if _, ok := number(r.Value); !ok {
			out = append(out, problem{Field: fmt.Sprintf("ind-%d-value", i), Text: w.T("form.not_number", "Value", r.Value)})
		}
	}
	return out
}

// outcome is the evaluation the form holds. A finding row with nothing but
// a default severity is empty and left out; findings are numbered F1, F2, …
// in the order they are given.
func (f *evalForm) outcome() review.Evaluation {
	var e review.Evaluation
	for _, r := range f.Indicators {
		ind := review.Indicator{Code: r.Code, NotMeasured: r.NotMeasured, Reason: r.Reason}
		if v, ok := number(r.Value); ok {
			ind.Value = v
		} else {
			// Not a number: the rules refuse the indicator for having no
			// value, and the form says why next to the field.
			ind.Value = nil
		}
		e.Indicators = append(e.Indicators, ind)
	}
	f.usedFindings = nil
	for i, r := range f.Findings {
		if r.Section == "" && r.Text == "" && r.Recommendation == "" {
			continue
		}
		f.usedFindings = append(f.usedFindings, i)
		e.Findings = append(e.Findings, review.Finding{ID: fmt.Sprintf("F%d", len(e.Findings)+1), Section: r.Section,
			Severity: r.Severity, Text: r.Text, Recommendation: r.Recommendation})
	}
	for _, r := range f.Ratings {
		e.Effectiveness = append(e.Effectiveness, review.Effectiveness{ChangeID: r.ChangeID, Rating: r.Rating, Note: r.Note})
	}
	return e
}

// formField names the form field a problem of the outcome concerns, "" when
// it concerns none in particular.
func (f *evalForm) formField(text string) string {
	list, i, field := problemPath(text)
	switch list {
	case "indicators":
		if i < 0 || i >= len(f.Indicators) {
			return ""
		}
		if field == "reason" || strings.Contains(text, "needs a reason") {
			return fmt.Sprintf("ind-%d-reason", i)
		}
		return fmt.Sprintf("ind-%d-value", i)
	case "findings":
		if i < 0 || i >= len(f.usedFindings) {
			return ""
		}
		row := f.usedFindings[i]
		switch field {
		case "section", "severity", "text":
			return fmt.Sprintf("f-%d-%s", row, field)
		case "recommendation":
			return fmt.Sprintf("f-%d-rec", row)
		}
		return fmt.Sprintf("f-%d-text", row)
	case "effectiveness":
		if i >= 0 && i < len(f.Ratings) {
			return fmt.Sprintf("r-%d-rating", i)
		}
	}
	return ""
}

type feedbackRow struct {
	Section, Text string
}

// consultForm is the consult task's form.
type consultForm struct {
	Method, Participants, HeldOn string
	Feedback                     []feedbackRow
	Methods                      []string
	Sections                     []review.Section
	Errors                       map[string]*fieldErr
	usedFeedback                 []int
}

func newConsultForm(in review.ConsultInput, rows int) *consultForm {
	return &consultForm{Methods: in.Methods, Sections: sectionsOf(in.Sections, in.Annex, in.Unit), Feedback: make([]feedbackRow, rows)}
}

func readConsultForm(in review.ConsultInput, r *http.Request) *consultForm {
	f := newConsultForm(in, rowCount(r, "feedback", 1))
	get := func(format string, args ...any) string {
		return strings.TrimSpace(r.PostForm.Get(fmt.Sprintf(format, args...)))
	}
	f.Method, f.Participants, f.HeldOn = get("method"), get("participants"), get("held_on")
	for i := range f.Feedback {
		f.Feedback[i] = feedbackRow{Section: get("s-%d-section", i), Text: get("s-%d-text", i)}
	}
	return f
}

// check finds a count of participants that is not a whole number.
func (f *consultForm) check(w words) []problem {
	if _, err := strconv.Atoi(f.Participants); f.Participants != "" && err != nil {
		return []problem{{Field: "participants", Text: w.T("form.not_number", "Value", f.Participants)}}
	}
	return nil
}

func (f *consultForm) outcome() review.Consultation {
	c := review.Consultation{Method: f.Method, HeldOn: f.HeldOn, Feedback: []review.FeedbackItem{}}
	// A count that is not a whole number is left at zero, which the rules
	// refuse as missing, next to the field.
	c.Participants, _ = strconv.Atoi(f.Participants)
	f.usedFeedback = nil
	for i, r := range f.Feedback {
		if r.Section == "" && r.Text == "" {
			continue
		}
		f.usedFeedback = append(f.usedFeedback, i)
		c.Feedback = append(c.Feedback, review.FeedbackItem{ID: fmt.Sprintf("S%d", len(c.Feedback)+1), Section: r.Section, Text: r.Text})
	}
	return c
}

func (f *consultForm) formField(text string) string {
	list, i, field := problemPath(text)
	switch list {
	case "method", "participants", "held_on":
		return list
	case "feedback":
		if i < 0 || i >= len(f.usedFeedback) {
			return ""
		}
		if field == "section" {
			return fmt.Sprintf("s-%d-section", f.usedFeedback[i])
		}
		return fmt.Sprintf("s-%d-text", f.usedFeedback[i])
	}
	return ""
}
