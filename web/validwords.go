package web

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/service"
)

// The validation's messages in the reader's language. The service refuses
// invalid input with English sentences, the words of the command line and
// the API; the problems that package check found (a validator tag broken,
// JSON that does not read) come with it as facts (service.ProblemsOf), and
// a page says those in its own language with the messages valid.<tag> of
// the catalogs, naming the field by its label on the form. A refusal by the
// rules (a finding about a section the plan does not have, an item without
// a disposition) has no tag: its English sentence is shown, marked so.

// validMessages are the catalogs' messages of check's problems: one per
// tag, and per what a limit counts. A test checks both catalogs have each.
var validMessages = []string{
	"valid.required", "valid.required_without", "valid.required_if", "valid.oneof",
	"valid.min", "valid.min_characters", "valid.min_entries",
	"valid.max", "valid.max_characters", "valid.max_entries",
	"valid.len", "valid.len_characters", "valid.len_entries",
	"valid.gte", "valid.gte_characters", "valid.gte_entries",
	"valid.lte", "valid.lte_characters", "valid.lte_entries",
	"valid.gtefield", "valid.datetime", "valid.code", "valid.person", "valid.email", "valid.url", "valid.timezone",
	"valid.text_nul", "valid.text_utf8", "valid.text_control", "valid.duplicate_key",
	"valid.unique", "valid.hexadecimal", "valid.json", "valid.json_at", "valid.unknown_field", "valid.type",
}

// validKinds are the JSON types a TagType problem names, each a message
// valid.kind.<type>.
var validKinds = []string{"number", "string", "list", "object", "boolean"}

// validKey is the message that says a problem, "" for one the catalogs do
// not say: a problem without a tag (a rule's sentence), a tag without a
// message, a date in a layout other than YYYY-MM-DD.
func validKey(p check.Problem) string {
	key := "valid." + p.Tag
	switch p.Tag {
	case "":
		return ""
	case "min", "max", "len", "gte", "lte":
		if p.Counts != "" {
			key += "_" + p.Counts
		}
	case "datetime":
		if p.Param != time.DateOnly {
			return ""
		}
	case check.TagJSON:
		if p.Param != "" {
			key = "valid.json_at"
		}
	case check.TagText:
		key = "valid.text_" + p.Param
	}
	if !slices.Contains(validMessages, key) {
		return ""
	}
	return key
}

// sayProblem says a problem in the reader's words, the field named name
// (its label on the form, else its path), with no language to mark; or,
// for a problem the catalogs do not say, the service's English sentence,
// marked as English.
func sayProblem(w words, p check.Problem, name string) (text, lang string) {
	key := validKey(p)
	if key == "" {
		return p.Text, serviceLang
	}
	param, value := p.Param, p.Value
	switch p.Tag {
	case "oneof":
		param = strings.Join(strings.Fields(param), ", ")
	case check.TagType:
		param, value = kindWords(w, param), kindWords(w, value)
	}
	return w.T(key, "Field", name, "Param", param, "Other", p.Other, "Value", value), ""
}

// kindWords says a JSON type in the reader's words.
func kindWords(w words, kind string) string {
	if slices.Contains(validKinds, kind) {
		key := "valid.kind." + kind
		return w.T(key)
	}
	return kind
}

// saidProblems are the problems of a refusal as a form shows them: each
// next to the form field that field gives for its path, in the reader's
// words, its field named by name.
func saidProblems(w words, ps []check.Problem, field, name func(path string) string) []problem {
	out := make([]problem, 0, len(ps))
	for _, p := range ps {
		switch p.Tag {
		case "required_without", "required_if", "gtefield":
			// The other field is the problem's sibling: named as it is.
			if p.Other != "" {
				parent, _, ok := cutLast(p.Field, ".")
				if ok {
					p.Other = lowerFirst(name(parent + "." + p.Other))
				} else {
					p.Other = lowerFirst(name(p.Other))
				}
			}
		}
		text, lang := sayProblem(w, p, name(p.Field))
		out = append(out, problem{Field: field(p.Field), Text: text, Lang: lang})
	}
	return out
}

// outcomeProblems splits a refusal of a task's outcome into the problems
// its form shows: check's problems in the reader's words when the refusal
// has them, else the rules' sentences (problemsOf), in English. field maps
// a problem's path, or a sentence that starts with one, to its form field;
// label gives the form's label of the field a path names.
func outcomeProblems(w words, err error, field func(string) string, label func(words, string) string) []problem {
	if ps := service.ProblemsOf(err); len(ps) > 0 {
		return saidProblems(w, ps, field, namedBy(w, label, "outcome."))
	}
	var out []problem
	for _, text := range problemsOf(err) {
		out = append(out, problem{Field: field(text), Text: text, Lang: serviceLang})
	}
	return out
}

// namedBy names the field of a path by its label on the form, or, on a
// form that has none for it, by the path without the prefix all the form's
// paths share.
func namedBy(w words, label func(words, string) string, prefix string) func(string) string {
	return func(path string) string {
		if label != nil {
			if l := label(w, path); l != "" {
				return l
			}
		}
		if rest := strings.TrimPrefix(path, prefix); rest != "" {
			return rest
		}
		return path
	}
}

// cutLast cuts s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// inRow names a field of a row of a form: "Suunnitelman osa (havainto F1)".
func inRow(label, row string) string { return label + " (" + row + ")" }

// lowerFirst puts a row's title inside a sentence: "Havainto F1" becomes
// "havainto F1".
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

