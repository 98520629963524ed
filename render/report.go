package render

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// Report writes the traceability report of a cycle for an auditor, who
// should be able to read it without knowing OHO's database: every finding
// and feedback item, how it was answered, the change, the published version
// and the signatures on it, with the evidence of each unit.
//
// A cycle still running is reported too, with a notice at the top saying so:
// a manager preparing for an audit wants to see the chain as it stands, and
// a notice that cannot be missed keeps anyone from taking it for the final
// record. Failed and cancelled cycles get such a notice as well.
//
// The report says when it was generated, so o.Now must be set; its times are
// shown in o.Location.
func Report(w io.Writer, tr store.Trace, f Format, o Options) error {
	if o.Now.IsZero() {
		return errors.New("writing the report: no time to say it was generated at")
	}
	d := traceDoc(tr, o)
	var err error
	switch f {
	case FormatMarkdown:
		err = d.writeMarkdown(w)
	case FormatHTML:
		err = d.writeHTML(w)
	default:
		err = fmt.Errorf("format %q is not md or html", f)
	}
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// doc is a report laid out once and written as Markdown or HTML, so that
// both formats say exactly the same.
type doc struct {
	Title  string
	Blocks []block
}

// block is one heading, paragraph, notice or table.
type block struct {
	Level   int // a heading of this level when > 0
	Heading string
	Para    string
	Notice  string
	Table   *table
}

type table struct {
	Head []string
	Rows [][]cell
}

// cell is a table cell; Code cells (hashes, IDs) are set in monospace.
type cell struct {
	Text string
	Code bool
}

func (d *doc) h(level int, format string, args ...any) {
	d.Blocks = append(d.Blocks, block{Level: level, Heading: fmt.Sprintf(format, args...)})
}

func (d *doc) p(format string, args ...any) {
	d.Blocks = append(d.Blocks, block{Para: fmt.Sprintf(format, args...)})
}

func (d *doc) notice(text string) {
	d.Blocks = append(d.Blocks, block{Notice: text})
}

// table adds a table, or the sentence none when it has no rows.
func (d *doc) table(t *table, none string) {
	if len(t.Rows) == 0 {
		d.p("%s", none)
		return
	}
	d.Blocks = append(d.Blocks, block{Table: t})
}

func (t *table) row(cells ...cell) { t.Rows = append(t.Rows, cells) }

func txt(format string, args ...any) cell { return cell{Text: fmt.Sprintf(format, args...)} }
func code(s string) cell                  { return cell{Text: s, Code: true} }

// words turns a code word into plain words: "unit_head" → "unit head".
func words(s string) string { return strings.ReplaceAll(s, "_", " ") }

// who names a person by name and ID.
func who(name, id string) string {
	if name == "" {
		return id
	}
	return name + " (" + id + ")"
}

func quantity(v float64, unit string) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if unit != "" {
		s += " " + unit
	}
	return s
}

