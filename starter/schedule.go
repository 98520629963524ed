package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/connect"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
)

// shownRuns is how many of a schedule's next runs show prints: a few years
// ahead is all anyone plans.
const shownRuns = 3

// yearlyDate is the day and hour, in workflows.ScheduleTimeZone, on which a
// provider's schedule starts the cycle for the new year.
type yearlyDate struct {
	Month, Day, Hour int
}

// check refuses a date that does not come every year. 29 February comes once
// in four years, and 03:00 on the last Sunday of March not at all: Helsinki's
// clocks jump from 03:00 to 04:00 then, and a schedule skips a time that does
// not exist, so in those years no cycle would start.
func (d yearlyDate) check() error {
	if d.Month < 1 || d.Month > 12 {
		return fmt.Errorf("--month %d is not a month (1-12)", d.Month)
	}
	m := time.Month(d.Month)
	if m == time.February && d.Day == 29 {
		return errors.New("--day 29 --month 2 is refused: 29 February comes only in leap years, so the schedule would skip three years in four; choose 28 February or 1 March")
	}
	// 2001 is not a leap year: February has 28 days.
	if n := time.Date(2001, m+1, 0, 0, 0, 0, 0, time.UTC).Day(); d.Day < 1 || d.Day > n {
		return fmt.Errorf("--day %d is not a day of %s (1-%d)", d.Day, m, n)
	}
	if d.Hour < 0 || d.Hour > 23 {
		return fmt.Errorf("--hour %d is not an hour (0-23)", d.Hour)
	}
	if m == time.March && d.Day >= 25 && d.Hour == 3 {
		return fmt.Errorf("--hour 3 on %d March is refused: in the years when that day is the last Sunday of March, 03:00 does not exist in %s (clocks go from 03:00 to 04:00) and no cycle would start; choose another hour", d.Day, workflows.ScheduleTimeZone)
	}
	return nil
}

// String says the date in words: "every year on 15 August at 06:00
// Europe/Helsinki".
func (d yearlyDate) String() string {
	return fmt.Sprintf("every year on %d %s at %02d:00 %s", d.Day, time.Month(d.Month), d.Hour, workflows.ScheduleTimeZone)
}

// spec is the Temporal Schedule spec of the date.
func (d yearlyDate) spec(provider string) client.ScheduleSpec {
	return client.ScheduleSpec{
		Calendars: []client.ScheduleCalendarSpec{{
			Month:      []client.ScheduleRange{{Start: d.Month}},
			DayOfMonth: []client.ScheduleRange{{Start: d.Day}},
			Hour:       []client.ScheduleRange{{Start: d.Hour}},
			Comment:    "start the review cycle of " + provider + " for the new year",
		}},
		TimeZoneName: workflows.ScheduleTimeZone,
	}
}

// next is the first time after now that the date comes.
func (d yearlyDate) next(now time.Time) time.Time {
	loc := workflows.ScheduleLocation()
	for y := now.In(loc).Year(); ; y++ {
		if t := time.Date(y, time.Month(d.Month), d.Day, d.Hour, 0, 0, 0, loc); t.After(now) {
			return t
		}
	}
}

// dateOf reads back the date of a spec that `schedule set` wrote; ok is false
// for a spec changed by other means.
func dateOf(spec *client.ScheduleSpec) (d yearlyDate, ok bool) {
	if spec == nil || len(spec.Calendars) != 1 || spec.TimeZoneName != workflows.ScheduleTimeZone {
		return yearlyDate{}, false
	}
	single := func(rs []client.ScheduleRange) (int, bool) {
		if len(rs) != 1 || (rs[0].End != 0 && rs[0].End != rs[0].Start) {
			return 0, false
		}
		return rs[0].Start, true
	}
	c := spec.Calendars[0]
	var okM, okD, okH bool
	d.Month, okM = single(c.Month)
	d.Day, okD = single(c.DayOfMonth)
	d.Hour, okH = single(c.Hour)
	return d, okM && okD && okH
}

// yearlyAction is what a provider's schedule does every year: start
// YearlyStart, which starts the cycle under its deterministic ID.
func yearlyAction(provider string, cfg review.Config) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:        workflows.YearlyStartWorkflowID(provider),
		Workflow:  workflows.YearlyStart,
		Args:      []any{workflows.YearlyStartInput{Provider: provider, Config: cfg}},
		TaskQueue: connect.TaskQueue(),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrProvider.ValueSet(provider),
		),
	}
}

