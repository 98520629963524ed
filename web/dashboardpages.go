package web

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// The manager's dashboard: where the provider's managers see their cycles
// year by year, each running cycle's progress unit by unit, the overdue and
// open tasks with who holds them, and the indicator trends; and where they
// start and cancel cycles, reassign and extend tasks and set the yearly
// schedule. Every form is a plain POST answered with a redirect and a
// notice; a refusal shows the form again with what was typed and each
// problem next to its field (refusal). Who may see these pages
// is the service's to say (Service.MaySteer): the provider's managers.

// dashboardPage is what the dashboard shows.
type dashboardPage struct {
	Provider string
	Notice   string
	Problems []problem
	Errors   map[string]*fieldErr
	Cycles   []store.Cycle // newest first
	Running  []runningCycle
	// Ended are the years whose latest cycle failed or was cancelled, which
	// a manager may start again.
	Ended   []endedCycle
	Overdue []store.Task
	Open    []store.Task // open and not overdue
	Charts  []trendChart
	// TrendsError and ScheduleError say why a part could not be read; the
	// rest of the dashboard is shown all the same.
	TrendsError   string
	Schedule      *service.Schedule
	ScheduleDate  string
	ScheduleError string
	Start         startForm
	Sched         scheduleForm
	// The forms' fields as the template shows them.
	StartYear                cfgField
	StartConfig, SchedConfig configView
	SchedDate                []cfgField
	// The tasks as the tables show them.
	OverdueRows, OpenRows []taskRow
}

// taskRow is an open task as the dashboard's tables show it.
type taskRow struct {
	ID, Kind, Unit, Holder, Due, OverdueSince string
	Year                                      int
	// SteerLabel names the link to the task's steering page; SteerHidden
	// tells a screen reader which task it is, as the rows repeat the label.
	SteerLabel, SteerHidden string
}

func taskRows(w words, loc *time.Location, tasks []store.Task) []taskRow {
	rows := make([]taskRow, 0, len(tasks))
	for _, t := range tasks {
		kind := "kind." + string(t.Kind)
		r := taskRow{ID: t.ID, Kind: w.T(kind), Unit: t.Unit, Year: t.Year,
			Holder: t.Assignee, Due: render.When(t.DueAt, loc, w.Lang), SteerLabel: w.T("dash.steer_link")}
		if t.Round > 0 {
			r.Kind += " (" + w.T("inbox.round", "Round", t.Round) + ")"
		}
		if r.Holder == "" {
			r.Holder = w.T("task.pool", "Pool", t.Pool)
		}
		if t.OverdueAt != nil {
			r.OverdueSince = w.T("dash.overdue_since", "When", render.When(*t.OverdueAt, loc, w.Lang))
		}
		r.SteerHidden = strings.Join(strings.Fields(fmt.Sprintf("%s %s %d", r.Kind, t.Unit, t.Year)), " ")
		rows = append(rows, r)
	}
	return rows
}

// scheduleForm is the form that sets the yearly schedule.
type scheduleForm struct {
	Month, Day, Hour string
	configForm
}

// cfgField is one field of a form as the template shows it: its label, a
// hint, what was typed and its problem.
type cfgField struct {
	ID, Name, Label, Hint, Value string
	Numeric                      bool
	Err                          *fieldErr
}