// plural writes a count with the word that fits it: "1 student", "14 students".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// traceDoc lays out the report of a cycle.
func traceDoc(tr store.Trace, o Options) *doc {
	c := tr.Cycle
	d := &doc{Title: fmt.Sprintf("Traceability report: %s (%s), review cycle %d", tr.ProviderName, tr.Provider, c.Year)}
	switch c.Status {
	case review.CycleRunning:
		d.notice(fmt.Sprintf("IN PROGRESS: this cycle is still running (phase %s, round %d). This report shows the records as they stood on %s; "+
			"dispositions, changes and signatures may still change, and no plan version has been published from this cycle.", c.Phase, c.Round, o.when(o.Now)))
	case review.CycleFailed:
		d.notice(fmt.Sprintf("This cycle FAILED without publishing a plan version: %s", c.Reason))
	case review.CycleCancelled:
		d.notice(fmt.Sprintf("This cycle was CANCELLED without publishing a plan version: %s", c.Reason))
	}
	d.p("This report traces the %d review of the student welfare plan of %s: every finding of the evaluation and every item of "+
		"student feedback, how the plan editor answered it (its disposition), the change to the plan that answered it, whether "+
		"that change is in the published plan version, and who signed that version, in which role and with what meaning. "+
		"It was generated from OHO's records of cycle %s on %s. Times are given in the time zone %s. No student is named anywhere: consultations are recorded as counts.",
		c.Year, tr.ProviderName, c.ID, o.when(o.Now), o.zoneName())

	summary := signedSummary(tr)
	cycleSection(d, tr, o)
	chainSection(d, tr, summary)
	changesSection(d, tr)
	unitsSection(d, tr)
	signaturesSection(d, tr, o)
	deferralsSection(d, tr)
	trendsSection(d, tr)
	effectivenessSection(d, tr)
	carriedSection(d, tr)
	checklistSection(d, tr)
	d.h(2, "12. How to read this report")
	d.p("Disposition: how the plan editor answered an item. \"Addressed\" names the change to the plan that answers it; " +
		"\"deferred\" leaves it to a later cycle and \"rejected\" declines it, each with a reason. Every major finding and every " +
		"student feedback item must have one before a draft is accepted; minor and info findings may have one.")
	d.p("Content hash: the SHA-256 of the plan's full text. A sign-off or approval records the hash of the exact draft it signs, " +
		"and the database refuses a signature on any hash other than its round's draft, any change to a signature once made, and " +
		"a published version that is not the approved draft. Two texts with the same hash are the same text.")
	d.p("Rounds: a unit head who requests changes sends the draft back, and the plan editor drafts again in a new round; the " +
		"earlier rounds and their signatures stay on record and are listed in section 6.")
	d.p("Indicator catalogue: the indicators a provider defines in its cycle configuration, each with a code, a target and " +
		"which way is better. Every unit reports on each of them every year, with a value or the reason it was not measured, " +
		"so section 8 can follow them across cycles. A target is \"met\" when the value is at or above it (or, for an " +
		"indicator where lower is better, at or below it).")
	return d
}

// signedSummary says who signed the published version, for the chain table.
func signedSummary(tr store.Trace) string {
	p := tr.Published
	if p == nil {
		return ""
	}
	for _, r := range tr.Rounds {
		if r.Round != p.Round {
			continue
		}
		var units []string
		for _, so := range r.SignOffs {
			units = append(units, so.Unit)
		}
		s := fmt.Sprintf("version %d (round %d): signed off for %s", p.Number, p.Round, strings.Join(units, ", "))
		if a := r.Approval; a != nil {
			s += fmt.Sprintf("; %s by %s", a.Meaning, who(a.SignerName, a.Signer))
		}
		return s + " (section 6)"
	}
	return fmt.Sprintf("version %d (round %d)", p.Number, p.Round)
}

func cycleSection(d *doc, tr store.Trace, o Options) {
	c := tr.Cycle
	d.h(2, "1. The cycle")
	t := &table{Head: []string{"Record", "Value"}}
	t.row(txt("Provider"), txt("%s (%s)", tr.ProviderName, tr.Provider))
	t.row(txt("Year"), txt("%d", c.Year))
	t.row(txt("Workflow ID"), code(c.ID))
	t.row(txt("Status"), txt("%s", c.Status))
	t.row(txt("Phase"), txt("%s", c.Phase))
	t.row(txt("Rounds drafted"), txt("%d", len(tr.Rounds)))
	t.row(txt("Started"), txt("%s", o.when(c.StartedAt)))
	completed := "not yet"
	if c.CompletedAt != nil {
		completed = o.when(*c.CompletedAt)
	}
	t.row(txt("Ended"), txt("%s", completed))
	if c.Reason != "" {
		t.row(txt("Reason"), txt("%s", c.Reason))
	}
	d.table(t, "")

	d.h(2, "2. The published plan version")
	p := tr.Published
	if p == nil {
		d.p("No plan version has been published from this cycle.")
		return
	}
	t = &table{Head: []string{"Record", "Value"}}
	t.row(txt("Version"), txt("%d", p.Number))
	t.row(txt("Content SHA-256"), code(p.Hash))
	t.row(txt("Effective from"), txt("%s", date(p.EffectiveFrom)))
	t.row(txt("Published"), txt("%s", o.when(p.PublishedAt)))
	t.row(txt("Published from"), txt("the draft of round %d", p.Round))
	t.row(txt("Approved by"), txt("%s", who(p.ApprovedByName, p.ApprovedBy)))
	d.table(t, "")
	d.p("Every signature on this version names the hash above (section 6).")
}

