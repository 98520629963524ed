package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// The auditor's pages: the audit trail with its filters, pages and the
// chain's verification; the review cycles with each one's traceability
// report, audit export and workflow histories; the plan's versions, the
// difference between any two and each one's handbook. The service decides
// who may read each (auditors and managers the trail, the histories and the
// export; the provider's staff the report and the cycles; everyone of the
// provider the plan); these handlers only parse and present.

// auditPageSize is how many events a page of the trail shows unless the
// reader chooses another of auditPageSizes.
const auditPageSize = 50

var auditPageSizes = []int{20, 50, 100, 200}

// auditFilterForm is the trail's filter form as typed, kept as typed so
// that a refusal shows it back.
type auditFilterForm struct {
	Year, Actor, Action, From, To string
	Per                           int
	// Provider is set only when the address names a provider, which the
	// form never does: a person reads their own provider's trail.
	Provider string
}

// query is the filter as the query of an address, without the page's
// place; what is empty is left out, so that addresses stay short.
func (f auditFilterForm) query() url.Values {
	q := url.Values{}
	for _, kv := range [][2]string{{"provider", f.Provider}, {"year", f.Year}, {"actor", f.Actor}, {"action", f.Action}, {"from", f.From}, {"to", f.To}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	if f.Per != auditPageSize {
		q.Set("per", strconv.Itoa(f.Per))
	}
	return q
}

// auditRow is an event as the trail shows it.
type auditRow struct {
	store.Event
	ShortHash string
	Payload   string
}

// auditTrailPage is what the audit trail shows.
type auditTrailPage struct {
	Form     auditFilterForm
	Sizes    []int
	Actions  []string
	Problems []problem
	Errors   map[string]*fieldErr
	// Verification is the chain's check, and VerifyFailed what kept it from
	// being made.
	Verification *store.Verification
	VerifyFailed string
	Events       []auditRow
	// FirstSeq and LastSeq are the places in the chain the page spans.
	FirstSeq, LastSeq int64
	Filtered          bool
	// First, Previous, Next and Last are the addresses of the other pages,
	// empty where there is none.
	First, Previous, Next, Last string
	CSV                         string
}

// auditFields maps the service's field names to the form's fields.
var auditFields = map[string]string{
	"year": "audit-year", "actor": "audit-actor", "action": "audit-action",
	"since": "audit-from", "until": "audit-to", "size": "audit-per",
}

// auditFieldOrder is the order of the form's fields.
var auditFieldOrder = []string{"", "audit-year", "audit-actor", "audit-action", "audit-from", "audit-to", "audit-per"}

// parseDay reads a day typed as 2027-03-01 or, as Finns write it, 1.3.2027,
// as its start in OHO's time zone.
func parseDay(s string, loc *time.Location) (time.Time, bool) {
	for _, layout := range []string{time.DateOnly, "2.1.2006"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// readAuditFilter reads the trail's filter from the query: the form as
// typed, the service's filter, and the problems of what could not be read.
func (s *Server) readAuditFilter(r *http.Request, w words, loc *time.Location) (auditFilterForm, service.AuditFilter, []problem) {
	q := r.URL.Query()
	form := auditFilterForm{Provider: strings.TrimSpace(q.Get("provider")), Year: strings.TrimSpace(q.Get("year")),
		Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
		From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")), Per: auditPageSize}
	f := service.AuditFilter{Provider: form.Provider, Actor: form.Actor, Action: form.Action}
	var problems []problem
	if form.Year != "" {
		y, err := strconv.Atoi(form.Year)
		if err != nil {
			problems = append(problems, problem{Field: "audit-year", Text: w.T("audit.bad_year", "Value", form.Year)})
		}
		f.Year = y
	}

	if form.From != "" {
		d, ok := parseDay(form.From, loc)
		if !ok {
			problems = append(problems, problem{Field: "audit-from", Text: w.T("audit.bad_day", "Value", form.From)})
		}
		f.Since = d
	}
	if form.To != "" {
		d, ok := parseDay(form.To, loc)
		if !ok {
			problems = append(problems, problem{Field: "audit-to", Text: w.T("audit.bad_day", "Value", form.To)})
		} else {
			f.Until = d.AddDate(0, 0, 1) // the whole of the last day
		}
	}
	if v := q.Get("per"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > service.MaxAuditPage {
			problems = append(problems, problem{Field: "audit-per", Text: w.T("audit.bad_per", "Value", v, "Max", service.MaxAuditPage)})
		} else {
			form.Per = n
		}
	}
	cursor := func(name string) int64 {
		v := q.Get(name)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			problems = append(problems, problem{Text: w.T("audit.bad_place", "Value", v)})
		}
		return n
	}
	f.After, f.Before = cursor("after"), cursor("before")
	if q.Get("last") != "" {
		f.After, f.Before = 0, math.MaxInt64
	}
	return form, f, problems
}

// pageAudit is the audit trail: the chain's verification, the filter form
// (a GET form, so that the address of what was found can be kept), and a
// page of the events it selects, in chain order, with links to the pages
// before and after that keep the filter.
func (s *Server) pageAudit(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	v := s.page(r, a, "audit.title", "audit")
	form, f, problems := s.readAuditFilter(r, v.W, v.loc)
	p := auditTrailPage{Form: form, Sizes: auditPageSizes, Actions: store.AuditActions, Errors: map[string]*fieldErr{}}
	if !slices.Contains(p.Sizes, form.Per) {
		p.Sizes = append([]int{form.Per}, p.Sizes...)
	}
	// The verification is the trail's first read, so that a person who may
	// not read the trail is refused before anything else is said.
	ver, err := s.svc.VerifyAudit(r.Context(), *a)
	switch {
	case errors.Is(err, service.ErrForbidden) || errors.Is(err, service.ErrUnauthenticated):
		s.pageError(w, r, a, err)
		return
	case err != nil:
		s.logger.Warn("verifying the audit trail for a page", "error", err)
		p.VerifyFailed = err.Error()
		if statusOf(err) == http.StatusInternalServerError {
			p.VerifyFailed = v.W.T("error.internal")
		}
	default:
		p.Verification = &ver
	}
	code := http.StatusOK
	if len(problems) == 0 {
		page, err := s.svc.AuditPage(r.Context(), *a, f, form.Per)
		switch {
		case errors.Is(err, service.ErrInvalid):
			if ps := service.ProblemsOf(err); len(ps) > 0 {
				field := func(name string) string { return auditFields[name] }
				problems = append(problems, saidProblems(v.W, ps, field, namedBy(v.W, auditLabel, ""))...)
			} else {
				for name, text := range fieldsOf(err) {
					problems = append(problems, problem{Field: auditFields[name], Text: text, Lang: serviceLang})
				}
			}
			if len(problems) == 0 {
				problems = append(problems, problem{Text: err.Error(), Lang: serviceLang})
			}
		case err != nil:
			s.pageError(w, r, a, err)
			return
		default:
			p.fill(page, form)
		}
	}
	if len(problems) > 0 {
		code = http.StatusUnprocessableEntity
		// In the order of the form, as a reader meets the fields.
		slices.SortStableFunc(problems, func(x, y problem) int {
			return slices.Index(auditFieldOrder, x.Field) - slices.Index(auditFieldOrder, y.Field)
		})
		for _, pr := range problems {
			if pr.Field != "" && p.Errors[pr.Field] == nil {
				p.Errors[pr.Field] = &fieldErr{ID: pr.Field, Text: pr.Text, Lang: pr.Lang}
			}
		}
		p.Problems = problems
	}
	p.Filtered = form.Year != "" || form.Actor != "" || form.Action != "" || form.From != "" || form.To != ""
	p.CSV = "/audit.csv"
	if q := form.query(); len(q) > 0 {
		p.CSV += "?" + q.Encode()
	}
	v.Data = p
	s.render(w, r, code, "audit.html", v)
}

// fill sets the page's events and the links to its neighbours.
func (p *auditTrailPage) fill(page store.AuditPage, form auditFilterForm) {
	for _, e := range page.Events {
		row := auditRow{Event: e, ShortHash: e.Hash[:min(len(e.Hash), 12)], Payload: string(e.Payload)}
		var b bytes.Buffer
		if json.Indent(&b, e.Payload, "", "  ") == nil {
			row.Payload = b.String()
		}
		if row.Payload == "{}" || row.Payload == "null" {
			row.Payload = ""
		}
		p.Events = append(p.Events, row)
	}
	if n := len(page.Events); n > 0 {
		p.FirstSeq, p.LastSeq = page.Events[0].Seq, page.Events[n-1].Seq
	}
	link := func(key, value string) string {
		q := form.query()
		if key != "" {
			q.Set(key, value)
		}
		if len(q) == 0 {
			return "/audit"
		}
		return "/audit?" + q.Encode()
	}
	if page.Earlier {
		p.First = link("", "")
		if len(page.Events) > 0 {
			p.Previous = link("before", strconv.FormatInt(page.Events[0].Seq, 10))
		}
	}
	if page.Later {
		p.Last = link("last", "1")
		if len(page.Events) > 0 {
			p.Next = link("after", strconv.FormatInt(page.Events[len(page.Events)-1].Seq, 10))
		}
	}
}

// pageAuditCSV is the events the trail's filter selects, all of them, as the
// CSV the command line writes (starter audit log --csv).
func (s *Server) pageAuditCSV(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	v := s.page(r, a, "audit.title", "audit")
	_, f, problems := s.readAuditFilter(r, v.W, v.loc)
	if len(problems) > 0 {
		s.pageError(w, r, a, errorOf(service.ErrInvalid, "%s", problems[0].Text))
		return
	}
	f.After, f.Before = 0, 0
	events, err := s.svc.AuditLog(r.Context(), *a, f)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	var buf bytes.Buffer
	if err := render.EventsCSV(&buf, events); err != nil {
		s.pageError(w, r, a, err)
		return
	}
	download(w, "text/csv; charset=utf-8", "audit-"+a.Person.Provider+".csv", buf.Bytes())
}

// download answers with a file the browser saves.
func download(w http.ResponseWriter, contentType, name string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// cycleRow is a cycle as the list of cycles shows it.
type cycleRow struct {
	store.Cycle
	Base string // the path of the cycle's pages: /cycles/DEMO/2027
}

// cyclesPage is the list of the provider's review cycles.
type cyclesPage struct {
	Cycles []cycleRow
}

// pageCycles lists the provider's review cycles, newest first, each with
// its report, and for those who may read them its workflow histories and
// audit export.
func (s *Server) pageCycles(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	cycles, err := s.svc.Cycles(r.Context(), *a)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	var p cyclesPage
	for _, c := range cycles {
		p.Cycles = append(p.Cycles, cycleRow{Cycle: c, Base: cyclePath(c.Provider, c.Year)})
	}
	slices.SortStableFunc(p.Cycles, func(x, y cycleRow) int {
		if x.Year != y.Year {
			return y.Year - x.Year
		}
		return strings.Compare(x.Provider, y.Provider)
	})
	v := s.page(r, a, "audit.cycles.title", "audit-cycles")
	v.Data = p
	s.render(w, r, http.StatusOK, "cycles.html", v)
}

// cyclePath is the path under which a cycle's pages are.
func cyclePath(provider string, year int) string {
	return "/cycles/" + url.PathEscape(provider) + "/" + strconv.Itoa(year)
}

// pageCycleOf reads the cycle a page's path names, or shows the refusal.
func (s *Server) pageCycleOf(w http.ResponseWriter, r *http.Request, a *service.Actor) (string, int, bool) {
	provider, year, err := cycleOf(r)
	if err != nil {
		s.pageError(w, r, a, err)
		return "", 0, false
	}
	return provider, year, true
}

// reportPage is the traceability report inside a page of ours.
type reportPage struct {
	Provider string
	Year     int
	Base     string
	Report   render.ReportLayout
}

// pageReport shows the traceability report of a cycle. The report's own
// HTML is a self-contained document with inline style, which the pages'
// policy refuses; so the page shows the same report laid out with the
// pages' own style (render.LayOutReport), in English, marked as such. With
// ?format=html it is that document, to print or send, under the documents'
// own policy; with ?format=md the Markdown, downloaded.
func (s *Server) pageReport(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	provider, year, ok := s.pageCycleOf(w, r, a)
	if !ok {
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != string(render.FormatMarkdown) && format != string(render.FormatHTML) {
		s.pageError(w, r, a, invalidField("format", "format must be md or html (got %q)", format))
		return
	}
	tr, err := s.svc.Report(r.Context(), *a, provider, year)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	o := render.Options{Now: s.svc.Now(), Location: s.zoneOf(r, a)}
	name := fmt.Sprintf("report-%s-%d", provider, year)
	if format != "" {
		var buf bytes.Buffer
		if err := render.Report(&buf, tr, render.Format(format), o); err != nil {
			s.pageError(w, r, a, err)
			return
		}
		if format == string(render.FormatMarkdown) {
			download(w, "text/markdown; charset=utf-8", name+".md", buf.Bytes())
			return
		}
		writeDocument(w, render.FormatHTML, name, buf.Bytes())
		return
	}
	layout, err := render.LayOutReport(tr, o)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	v := s.page(r, a, "audit.report.title", "audit-cycles")
	v.Title = v.W.T("audit.report.heading", "Provider", provider, "Year", year)
	v.Data = reportPage{Provider: provider, Year: year, Base: cyclePath(provider, year), Report: layout}
	s.render(w, r, http.StatusOK, "report.html", v)
}

// workflowRow is a workflow of a cycle as the page of histories shows it.
type workflowRow struct {
	render.Workflow
	StatusKey string
	Closed    *time.Time
}

// workflowsPage lists a cycle's workflows with their histories' addresses.
type workflowsPage struct {
	Provider  string
	Year      int
	Base      string
	Workflows []workflowRow
	// Codec is the codec server's address to give the Web UI when the
	// histories' payloads are encrypted; empty when they are not.
	Codec string
}

// pageWorkflows lists the workflows of a cycle as the Temporal server knows
// them, each with a link to its history in the Temporal Web UI.
func (s *Server) pageWorkflows(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	provider, year, ok := s.pageCycleOf(w, r, a)
	if !ok {
		return
	}
	wfs, err := s.svc.CycleWorkflows(r.Context(), *a, provider, year, false)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	v := s.page(r, a, "audit.workflows.title", "audit-cycles")
	v.Title = v.W.T("audit.workflows.heading", "Provider", provider, "Year", year)
	p := workflowsPage{Provider: provider, Year: year, Base: cyclePath(provider, year)}
	if s.svc.PayloadsEncrypted() {
		p.Codec = s.base.String() + codecPath
	}
	for _, wf := range wfs {
		row := workflowRow{Workflow: wf, StatusKey: "audit.wf." + strings.ToLower(wf.Status)}
		if v.W.T(row.StatusKey) == row.StatusKey {
			row.StatusKey = "audit.wf.other"
		}
		if !wf.CloseTime.IsZero() {
			closed := wf.CloseTime
			row.Closed = &closed
		}
		p.Workflows = append(p.Workflows, row)
	}
	v.Data = p
	s.render(w, r, http.StatusOK, "workflows.html", v)
}

// pageAuditExport downloads a cycle's audit export: the JSON Lines the
// command line writes (starter audit export).
func (s *Server) pageAuditExport(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	provider, year, ok := s.pageCycleOf(w, r, a)
	if !ok {
		return
	}
	export, err := s.svc.AuditExport(r.Context(), *a, provider, year)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	// Rendered whole first, so that a failure is a refusal page, not half
	// an export.
	var buf bytes.Buffer
	if _, err := render.AuditExport(&buf, export); err != nil {
		s.pageError(w, r, a, err)
		return
	}
	download(w, "application/jsonl; charset=utf-8", fmt.Sprintf("audit-%s-%d.jsonl", provider, year), buf.Bytes())
}

// versionRow is a plan version as the list of versions shows it.
type versionRow struct {
	store.PlanVersionEntry
	ShortHash string
	// Effective is the date it is in force from, as the reader writes dates.
	Effective string
	// Report is the address of the report of the cycle that published it.
	Report string
}

// planChoice is the two versions the diff form compares.
type planChoice struct {
	From, To int
}

// plansPage lists a provider's plan versions, with the form to compare two.
type plansPage struct {
	Provider string
	Versions []versionRow
	Choice   planChoice
	Problems []problem
	Diff     *diffView
}

// diffView is the difference between two versions as the page shows it.
type diffView struct {
	render.PlanDiff
	FromShort, ToShort         string
	FromEffective, ToEffective string
	Same                       bool
}

// planVersions reads the versions a plan's pages list, newest first.
func (s *Server) planVersions(r *http.Request, a *service.Actor, w words, provider string) ([]versionRow, error) {
	versions, err := s.svc.PlanVersions(r.Context(), *a, provider)
	if err != nil {
		return nil, err
	}
	rows := make([]versionRow, len(versions))
	for i, pv := range versions {
		rows[i] = versionRow{PlanVersionEntry: pv, ShortHash: pv.Hash[:min(len(pv.Hash), 12)], Effective: day(pv.EffectiveFrom, w.Lang)}
		if y, ok := strings.CutPrefix(pv.CycleID, "review-cycle/"+pv.Provider+"/"); ok {
			if year, err := strconv.Atoi(y); err == nil {
				rows[i].Report = cyclePath(pv.Provider, year) + "/report"
			}
		}
	}
	return rows, nil
}

// pagePlans lists the versions of the provider's plan: number, effective
// date, hash, where it came from and who made it, with its handbook; and the
// form to compare two versions.
func (s *Server) pagePlans(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	provider := r.PathValue("provider")
	v := s.page(r, a, "audit.plans.title", "audit-plans")
	rows, err := s.planVersions(r, a, v.W, provider)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	p := plansPage{Provider: provider, Versions: rows}
	if len(rows) > 0 {
		p.Choice = planChoice{From: rows[min(1, len(rows)-1)].Version, To: rows[0].Version}
	}
	v.Title = v.W.T("audit.plans.heading", "Provider", provider)
	v.Data = p
	s.render(w, r, http.StatusOK, "plans.html", v)
}

// pagePlanDiff shows the difference between two versions of the provider's
// plan, section by section, with the changes that made the newer, and the
// form to choose two others.
func (s *Server) pagePlanDiff(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	provider := r.PathValue("provider")
	v := s.page(r, a, "audit.diff.title", "audit-plans")
	rows, err := s.planVersions(r, a, v.W, provider)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	v.Title = v.W.T("audit.diff.heading", "Provider", provider)
	p := plansPage{Provider: provider, Versions: rows}
	code := http.StatusOK
	q := r.URL.Query()
	version := func(name, field string) int {
		n, err := strconv.Atoi(q.Get(name))
		if err != nil || n < 1 {
			p.Problems = append(p.Problems, problem{Field: field, Text: v.W.T("audit.diff.bad_version", "Value", q.Get(name))})
		}
		return n
	}
	p.Choice = planChoice{From: version("from", "diff-from"), To: version("to", "diff-to")}
	if len(p.Problems) == 0 {
		d, err := s.svc.ComparePlans(r.Context(), *a, provider, p.Choice.From, p.Choice.To)
		switch {
		case errors.Is(err, service.ErrInvalid) || errors.Is(err, service.ErrNotFound):
			code = statusOf(err)
			p.Problems = append(p.Problems, problem{Text: err.Error(), Lang: serviceLang})
		case err != nil:
			s.pageError(w, r, a, err)
			return
		default:
			dv := &diffView{PlanDiff: d, FromShort: d.From.Hash[:min(len(d.From.Hash), 12)], ToShort: d.To.Hash[:min(len(d.To.Hash), 12)],
				FromEffective: day(d.From.EffectiveFrom, v.W.Lang), ToEffective: day(d.To.EffectiveFrom, v.W.Lang), Same: true}
			for _, sec := range d.Sections {
				if sec.Change != render.SectionUnchanged {
					dv.Same = false
				}
			}
			p.Diff = dv
		}
	} else {
		code = http.StatusUnprocessableEntity
	}
	v.Data = p
	s.render(w, r, code, "plans.html", v)
}

// pageHandbook is a version of the plan as the handbook staff read, as
// plan export makes it: the self-contained HTML document under the
// documents' own policy (its style is inline, which the pages' policy would
// refuse), or with ?format=md the Markdown, downloaded.
func (s *Server) pageHandbook(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	version := 0
	if q := r.URL.Query().Get("version"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil {
			s.pageError(w, r, a, invalidField("version", "version %q is not a version number (1, 2, …)", q))
			return
		}
		version = n
	}
	format := render.FormatHTML
	if f := r.URL.Query().Get("format"); f != "" {
		parsed, err := render.ParseFormat(f)
		if err != nil {
			s.pageError(w, r, a, invalidField("format", "format must be md or html (got %q)", f))
			return
		}
		format = parsed
	}
	doc, err := s.svc.Plan(r.Context(), *a, r.PathValue("provider"), version)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	var buf bytes.Buffer
	if err := render.Handbook(&buf, doc, format, render.Options{Now: s.svc.Now(), Location: time.UTC}); err != nil {
		s.pageError(w, r, a, err)
		return
	}
	name := fmt.Sprintf("plan-%s-v%d", doc.Provider, doc.Version)
	if format == render.FormatMarkdown {
		download(w, "text/markdown; charset=utf-8", name+".md", buf.Bytes())
		return
	}
	writeDocument(w, format, name, buf.Bytes())
}