// DescribedBy lists the ids of the field's hint and problem.
func (f cfgField) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Err != nil {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// configView is the configuration part of a form: the phases' durations,
// the reminders, the rounds and the JSON of the full configuration, whose
// part opens when it holds something or a problem.
type configView struct {
	Phases, Reminders []cfgField
	MaxRounds, JSON   cfgField
	Open              bool
	// The words of its fieldsets.
	PhasesLegend, PhasesHint, RemindersLegend, JSONSummary string
}

// newConfigView lays out a configuration form's fields, their ids
// prefixed so that two forms on the page do not share one.
func newConfigView(w words, prefix string, f configForm, errs map[string]*fieldErr) configView {
	defaults := configDefaults(w)
	field := func(name, label, value string) cfgField {
		c := cfgField{ID: prefix + name, Name: name, Label: label, Value: value, Err: errs[prefix+name]}
		if d, ok := defaults[name]; ok {
			c.Hint = w.T("dash.cfg_default", "Default", d)
		}
		return c
	}
	v := configView{
		PhasesLegend: w.T("dash.cfg_phases"), PhasesHint: w.T("dash.cfg_phases_hint"),
		RemindersLegend: w.T("dash.cfg_reminders"), JSONSummary: w.T("dash.cfg_json_summary"),
		Phases: []cfgField{
			field("evaluate", w.T("dash.cfg_evaluate"), f.Evaluate),
			field("consult", w.T("dash.cfg_consult"), f.Consult),
			field("update", w.T("dash.cfg_update"), f.Update),
			field("signoff", w.T("dash.cfg_signoff"), f.SignOff),
			field("approve", w.T("dash.cfg_approve"), f.Approve),
		},
		Reminders: []cfgField{
			field("before", w.T("dash.cfg_before"), f.Before),
			field("every", w.T("dash.cfg_every"), f.Every),
		},
		MaxRounds: field("max_rounds", w.T("dash.cfg_max_rounds"), f.MaxRounds),
		JSON:      field("config", w.T("dash.cfg_json"), f.JSON),
	}
	v.MaxRounds.Numeric = true
	v.JSON.Hint = w.T("dash.cfg_json_hint")
	v.Open = strings.TrimSpace(f.JSON) != "" || v.JSON.Err != nil
	return v
}

// runningCycle is a running cycle with its units' progress and the reason
// typed into its cancel form.
// endedCycle is a year whose cycle failed or was cancelled, with the reason
// typed into its restart form when a restart was refused.
type endedCycle struct {
	Cycle         store.Cycle
	RestartReason string
}

type runningCycle struct {
	Cycle        store.Cycle
	Units        []unitRow
	CancelReason string
	// Waiting is set while no worker has set the cycle up, and NoWorker
	// when Temporal says none polls its task queue.
	Waiting, NoWorker bool
}

// unitRow is one unit's progress in a cycle: where it stands, and how many
// of its tasks are done (superseded ones are no work left to do, and are
// not counted). Unit is empty for the provider-wide tasks (draft,
// approval).
type unitRow struct {
	Unit        string
	Phase       string
	Done, Total int
}

// configForm is the part of a form that sets up a cycle's configuration:
// each phase's duration, the reminders, the rounds, and, for what the
// fields do not cover (the indicator catalogue, sections, the checklist),
// the full configuration as JSON. Fields filled in win over the JSON.
type configForm struct {
	Evaluate, Consult, Update, SignOff, Approve string
	Before, Every, MaxRounds, JSON              string
}

// startForm is the form that starts a cycle.
type startForm struct {
	Year string
	configForm
}

// configFields are the names of a cycle's or schedule's form fields, in
// the order of the form (for the error summary).
var configFields = []string{"year", "month", "day", "hour", "evaluate", "consult", "update", "signoff", "approve",
	"before", "every", "max_rounds", "config"}

// prefixed is the fields' ids in a form whose ids have the prefix.
func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

func readConfigForm(r *http.Request) configForm {
	get := func(name string) string { return strings.TrimSpace(r.PostForm.Get(name)) }
	return configForm{
		Evaluate: get("evaluate"), Consult: get("consult"), Update: get("update"), SignOff: get("signoff"),
		Approve: get("approve"), Before: get("before"), Every: get("every"), MaxRounds: get("max_rounds"),
		// The JSON is kept as typed, spaces and all.
		JSON: r.PostForm.Get("config"),
	}
}

// spanOf reads a duration as people type it: a number of days ("42",
// "1,5", "14d", "14 pv"), or hours, minutes and seconds as Go writes them
// ("36h", "90m", "1h30m", "20s").
func spanOf(s string) (time.Duration, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	days := s
	for _, suffix := range []string{"pv", "d"} {
		if t, ok := strings.CutSuffix(s, suffix); ok {
			days = strings.TrimSpace(t)
			break
		}
	}
	if v, ok := number(days); ok && v != nil {
		d := time.Duration(*v * float64(24*time.Hour))
		return d, d > 0
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d > 0
}

// config is the configuration the form holds, and the problems the form
// itself can tell: a duration or a count that is not one, JSON that does
// not read. The rules are the service's to apply.
func (f configForm) config(w words, prefix string) (review.Config, []problem) {
	var cfg review.Config
	var out []problem
	if strings.TrimSpace(f.JSON) != "" {
		if err := check.Decode([]byte(f.JSON), "the configuration", &cfg); err != nil {
			out = append(out, jsonProblem(w, prefix+"config", err))
		}
	}
	for _, d := range []struct {
		field, typed string
		into         *review.Duration
	}{
		{"evaluate", f.Evaluate, &cfg.Phases.Evaluate}, {"consult", f.Consult, &cfg.Phases.Consult},
		{"update", f.Update, &cfg.Phases.Update}, {"signoff", f.SignOff, &cfg.Phases.SignOff},
		{"approve", f.Approve, &cfg.Phases.Approve}, {"before", f.Before, &cfg.Reminders.Before},
		{"every", f.Every, &cfg.Reminders.Every},
	} {
		if d.typed == "" {
			continue
		}
		v, ok := spanOf(d.typed)
		if !ok {
			out = append(out, problem{Field: prefix + d.field, Text: w.T("dash.not_span", "Value", d.typed)})
			continue
		}
		*d.into = review.Duration(v)
	}
	if f.MaxRounds != "" {
		n, err := strconv.Atoi(f.MaxRounds)
		if err != nil {
			out = append(out, problem{Field: prefix + "max_rounds", Text: w.T("form.not_number", "Value", f.MaxRounds)})
		} else {
			cfg.MaxRounds = n
		}
	}
	return cfg, out
}

// configField is the form field of a field the service names in a refusal
// of a cycle's or a schedule's request, its id given the form's prefix.
func configField(prefix string) func(string) string {
	return func(name string) string {
		if f := configFieldName(name); f != "" {
			return prefix + f
		}
		return ""
	}
}

func configFieldName(name string) string {
	switch name {
	case "year", "month", "day", "hour":
		return name
	case "config.phases.evaluate", "config.phases.consult", "config.phases.update", "config.phases.signoff", "config.phases.approve":
		return strings.TrimPrefix(name, "config.phases.")
	case "config.reminders.before", "config.reminders.every":
		return strings.TrimPrefix(name, "config.reminders.")
	case "config.max_rounds":
		return "max_rounds"
	}
	if name == "config" || strings.HasPrefix(name, "config.") {
		return "config"
	}
	return ""
}

// refusal splits a refusal of the service into the problems a form shows:
// each invalid field's, next to the form field it maps to, in the order of
// the form; or, for a refusal of no field in particular, the whole message.
// The validation's problems are in the reader's words, each field named by
// label (nil: by its path); the rest in the service's.
func refusal(w words, err error, field func(string) string, label func(words, string) string, order []string) []problem {
	var out []problem
	if ps := service.ProblemsOf(err); len(ps) > 0 {
		out = saidProblems(w, ps, field, namedBy(w, label, "config."))
	} else {
		fields := service.FieldsOf(err)
		if len(fields) == 0 {
			return []problem{{Text: err.Error(), Lang: serviceLang}}
		}
		for name, text := range fields {
			out = append(out, problem{Field: field(name), Text: text, Lang: serviceLang})
		}
	}
	rank := func(f string) int {
		if i := slices.Index(order, f); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortFunc(out, func(a, b problem) int {
		return cmp.Or(cmp.Compare(rank(a.Field), rank(b.Field)), cmp.Compare(a.Text, b.Text))
	})
	return out
}

// fieldErrors indexes problems by their field, the first of each.
func fieldErrors(problems []problem) map[string]*fieldErr {
	errs := map[string]*fieldErr{}
	for _, p := range problems {
		if p.Field != "" && errs[p.Field] == nil {
			errs[p.Field] = &fieldErr{ID: p.Field, Text: p.Text, Lang: p.Lang}
		}
	}
	return errs
}

// shownAgain tells whether a refusal is shown with its form again (the
// input or the state refused it: 422, 409) rather than as an error page.
func shownAgain(err error) bool {
	return errors.Is(err, service.ErrInvalid) || errors.Is(err, service.ErrConflict)
}

// spanWords says a default duration in words: "42 days".
func spanWords(w words, d review.Duration) string {
	v := time.Duration(d)
	switch {
	case v%(24*time.Hour) == 0:
		return w.T("dash.days", "N", int(v/(24*time.Hour)))
	case v%time.Hour == 0:
		return w.T("dash.hours", "N", int(v/time.Hour))
	}
	return v.String()
}

// configDefaults are the defaults the configuration's fields show as hints:
// what neither a field nor the JSON gives, the cycle takes from them
// (review.Config.WithDefaults).
func configDefaults(w words) map[string]string {
	p, r := review.DefaultPhases, review.DefaultReminders
	return map[string]string{
		"evaluate": spanWords(w, p.Evaluate), "consult": spanWords(w, p.Consult), "update": spanWords(w, p.Update),
		"signoff": spanWords(w, p.SignOff), "approve": spanWords(w, p.Approve), "before": spanWords(w, r.Before),
		"every": spanWords(w, r.Every), "max_rounds": strconv.Itoa(review.DefaultMaxRounds),
	}
}

// scheduleDate says a yearly date in the reader's words.
func scheduleDate(w words, month, day, hour int, zone string) string {
	date := fmt.Sprintf("%d.%d.", day, month)
	at := fmt.Sprintf("%d.00", hour)
	if w.Lang == render.English {
		date = fmt.Sprintf("%d %s", day, time.Month(month))
		at = fmt.Sprintf("%02d:00", hour)
	}
	return w.T("dash.schedule_every", "Date", date, "Time", at, "Zone", zone)
}

// dashboard reads what the provider's dashboard shows. A part that needs
// Temporal (the schedule) says why it could not be read instead of failing
// the page.
func (s *Server) dashboard(r *http.Request, a *service.Actor, w words, provider string) (dashboardPage, error) {
	ctx := r.Context()
	p := dashboardPage{Provider: provider, Errors: map[string]*fieldErr{}, Sched: scheduleForm{Hour: "6"}}
	if err := s.svc.MaySteer(*a, provider); err != nil {
		return p, err
	}
	cycles, err := s.svc.Cycles(ctx, *a)
	if err != nil {
		return p, err
	}
	years := map[int]bool{}
	for _, c := range cycles {
		if c.Provider != provider {
			continue
		}
		p.Cycles = append(p.Cycles, c)
		years[c.Year] = true
	}
	slices.SortFunc(p.Cycles, func(a, b store.Cycle) int {
		if a.Year != b.Year {
			return b.Year - a.Year
		}
		return b.Attempt - a.Attempt
	})
	for i, c := range p.Cycles {
		latest := i == 0 || p.Cycles[i-1].Year != c.Year
		if latest && (c.Status == review.CycleFailed || c.Status == review.CycleCancelled) {
			p.Ended = append(p.Ended, endedCycle{Cycle: c})
		}
		if c.Status != review.CycleRunning {
			continue
		}
		prog, err := s.svc.CycleProgress(ctx, *a, provider, c.Year)
		if err != nil {
			return p, err
		}
		p.Running = append(p.Running, runningCycle{Cycle: c, Units: unitRows(prog),
			Waiting: prog.WaitingForWorker, NoWorker: prog.Workers != nil && *prog.Workers == 0})
	}
	tasks, err := s.svc.Tasks(ctx, *a, store.TaskFilter{Provider: provider, Status: service.ListOpen})
	if err != nil {
		return p, err
	}
	for _, t := range tasks {
		if t.OverdueAt != nil {
			p.Overdue = append(p.Overdue, t)
		} else {
			p.Open = append(p.Open, t)
		}
	}
	if trends, err := s.svc.IndicatorTrends(ctx, *a, provider); err != nil {
		p.TrendsError = err.Error()
	} else if p.Charts, err = trendCharts(w, trends); err != nil {
		return p, err
	}
	sched, err := s.svc.Schedule(ctx, *a, provider)
	switch {
	case errors.Is(err, service.ErrNotFound):
	case err != nil:
		p.ScheduleError = err.Error()
	default:
		p.Schedule = &sched
		if sched.Month != 0 {
			p.ScheduleDate = scheduleDate(w, sched.Month, sched.Day, sched.Hour, sched.TimeZone)
			p.Sched.Month, p.Sched.Day, p.Sched.Hour = strconv.Itoa(sched.Month), strconv.Itoa(sched.Day), strconv.Itoa(sched.Hour)
		}
	}
	// The year a new cycle is most likely for: this year, or the first
	// after it without a cycle.
	year := s.svc.Now().In(s.zoneOf(r, a)).Year()
	for years[year] {
		year++
	}
	p.Start.Year = strconv.Itoa(year)
	return p, nil
}

// unitRows counts each unit's tasks done, the provider-wide tasks last.
func unitRows(prog review.Progress) []unitRow {
	var rows []unitRow
	count := func(unit string) (done, total int) {
		for _, t := range prog.Tasks {
			if t.Unit != unit || t.Status == review.TaskSuperseded {
				continue
			}
			total++
			if t.Status == review.TaskDone {
				done++
			}
		}
		return done, total
	}
	for _, u := range prog.Units {
		done, total := count(u.Unit)
		rows = append(rows, unitRow{Unit: u.Unit, Phase: u.Phase, Done: done, Total: total})
	}
	if done, total := count(""); total > 0 {
		rows = append(rows, unitRow{Phase: string(prog.Phase), Done: done, Total: total})
	}
	return rows
}

// dashboardNotice says what the form before the redirect did.
func dashboardNotice(w words, loc *time.Location, q url.Values) string {
	switch q.Get("done") {
	case "started":
		return w.T("dash.notice_started", "Year", q.Get("year"))
	case "existed":
		return w.T("dash.notice_existed", "Year", q.Get("year"))
	case "cancelled":
		return w.T("dash.notice_cancelled", "Year", q.Get("year"))
	case "restarted":
		return w.T("dash.notice_restarted", "Year", q.Get("year"))
	case "reassigned":
		return w.T("dash.notice_reassigned", "Task", q.Get("task"), "Person", q.Get("to"))
	case "extended":
		due := "—"
		if sec, err := strconv.ParseInt(q.Get("due"), 10, 64); err == nil {
			due = render.When(time.Unix(sec, 0), loc, w.Lang)
		}
		return w.T("dash.notice_extended", "Task", q.Get("task"), "Due", due)
	case "schedule_set":
		return w.T("dash.notice_schedule_set")
	case "schedule_deleted":
		return w.T("dash.notice_schedule_deleted")
	}
	return ""
}

// showDashboard renders the dashboard of the provider with the status
// code; edit fills in a refused form, or the notice.
func (s *Server) showDashboard(w http.ResponseWriter, r *http.Request, a *service.Actor, provider string, code int, edit func(*dashboardPage, words)) {
	v := s.page(r, a, "dash.title", "dashboard")
	p, err := s.dashboard(r, a, v.W, provider)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	if edit != nil {
		edit(&p, v.W)
	}
	wd, loc := v.W, s.zoneOf(r, a)
	p.StartYear = cfgField{ID: "start-year", Name: "year", Label: wd.T("dash.year"), Value: p.Start.Year, Numeric: true, Err: p.Errors["start-year"]}
	p.StartConfig = newConfigView(wd, "start-", p.Start.configForm, p.Errors)
	p.SchedConfig = newConfigView(wd, "sched-", p.Sched.configForm, p.Errors)
	for _, f := range []struct{ name, label, hint, value string }{
		{"month", wd.T("dash.schedule_month"), "", p.Sched.Month},
		{"day", wd.T("dash.schedule_day"), "", p.Sched.Day},
		{"hour", wd.T("dash.schedule_hour"), wd.T("dash.schedule_hour_hint"), p.Sched.Hour},
	} {
		p.SchedDate = append(p.SchedDate, cfgField{ID: "sched-" + f.name, Name: f.name, Label: f.label, Hint: f.hint,
			Value: f.value, Numeric: true, Err: p.Errors["sched-"+f.name]})
	}
	p.OverdueRows, p.OpenRows = taskRows(wd, loc, p.Overdue), taskRows(wd, loc, p.Open)
	v.Data = p
	s.render(w, r, code, "dashboard.html", v)
}

func (s *Server) pageDashboard(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	s.showDashboard(w, r, a, a.Person.Provider, http.StatusOK, func(p *dashboardPage, w words) {
		p.Notice = dashboardNotice(w, s.zoneOf(r, a), r.URL.Query())
	})
}

// readForm parses a posted form; a form that cannot be read is refused as
// a page.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request, a *service.Actor) bool {
	if err := r.ParseForm(); err != nil {
		s.pageError(w, r, a, errorOf(service.ErrInvalid, "the form could not be read"))
		return false
	}
	return true
}

// pageStartCycle starts a cycle from the dashboard's form.
func (s *Server) pageStartCycle(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok || !s.readForm(w, r, a) {
		return
	}
	provider := r.PathValue("provider")
	wd := s.page(r, a, "dash.title", "dashboard").W
	form := startForm{Year: strings.TrimSpace(r.PostForm.Get("year")), configForm: readConfigForm(r)}
	refuse := func(code int, problems []problem) {
		s.showDashboard(w, r, a, provider, code, func(p *dashboardPage, _ words) {
			p.Start, p.Problems, p.Errors = form, problems, fieldErrors(problems)
		})
	}
	cfg, problems := form.config(wd, "start-")
	year, err := strconv.Atoi(form.Year)
	if err != nil {
		problems = append([]problem{{Field: "start-year", Text: wd.T("dash.not_year", "Value", form.Year)}}, problems...)
	}
	if len(problems) > 0 {
		refuse(http.StatusUnprocessableEntity, problems)
		return
	}
	started, err := s.svc.StartCycle(r.Context(), *a, service.StartCycle{Provider: provider, Year: year, Config: cfg})
	if err != nil {
		if !shownAgain(err) {
			s.pageError(w, r, a, err)
			return
		}
		refuse(statusOf(err), refusal(wd, err, configField("start-"), configLabel, prefixed("start-", configFields)))
		return
	}
	done := "started"
	if started.Existed {
		done = "existed"
	}
	http.Redirect(w, r, "/dashboard?done="+done+"&year="+strconv.Itoa(year), http.StatusSeeOther)
}

// pageCancelCycle cancels a running cycle, with the reason its form gives.
func (s *Server) pageCancelCycle(w http.ResponseWriter, r *http.Request) {
	s.cycleForm(w, r, "cancel", "cancelled", func(a service.Actor, provider string, year int, reason string) error {
		_, err := s.svc.CancelCycle(r.Context(), a, provider, year, reason)
		return err
	}, func(p *dashboardPage, year int, reason string) {
		for i := range p.Running {
			if p.Running[i].Cycle.Year == year {
				p.Running[i].CancelReason = reason
			}
		}
	})
}

func (s *Server) pageRestartCycle(w http.ResponseWriter, r *http.Request) {
	s.cycleForm(w, r, "restart", "restarted", func(a service.Actor, provider string, year int, reason string) error {
		_, err := s.svc.RestartCycle(r.Context(), a, service.RestartCycle{Provider: provider, Year: year, Reason: reason})
		return err
	}, func(p *dashboardPage, year int, reason string) {
		for i := range p.Ended {
			if p.Ended[i].Cycle.Year == year {
				p.Ended[i].RestartReason = reason
			}
		}
	})
}

// cycleForm handles a manager's form on one of the provider's cycles that
// takes a reason (form: cancel, restart): do runs it. Refused, the dashboard
// is shown again with the problems, the reason's next to the form's field
// (FORM-YEAR-reason), and keep puts back what was typed; done, the dashboard
// says so (?done=done).
func (s *Server) cycleForm(w http.ResponseWriter, r *http.Request, form, done string,
	do func(a service.Actor, provider string, year int, reason string) error, keep func(p *dashboardPage, year int, reason string)) {
	a, ok := s.personal(w, r)
	if !ok || !s.readForm(w, r, a) {
		return
	}
	provider, year, err := cycleOf(r)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	reason := r.PostForm.Get("reason")
	if err := do(*a, provider, year, reason); err != nil {
		if !shownAgain(err) {
			s.pageError(w, r, a, err)
			return
		}
		field := fmt.Sprintf("%s-%d-reason", form, year)
		s.showDashboard(w, r, a, provider, statusOf(err), func(p *dashboardPage, wd words) {
			problems := refusal(wd, err, func(name string) string {
				if name == "reason" {
					return field
				}
				return ""
			}, nil, nil)
			p.Problems, p.Errors = problems, fieldErrors(problems)
			keep(p, year, reason)
		})
		return
	}
	http.Redirect(w, r, "/dashboard?done="+done+"&year="+strconv.Itoa(year), http.StatusSeeOther)
}

// steerPage is the page where a manager reassigns or extends a task.
type steerPage struct {
	Task       store.Task
	Overdue    bool
	Candidates []string
	Problems   []problem
	Errors     map[string]*fieldErr
	// What was typed into the forms.
	To, ToOther, ReassignReason string
	By, Due, ExtendReason       string
}

// steerTask reads the task a steering page is about; the person must be
// one who may steer its provider's cycles.
func (s *Server) steerTask(w http.ResponseWriter, r *http.Request, a *service.Actor) (store.Task, bool) {
	t, err := s.svc.Task(r.Context(), *a, r.PathValue("id"))
	if err == nil {
		err = s.svc.MaySteer(*a, t.Provider)
	}
	if err != nil {
		s.pageError(w, r, a, err)
		return store.Task{}, false
	}
	return t, true
}

func (s *Server) showSteer(w http.ResponseWriter, r *http.Request, a *service.Actor, code int, p steerPage) {
	p.Overdue = p.Task.OverdueAt != nil && p.Task.Status == review.TaskOpen
	p.Candidates = p.Task.Candidates
	if p.Errors == nil {
		p.Errors = map[string]*fieldErr{}
	}
	v := s.page(r, a, "dash.steer_title", "dashboard")
	v.Data = p
	s.render(w, r, code, "steertask.html", v)
}

func (s *Server) pageSteerTask(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	t, ok := s.steerTask(w, r, a)
	if !ok {
		return
	}
	s.showSteer(w, r, a, http.StatusOK, steerPage{Task: t})
}

// pageReassign reassigns a task to a person: one of the candidates chosen
// from the list, or anyone of the provider by their ID.
func (s *Server) pageReassign(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok || !s.readForm(w, r, a) {
		return
	}
	t, ok := s.steerTask(w, r, a)
	if !ok {
		return
	}
	p := steerPage{Task: t, To: strings.TrimSpace(r.PostForm.Get("to")), ToOther: strings.TrimSpace(r.PostForm.Get("to_other")),
		ReassignReason: r.PostForm.Get("reason")}
	to, toField := p.To, "reassign-to"
	if p.ToOther != "" {
		to, toField = p.ToOther, "reassign-other"
	}
	_, err := s.svc.ChangeTask(r.Context(), *a, service.ChangeTask{TaskID: t.ID, Op: review.OpReassign, To: to, Reason: p.ReassignReason})
	if errors.Is(err, service.ErrNotFound) && to != "" {
		// The task was found a moment ago: it is the person who is not.
		p.Problems = []problem{{Field: toField, Text: err.Error(), Lang: serviceLang}}
		p.Errors = fieldErrors(p.Problems)
		s.showSteer(w, r, a, http.StatusNotFound, p)
		return
	}
	if err != nil {
		if !shownAgain(err) {
			s.pageError(w, r, a, err)
			return
		}
		wd := s.page(r, a, "dash.steer_title", "dashboard").W
		p.Problems = refusal(wd, err, func(name string) string {
			switch name {
			case "to":
				return toField
			case "reason":
				return "reassign-reason"
			}
			return ""
		}, nil, []string{"reassign-to", "reassign-other", "reassign-reason"})
		p.Errors = fieldErrors(p.Problems)
		s.showSteer(w, r, a, statusOf(err), p)
		return
	}
	http.Redirect(w, r, "/dashboard?done=reassigned&task="+url.QueryEscape(t.ID)+"&to="+url.QueryEscape(to), http.StatusSeeOther)
}

// dueOf reads a new due time as the form's date-and-time field sends it
// ("2027-04-15T16:00"), in OHO's time zone; a date alone is the end of that
// day.
func dueOf(s string, loc *time.Location) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t.Add(24*time.Hour - time.Minute), true
	}
	return time.Time{}, false
}