// disposition words a disposition for the tables; need says whether the
// item must have one.
func disposition(it store.TraceItem, running bool) string {
	ds := it.Disposition
	if ds == nil {
		need := it.Kind == store.ItemFeedback || it.Severity == review.SeverityMajor || it.From != 0
		switch {
		case need && running:
			return "none yet"
		case need:
			return "none recorded"
		default:
			return fmt.Sprintf("none (not required for %s findings)", it.Severity)
		}
	}
	s := fmt.Sprintf("%s (round %d)", ds.Decision, ds.Round)
	if ds.ChangeID != "" {
		s += " by change " + ds.ChangeID
	}
	if ds.Reason != "" {
		s += ": " + ds.Reason
	}
	return s
}

func kindOf(it store.TraceItem) string {
	if it.Kind == store.ItemFinding {
		return it.Severity + " finding"
	}
	return "student feedback"
}

func chainSection(d *doc, tr store.Trace, summary string) {
	running := tr.Cycle.Status == review.CycleRunning
	d.h(2, "3. From finding and feedback to the published plan")
	d.p("One row for every finding and every student feedback item of the cycle: item → disposition → change → published version → signatures. "+
		"Dispositions and changes are those of round %d, the round that was published or, if none was, the last one drafted.", tr.FinalRound)
	t := &table{Head: []string{"Item", "Kind", "Section", "What was said", "Disposition", "Change", "In the published version", "Signatures"}}
	for _, u := range tr.Units {
		for _, it := range append(append([]store.TraceItem{}, u.Findings...), u.Feedback...) {
			change, published, signed := "—", "—", "—"
			if ds := it.Disposition; ds != nil && ds.ChangeID != "" {
				change = ds.ChangeID
				published = "no"
				if ch := ds.Change; ch != nil {
					change = fmt.Sprintf("%s (%s)", ch.ID, ch.Section)
					if ch.InPublished {
						published = fmt.Sprintf("yes, version %d", tr.Published.Number)
						signed = summary
					}
				}
			}
			t.row(code(it.Ref), txt("%s", kindOf(it)), txt("%s", it.Section), txt("%s", it.Text),
				txt("%s", disposition(it, running)), txt("%s", change), txt("%s", published), txt("%s", signed))
		}
	}
	d.table(t, "No findings or feedback have been recorded yet.")
}

func changesSection(d *doc, tr store.Trace) {
	d.h(2, "4. The changes to the plan")
	if tr.FinalRound == 0 {
		d.p("No draft has been made yet.")
		return
	}
	d.p("The changes of round %d. Each gives the section's whole new wording.", tr.FinalRound)
	t := &table{Head: []string{"Change", "Section", "New wording", "Rationale", "Answers", "In the published version"}}
	for _, ch := range tr.Changes {
		in := "no"
		if ch.InPublished {
			in = fmt.Sprintf("yes, version %d", tr.Published.Number)
		}
		t.row(code(ch.ID), txt("%s", ch.Section), txt("%s", ch.Text), txt("%s", ch.Rationale),
			txt("%s", strings.Join(ch.Addresses, ", ")), txt("%s", in))
	}
	d.table(t, "The draft changes no section.")
}