// scheduleFlags parses a schedule command's flags, refusing missing required
// ones (a usage error) and a malformed provider code.
func scheduleFlags(fs *flag.FlagSet, args []string, provider *string, need ...string) error {
	fs.StringVar(provider, "provider", "", "provider code")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, n := range append([]string{"provider"}, need...) {
		if !given[n] {
			return usagef("%s needs --%s", fs.Name(), n)
		}
	}
	if !check.Code(*provider) {
		return fmt.Errorf("--provider %q is not a provider code (1-32 letters, digits, '-' or '_')", *provider)
	}
	return nil
}

// authorizeSchedule asks the authorization matrix whether the person may set
// or delete the provider's yearly schedule, which starts cycles: only the
// provider's managers may.
func authorizeSchedule(p store.Person, provider, verb string) error {
	err := authorize(p, provider, authz.OpStart)
	var refusal *authz.Error
	if errors.As(err, &refusal) {
		return fmt.Errorf("refused: %q may not %s the yearly schedule of %s: %s", refusal.Actor, verb, provider, refusal.Why)
	}
	return err
}

func noSchedule(provider string, err error) error {
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return fmt.Errorf("provider %s has no yearly schedule (set one with 'starter schedule set')", provider)
	}
	return err
}

// scheduleSet creates the provider's yearly schedule, or replaces the date,
// hour and config of the one it has.
func (a *app) scheduleSet(ctx context.Context, args []string) error {
	fs := newFlags("schedule set")
	var provider string
	var d yearlyDate
	fs.IntVar(&d.Month, "month", 0, "month, 1-12")
	fs.IntVar(&d.Day, "day", 0, "day of the month")
	fs.IntVar(&d.Hour, "hour", 6, "hour, 0-23, in "+workflows.ScheduleTimeZone)
	configFile := fs.String("config", "", "cycle config file (JSON)")
	as := fs.String("as", "", "manager setting the schedule")
	if err := scheduleFlags(fs, args, &provider, "month", "day", "as"); err != nil {
		return err
	}
	if err := d.check(); err != nil {
		return err
	}
	var cfg review.Config
	if *configFile != "" {
		if _, err := readJSONFile(*configFile, &cfg); err != nil {
			return err
		}
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("%s: %w", *configFile, err)
		}
	}
	p, err := a.actor(ctx, *as)
	if err != nil {
		return err
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	// A schedule is set months ahead: missing role holders may be found by
	// then, so only an unknown provider is refused. The cycle's own set-up
	// refuses a provider that is still not ready when the day comes.
	notReady := st.CheckReady(ctx, provider)
	switch {
	case errors.Is(notReady, store.ErrNotFound):
		return fmt.Errorf("cannot set the yearly schedule: %w", notReady)
	case notReady != nil && !errors.Is(notReady, store.ErrNotReady):
		return notReady
	}
	if err := authorizeSchedule(p, provider, "set"); err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}

	id := workflows.ScheduleID(provider)
	spec, action := d.spec(provider), yearlyAction(provider, cfg)
	note := "set by " + p.ID
	done := "created"
	_, err = c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: id, Spec: spec, Action: action, Note: note,
		// YearlyStart ends within seconds; should one still be waiting for
		// a worker a year later, the next must not start beside it.
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		done = "updated"
		err = c.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				s := in.Description.Schedule
				s.Spec, s.Action = &spec, action
				if s.Policy == nil {
					s.Policy = &client.SchedulePolicies{}
				}
				s.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
				if s.State == nil {
					s.State = &client.ScheduleState{}
				}
				s.State.Note = note
				return &client.ScheduleUpdate{Schedule: &s}, nil
			},
		})
	}
	if err != nil {
		return fmt.Errorf("setting schedule %s: %w", id, err)
	}
	payload := map[string]any{"month": d.Month, "day": d.Day, "hour": d.Hour, "time_zone": workflows.ScheduleTimeZone, "config": cfg, "change": done}
	if err := st.RecordScheduleChange(ctx, p.ID, store.ActionScheduleSet, id, payload); err != nil {
		return fmt.Errorf("schedule %s is %s, but recording that in the audit trail failed (set it again to record it): %w", id, done, err)
	}
	if errors.Is(notReady, store.ErrNotReady) {
		fmt.Fprintf(a.stderr, "warning: %s; the schedule is set all the same, but its cycle will not start unless the roles are filled by then\n", oneLine(notReady.Error()))
	}
	a.printf("yearly schedule %s %s: %s; next run %s\n", id, done, d, formatRun(d.next(time.Now())))
	return nil
}