// label names the field of the evaluation a path names, as the form does.
func (f *evalForm) label(w words, path string) string {
	list, i, field := problemPath(path)
	switch list {
	case "indicators":
		if i < 0 || i >= len(f.Indicators) {
			return ""
		}
		row := f.Indicators[i].NameFI
		if w.Lang == render.English {
			row = f.Indicators[i].NameEN
		}
		switch field {
		case "value":
			return inRow(w.T("evaluate.value"), row)
		case "reason":
			return inRow(w.T("evaluate.reason"), row)
		}
	case "findings":
		if i < 0 || i >= len(f.usedFindings) {
			return ""
		}
		row := lowerFirst(w.T("evaluate.finding", "N", fmt.Sprintf("F%d", f.usedFindings[i]+1)))
		key := map[string]string{"section": "evaluate.section", "severity": "evaluate.severity", "text": "evaluate.text",
			"recommendation": "evaluate.recommendation"}[field]
		if key != "" {
			return inRow(w.T(key), row)
		}
	case "effectiveness":
		if i < 0 || i >= len(f.Ratings) {
			return ""
		}
		switch field {
		case "rating":
			return w.T("evaluate.rating", "Change", f.Ratings[i].ChangeID)
		case "note":
			return inRow(w.T("evaluate.note"), lowerFirst(w.T("evaluate.rating", "Change", f.Ratings[i].ChangeID)))
		}
	}
	return ""
}

// label names the field of the consultation a path names, as the form
// does.
func (f *consultForm) label(w words, path string) string {
	list, i, field := problemPath(path)
	switch list {
	case "method", "participants", "held_on":
		if i < 0 && field == "" {
			key := "consult." + list
			return w.T(key)
		}
	case "feedback":
		if i < 0 || i >= len(f.usedFeedback) {
			return ""
		}
		row := lowerFirst(w.T("consult.item", "N", fmt.Sprintf("S%d", f.usedFeedback[i]+1)))
		switch field {
		case "section":
			return inRow(w.T("evaluate.section"), row)
		case "text":
			return inRow(w.T("consult.said"), row)
		}
	}
	return ""
}

// label names the field of the draft a path names, as the form does.
func (f *draftForm) label(w words, path string) string {
	list, i, field := problemPath(path)
	switch list {
	case "changes":
		if i < 0 || i >= len(f.changeRows) {
			return ""
		}
		row := f.Sections[f.changeRows[i]].Title
		switch field {
		case "text":
			return inRow(w.T("draft.new_text"), row)
		case "rationale":
			return inRow(w.T("draft.rationale"), row)
		}
	case "dispositions":
		if i < 0 || i >= len(f.dispRows) {
			return ""
		}
		row := f.Items[f.dispRows[i]].Ref
		switch field {
		case "decision":
			return inRow(w.T("draft.decision"), row)
		case "change":
			return inRow(w.T("draft.by_change_of"), row)
		case "reason":
			return inRow(w.T("draft.reason"), row)
		}
	case "coverage":
		if i < 0 || i >= len(f.Checklist) {
			return ""
		}
		row := f.Checklist[i].ID
		switch field {
		case "section":
			return inRow(w.T("draft.covered_in"), row)
		case "note":
			return inRow(w.T("draft.where"), row)
		case "reason":
			return inRow(w.T("draft.uncovered_reason"), row)
		}
	}
	return ""
}

// label names the field of a sign-off or approval a path names, as the
// form does.
func (f *signingForm) label(w words, path string) string {
	list, i, field := problemPath(path)
	if i >= 0 || field != "" {
		return ""
	}
	switch list {
	case "decision", "comment", "effective_from":
		key := "signing." + list
		return w.T(key)
	}
	return ""
}

// configLabel names the field of a cycle's or schedule's request a path
// names, as the dashboard's forms do; a field deeper in the configuration
// than the forms' own fields is left to its path within the JSON.
func configLabel(w words, path string) string {
	key := map[string]string{
		"year": "dash.year", "month": "dash.schedule_month", "day": "dash.schedule_day", "hour": "dash.schedule_hour",
		"config":                  "dash.cfg_json",
		"config.phases.evaluate":  "dash.cfg_evaluate",
		"config.phases.consult":   "dash.cfg_consult",
		"config.phases.update":    "dash.cfg_update",
		"config.phases.signoff":   "dash.cfg_signoff",
		"config.phases.approve":   "dash.cfg_approve",
		"config.reminders.before": "dash.cfg_before",
		"config.reminders.every":  "dash.cfg_every",
		"config.max_rounds":       "dash.cfg_max_rounds",
	}[path]
	if key == "" {
		return ""
	}
	return w.T(key)
}

// jsonProblem is what is wrong with the configuration typed as JSON into a
// dashboard's form, next to its field, in the reader's words.
func jsonProblem(w words, id string, err error) problem {
	ps := check.ProblemsOf(err)
	if len(ps) == 0 {
		return problem{Field: id, Text: err.Error(), Lang: serviceLang}
	}
	name := ps[0].Field
	if name == "" {
		name = w.T("dash.cfg_json")
	}
	text, lang := sayProblem(w, ps[0], name)
	return problem{Field: id, Text: text, Lang: lang}
}

// auditLabel names the field of the audit trail's filter a path names, as
// the form does.
func auditLabel(w words, path string) string {
	key := map[string]string{"year": "audit.year", "actor": "audit.actor", "action": "audit.action",
		"since": "audit.from", "until": "audit.to", "size": "audit.per"}[path]
	if key == "" {
		return ""
	}
	return w.T(key)
}