func unitsSection(d *doc, tr store.Trace) {
	running := tr.Cycle.Status == review.CycleRunning
	d.h(2, "5. Evidence per unit")
	for _, u := range tr.Units {
		if u.Name != "" {
			d.h(3, "%s: %s", u.Code, u.Name)
		} else {
			d.h(3, "%s (no longer in the organisation)", u.Code)
		}

		d.h(4, "Indicators against targets")
		t := &table{Head: []string{"Indicator", "Value", "Target", "Target reached when the value is", "Met"}}
		for _, ind := range u.Indicators {
			reached := "at or above the target"
			if ind.Better == "lower" {
				reached = "at or below the target"
			}
			name, value, met := ind.Name, "not measured: "+ind.NotMeasured, "not measured"
			if ind.Code != "" {
				name += " (" + ind.Code + ")"
			}
			if ind.Value != nil {
				value, met = quantity(*ind.Value, ind.Unit), yesNo(ind.Met)
			}
			t.row(txt("%s", name), txt("%s", value), txt("%s", quantity(ind.Target, ind.Unit)),
				txt("%s", reached), txt("%s", met))
		}
		d.table(t, "No indicators recorded.")

		d.h(4, "Findings")
		t = &table{Head: []string{"Finding", "Section", "Severity", "What was found", "Recommendation", "Disposition"}}
		for _, it := range u.Findings {
			t.row(code(it.Ref), txt("%s", it.Section), txt("%s", it.Severity), txt("%s", it.Text),
				txt("%s", it.Recommendation), txt("%s", disposition(it, running)))
		}
		d.table(t, "No findings recorded.")

		d.h(4, "Student participation")
		if c := u.Consultation; c != nil {
			d.p("Students were heard through a %s held on %s; %s took part. The records keep the count, never names.",
				c.Method, date(c.HeldOn), plural(c.Participants, "student", "students"))
		} else {
			d.p("No consultation of students has been recorded.")
		}
		t = &table{Head: []string{"Item", "Section", "What students said", "How it was answered"}}
		for _, it := range u.Feedback {
			t.row(code(it.Ref), txt("%s", it.Section), txt("%s", it.Text), txt("%s", disposition(it, running)))
		}
		d.table(t, "No feedback items recorded.")

		d.h(4, "Effectiveness of last cycle's changes")
		t = &table{Head: []string{"Change", "What it changed", "Rating", "Note"}}
		for _, r := range u.Effectiveness {
			what := "(not found in the previous cycle)"
			if r.ChangeText != "" {
				what = r.ChangeSection + ": " + r.ChangeText
			}
			t.row(code(r.ChangeID), txt("%s", what), txt("%s", words(r.Rating)), txt("%s", r.Note))
		}
		none := "No changes of an earlier cycle were rated."
		if tr.PreviousCycle == "" {
			none = "There was no earlier completed cycle whose changes could be rated."
		}
		d.table(t, none)
	}
}

// roundOutcome says how a round ended.
func roundOutcome(tr store.Trace, r store.TraceRound) string {
	if a := r.Approval; a != nil {
		if a.Decision == review.DecisionApprove {
			if p := tr.Published; p != nil && p.Round == r.Round {
				return fmt.Sprintf("approved for the provider and published as version %d", p.Number)
			}
			return "approved for the provider, not yet published"
		}
		return "returned for the provider by the approver"
	}
	var asked []string
	for _, so := range r.SignOffs {
		if so.Decision == review.DecisionRequestChanges {
			asked = append(asked, so.Unit)
		}
	}
	if len(asked) > 0 {
		return "sent back: changes requested for " + strings.Join(asked, ", ")
	}
	if tr.Cycle.Status == review.CycleRunning {
		return "awaiting signatures"
	}
	return "closed without a decision"
}

func signaturesSection(d *doc, tr store.Trace, o Options) {
	d.h(2, "6. Signatures, round by round")
	if len(tr.Rounds) == 0 {
		d.p("No draft has been made yet, so nothing has been signed.")
		return
	}
	d.p("Every sign-off and approval of every round, including rounds whose draft was sent back. Each records the signer, " +
		"their role, the meaning of the signature, the time and the hash of the exact draft signed.")
	for _, r := range tr.Rounds {
		d.h(3, "Round %d: %s", r.Round, roundOutcome(tr, r))
		d.p("Drafted by %s on %s. Content SHA-256 of the draft: %s", who(r.DraftedByName, r.DraftedBy), o.when(r.DraftedAt), r.DraftHash)
		t := &table{Head: []string{"Signer", "Role", "Meaning", "Signed", "Hash signed", "Is the round's draft", "Comment"}}
		sigs := r.SignOffs
		if r.Approval != nil {
			sigs = append(append([]store.TraceSignature{}, sigs...), *r.Approval)
		}
		for _, s := range sigs {
			meaning := s.Meaning
			if s.EffectiveFrom != "" {
				meaning += ", effective from " + date(s.EffectiveFrom)
			}
			t.row(txt("%s", who(s.SignerName, s.Signer)), txt("%s", words(s.Role)), txt("%s", meaning), txt("%s", o.when(s.SignedAt)),
				code(s.Hash), txt("%s", yesNo(s.Hash == r.DraftHash)), txt("%s", s.Comment))
		}
		d.table(t, "No signatures in this round.")
		var unsigned []string
		for _, u := range r.Unsigned {
			what := "the approval"
			if u.Kind == review.KindSignOff {
				what = "the sign-off for unit " + u.Unit
			}
			switch u.Status {
			case review.TaskOpen:
				unsigned = append(unsigned, what+" is still open")
			case review.TaskSuperseded:
				unsigned = append(unsigned, what+" was closed unsigned when the round ended")
			default:
				unsigned = append(unsigned, what+" was "+u.Status)
			}
		}
		if len(unsigned) > 0 {
			d.p("Not signed: %s.", strings.Join(unsigned, "; "))
		}
	}
}