// shownSchedule is what schedule show prints; its JSON form is stable.
// Month, day and hour are 0 when the schedule's spec was changed by other
// means than schedule set.
type shownSchedule struct {
	Provider      string      `json:"provider"`
	ScheduleID    string      `json:"schedule_id"`
	Month         int         `json:"month"`
	Day           int         `json:"day"`
	Hour          int         `json:"hour"`
	TimeZone      string      `json:"time_zone"`
	NextRuns      []time.Time `json:"next_runs"`
	Paused        bool        `json:"paused"`
	Note          string      `json:"note"`
	RecentActions []shownRun  `json:"recent_actions"`
}

// shownRun is one action a schedule took: when it was meant for, when it
// happened and the YearlyStart workflow it started.
type shownRun struct {
	ScheduledAt time.Time `json:"scheduled_at"`
	StartedAt   time.Time `json:"started_at"`
	WorkflowID  string    `json:"workflow_id"`
}

func formatRun(t time.Time) string {
	return t.In(workflows.ScheduleLocation()).Format("2 January 2006 15:04 MST")
}

func (a *app) scheduleShow(ctx context.Context, args []string) error {
	fs := newFlags("schedule show")
	var provider string
	asJSON := fs.Bool("json", false, "print JSON")
	if err := scheduleFlags(fs, args, &provider); err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	desc, err := c.ScheduleClient().GetHandle(ctx, workflows.ScheduleID(provider)).Describe(ctx)
	if err != nil {
		return noSchedule(provider, err)
	}
	loc := workflows.ScheduleLocation()
	d, ours := dateOf(desc.Schedule.Spec)
	s := shownSchedule{
		Provider: provider, ScheduleID: workflows.ScheduleID(provider),
		Month: d.Month, Day: d.Day, Hour: d.Hour, TimeZone: workflows.ScheduleTimeZone,
		NextRuns: []time.Time{}, RecentActions: []shownRun{},
	}
	if st := desc.Schedule.State; st != nil {
		s.Paused, s.Note = st.Paused, st.Note
	}
	for _, t := range desc.Info.NextActionTimes {
		if len(s.NextRuns) < shownRuns {
			s.NextRuns = append(s.NextRuns, t.In(loc))
		}
	}
	for _, r := range desc.Info.RecentActions {
		run := shownRun{ScheduledAt: r.ScheduleTime.In(loc), StartedAt: r.ActualTime.In(loc)}
		if r.StartWorkflowResult != nil {
			run.WorkflowID = r.StartWorkflowResult.WorkflowID
		}
		s.RecentActions = append(s.RecentActions, run)
	}
	if *asJSON {
		return a.printJSON(s)
	}

	when := d.String()
	if !ours {
		when = "on a calendar changed outside OHO (set it again with 'starter schedule set')"
	}
	a.printf("yearly schedule %s: %s\n", s.ScheduleID, when)
	if s.Paused {
		a.printf("paused: %s\n", s.Note)
	} else if s.Note != "" {
		a.printf("note: %s\n", s.Note)
	}
	runs := make([]string, len(s.NextRuns))
	for i, t := range s.NextRuns {
		runs[i] = formatRun(t)
	}
	if len(runs) == 0 {
		runs = []string{"none"}
	}
	a.printf("next runs: %s\n", strings.Join(runs, ", "))
	if len(s.RecentActions) == 0 {
		a.printf("recent actions: none\n")
		return nil
	}
	a.printf("recent actions:\n")
	for _, r := range s.RecentActions {
		a.printf("  %s  started %s\n", formatRun(r.StartedAt), r.WorkflowID)
	}
	return nil
}

func (a *app) scheduleDelete(ctx context.Context, args []string) error {
	fs := newFlags("schedule delete")
	var provider string
	as := fs.String("as", "", "manager deleting the schedule")
	if err := scheduleFlags(fs, args, &provider, "as"); err != nil {
		return err
	}
	p, err := a.actor(ctx, *as)
	if err != nil {
		return err
	}
	if err := authorizeSchedule(p, provider, "delete"); err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	id := workflows.ScheduleID(provider)
	if err := c.ScheduleClient().GetHandle(ctx, id).Delete(ctx); err != nil {
		return noSchedule(provider, err)
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	if err := st.RecordScheduleChange(ctx, p.ID, store.ActionScheduleDeleted, id, map[string]any{}); err != nil {
		return fmt.Errorf("schedule %s is deleted, but recording that in the audit trail failed: %w", id, err)
	}
	a.printf("yearly schedule %s deleted; cycles it started go on\n", id)
	return nil
}