// pageExtend moves a task's due time: by a duration, or to a new time.
func (s *Server) pageExtend(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok || !s.readForm(w, r, a) {
		return
	}
	t, ok := s.steerTask(w, r, a)
	if !ok {
		return
	}
	wd := s.page(r, a, "dash.steer_title", "dashboard").W
	p := steerPage{Task: t, By: strings.TrimSpace(r.PostForm.Get("by")), Due: strings.TrimSpace(r.PostForm.Get("due")),
		ExtendReason: r.PostForm.Get("reason")}
	req := service.ChangeTask{TaskID: t.ID, Op: review.OpExtend, Reason: p.ExtendReason}
	if p.By != "" {
		by, ok := spanOf(p.By)
		if !ok {
			p.Problems = append(p.Problems, problem{Field: "extend-by", Text: wd.T("dash.not_span", "Value", p.By)})
		}
		req.By = by
	}
	if p.Due != "" {
		due, ok := dueOf(p.Due, s.zoneOf(r, a))
		if !ok {
			p.Problems = append(p.Problems, problem{Field: "extend-due", Text: wd.T("dash.not_due", "Value", p.Due)})
		}
		req.DueAt = due
	}
	if len(p.Problems) > 0 {
		p.Errors = fieldErrors(p.Problems)
		s.showSteer(w, r, a, http.StatusUnprocessableEntity, p)
		return
	}
	res, err := s.svc.ChangeTask(r.Context(), *a, req)
	if err != nil {
		if !shownAgain(err) {
			s.pageError(w, r, a, err)
			return
		}
		p.Problems = refusal(wd, err, func(name string) string {
			switch name {
			case "by":
				return "extend-by"
			case "due_at":
				// Neither or both given: said next to the due time when
				// one was typed there, else next to the first field.
				if p.Due == "" {
					return "extend-by"
				}
				return "extend-due"
			case "reason":
				return "extend-reason"
			}
			return ""
		}, nil, []string{"extend-by", "extend-due", "extend-reason"})
		p.Errors = fieldErrors(p.Problems)
		s.showSteer(w, r, a, statusOf(err), p)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/dashboard?done=extended&task=%s&due=%d", url.QueryEscape(t.ID), res.DueAt.Unix()), http.StatusSeeOther)
}

// pageSetSchedule sets the provider's yearly schedule from its form.
func (s *Server) pageSetSchedule(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok || !s.readForm(w, r, a) {
		return
	}
	provider := r.PathValue("provider")
	wd := s.page(r, a, "dash.title", "dashboard").W
	get := func(name string) string { return strings.TrimSpace(r.PostForm.Get(name)) }
	form := scheduleForm{Month: get("month"), Day: get("day"), Hour: get("hour"), configForm: readConfigForm(r)}
	refuse := func(code int, problems []problem) {
		s.showDashboard(w, r, a, provider, code, func(p *dashboardPage, _ words) {
			p.Sched, p.Problems, p.Errors = form, problems, fieldErrors(problems)
		})
	}
	var problems []problem
	whole := func(field, v string) int {
		if v == "" && field == "hour" {
			return 6 // as the command line's default
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			problems = append(problems, problem{Field: "sched-" + field, Text: wd.T("form.not_number", "Value", v)})
		}
		return n
	}
	date := service.YearlyDate{Month: whole("month", form.Month), Day: whole("day", form.Day), Hour: whole("hour", form.Hour)}
	cfg, more := form.config(wd, "sched-")
	if problems = append(problems, more...); len(problems) > 0 {
		refuse(http.StatusUnprocessableEntity, problems)
		return
	}
	if _, err := s.svc.SetSchedule(r.Context(), *a, service.SetSchedule{Provider: provider, YearlyDate: date, Config: cfg}); err != nil {
		if !shownAgain(err) {
			s.pageError(w, r, a, err)
			return
		}
		refuse(statusOf(err), refusal(wd, err, configField("sched-"), configLabel, prefixed("sched-", configFields)))
		return
	}
	http.Redirect(w, r, "/dashboard?done=schedule_set", http.StatusSeeOther)
}

// pageDeleteSchedule deletes the provider's yearly schedule.
func (s *Server) pageDeleteSchedule(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	if err := s.svc.DeleteSchedule(r.Context(), *a, r.PathValue("provider")); err != nil {
		s.pageError(w, r, a, err)
		return
	}
	http.Redirect(w, r, "/dashboard?done=schedule_deleted", http.StatusSeeOther)
}