func deferralsSection(d *doc, tr store.Trace) {
	d.h(2, "7. Open deferrals carried into next year")
	t := &table{Head: []string{"Item", "Kind", "Section", "What was said", "Reason for deferring"}}
	for _, it := range tr.Deferrals {
		t.row(code(it.Ref), txt("%s", kindOf(it)), txt("%s", it.Section), txt("%s", it.Text), txt("%s", it.Disposition.Reason))
	}
	d.table(t, "None: no item was deferred.")
}

// writeMarkdown writes the report as CommonMark with GitHub tables. Text
// from the records is escaped, so that nothing in it is read as markup.
func (d *doc) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", mdText(d.Title))
	for _, bl := range d.Blocks {
		b.WriteString("\n")
		switch {
		case bl.Level > 0:
			fmt.Fprintf(&b, "%s %s\n", strings.Repeat("#", bl.Level), mdText(bl.Heading))
		case bl.Notice != "":
			fmt.Fprintf(&b, "> **%s**\n", mdText(bl.Notice))
		case bl.Table != nil:
			head := make([]string, len(bl.Table.Head))
			rule := make([]string, len(bl.Table.Head))
			for i, h := range bl.Table.Head {
				head[i], rule[i] = mdText(h), "---"
			}
			fmt.Fprintf(&b, "| %s |\n| %s |\n", strings.Join(head, " | "), strings.Join(rule, " | "))
			for _, row := range bl.Table.Rows {
				cells := make([]string, len(row))
				for i, c := range row {
					cells[i] = mdCell(c)
				}
				fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
			}
		default:
			fmt.Fprintf(&b, "%s\n", mdText(bl.Para))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEscaper backslash-escapes the characters that Markdown could read as
// markup, HTML included, and keeps every value on one line.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, `<`, `\<`, `>`, `\>`,
	`|`, `\|`, `#`, `\#`, `&`, `\&`, `~`, `\~`, "\r\n", " ", "\n", " ", "\r", " ",
)

func mdText(s string) string { return mdEscaper.Replace(s) }

func mdCell(c cell) string {
	if c.Code && c.Text != "" && !strings.ContainsAny(c.Text, "`|\n\r") {
		return "`" + c.Text + "`"
	}
	return mdText(c.Text)
}

// htmlReport is self-contained: inline CSS, no scripts, no links to
// anything. html/template escapes every value from the records.
var htmlReport = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 80rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ccc; } h4 { margin-bottom: 0.3rem; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; width: 100%; }
th, td { border: 1px solid #bbb; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
code { font-family: ui-monospace, monospace; font-size: 0.85em; word-break: break-all; }
.notice { border: 2px solid #b00; background: #fff0f0; padding: 0.8rem 1rem; font-weight: bold; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{range .Blocks}}{{if eq .Level 2}}<h2>{{.Heading}}</h2>
{{else if eq .Level 3}}<h3>{{.Heading}}</h3>
{{else if gt .Level 3}}<h4>{{.Heading}}</h4>
{{else if .Notice}}<p class="notice">{{.Notice}}</p>
{{else if .Table}}<table>
<tr>{{range .Table.Head}}<th>{{.}}</th>{{end}}</tr>
{{range .Table.Rows}}<tr>{{range .}}<td>{{if .Code}}<code>{{.Text}}</code>{{else}}{{.Text}}{{end}}</td>{{end}}</tr>
{{end}}</table>
{{else}}<p>{{.Para}}</p>
{{end}}{{end}}</body>
</html>
`))

func (d *doc) writeHTML(w io.Writer) error {
	return htmlReport.Execute(w, d)
}
