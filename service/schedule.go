package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
)

// ShownRuns is how many of a schedule's next runs Schedule returns: a few
// years ahead is all anyone plans.
const ShownRuns = 3

// YearlyDate is the day and hour, in workflows.ScheduleTimeZone, on which a
// provider's schedule starts the cycle for the new year.
//
// Schedules run in that zone whatever the provider's time zone: the
// YearlyStart workflow reads the year there, and giving each schedule its
// provider's zone would have to change that workflow's input. Only the
// times shown differ: a schedule's runs are given in the provider's zone.
type YearlyDate struct {
	Month int `json:"month"`
	Day   int `json:"day"`
	Hour  int `json:"hour"`
}

// Check refuses a date that does not come every year. 29 February comes once
// in four years, and 03:00 on the last Sunday of March not at all: Helsinki's
// clocks jump from 03:00 to 04:00 then, and a schedule skips a time that does
// not exist, so in those years no cycle would start.
func (d YearlyDate) Check() error {
	if d.Month < 1 || d.Month > 12 {
		return invalid("month", "month %d is not a month (1-12)", d.Month)
	}
	m := time.Month(d.Month)
	if m == time.February && d.Day == 29 {
		return invalid("day", "day 29 of month 2 is refused: 29 February comes only in leap years, so the schedule would skip three years in four; choose 28 February or 1 March")
	}
	// 2001 is not a leap year: February has 28 days.
	if n := time.Date(2001, m+1, 0, 0, 0, 0, 0, time.UTC).Day(); d.Day < 1 || d.Day > n {
		return invalid("day", "day %d is not a day of %s (1-%d)", d.Day, m, n)
	}
	if d.Hour < 0 || d.Hour > 23 {
		return invalid("hour", "hour %d is not an hour (0-23)", d.Hour)
	}
	if m == time.March && d.Day >= 25 && d.Hour == 3 {
		return invalid("hour", "hour 3 on %d March is refused: in the years when that day is the last Sunday of March, 03:00 does not exist in %s (clocks go from 03:00 to 04:00) and no cycle would start; choose another hour", d.Day, workflows.ScheduleTimeZone)
	}
	return nil
}

// String says the date in words: "every year on 15 August at 06:00
// Europe/Helsinki".
func (d YearlyDate) String() string {
	return fmt.Sprintf("every year on %d %s at %02d:00 %s", d.Day, time.Month(d.Month), d.Hour, workflows.ScheduleTimeZone)
}

// spec is the Temporal Schedule spec of the date.
func (d YearlyDate) spec(provider string) client.ScheduleSpec {
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

// Next is the first time after now that the date comes.
func (d YearlyDate) Next(now time.Time) time.Time {
	loc := workflows.ScheduleLocation()
	for y := now.In(loc).Year(); ; y++ {
		if t := time.Date(y, time.Month(d.Month), d.Day, d.Hour, 0, 0, 0, loc); t.After(now) {
			return t
		}
	}
}

// dateOf reads back the date of a spec that SetSchedule wrote; ok is false
// for a spec changed by other means.
func dateOf(spec *client.ScheduleSpec) (d YearlyDate, ok bool) {
	if spec == nil || len(spec.Calendars) != 1 || spec.TimeZoneName != workflows.ScheduleTimeZone {
		return YearlyDate{}, false
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
func (s *Service) yearlyAction(provider string, cfg review.Config) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:        workflows.YearlyStartWorkflowID(provider),
		Workflow:  workflows.YearlyStart,
		Args:      []any{workflows.YearlyStartInput{Provider: provider, Config: cfg}},
		TaskQueue: s.queue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrProvider.ValueSet(provider),
		),
	}
}

// SetSchedule asks for a provider's yearly schedule.
type SetSchedule struct {
	Provider string `json:"provider"`
	YearlyDate
	Config review.Config `json:"config"`
}

// ScheduleSet is what SetSchedule did.
type ScheduleSet struct {
	ScheduleID string `json:"schedule_id"`
	// Change is "created" or "updated".
	Change string     `json:"change"`
	Date   YearlyDate `json:"date"`
	// Next is the schedule's next run, in the provider's time zone.
	Next time.Time `json:"next"`
	// Warning says why the cycle the schedule starts would not start if the
	// day came now (roles not filled); the schedule is set all the same.
	Warning string `json:"warning,omitempty"`
}

// scheduleRefusal rewords an authorization refusal for a schedule.
func scheduleRefusal(err error, provider, verb string) error {
	var refusal *authz.Error
	if errors.As(err, &refusal) {
		return &Error{kind: ErrForbidden, msg: fmt.Sprintf("refused: %q may not %s the yearly schedule of %s: %s", refusal.Actor, verb, provider, refusal.Why), err: err}
	}
	return err
}

// SetSchedule creates the provider's yearly schedule, or replaces the date,
// hour and config of the one it has; only the provider's managers may, as
// it starts cycles. The change is recorded in the audit trail after Temporal
// took it.
func (s *Service) SetSchedule(ctx context.Context, a Actor, in SetSchedule) (ScheduleSet, error) {
	if err := checkProvider(in.Provider); err != nil {
		return ScheduleSet{}, err
	}
	if err := in.YearlyDate.Check(); err != nil {
		return ScheduleSet{}, err
	}
	if err := checkConfig(in.Config); err != nil {
		return ScheduleSet{}, err
	}
	if err := a.authorize(in.Provider, authz.OpStart, authz.Subject{}); err != nil {
		return ScheduleSet{}, scheduleRefusal(err, in.Provider, "set")
	}
	// A schedule is set months ahead: missing role holders may be found by
	// then, so only an unknown provider is refused. The cycle's own set-up
	// refuses a provider that is still not ready when the day comes.
	notReady := s.store.CheckReady(ctx, in.Provider)
	switch {
	case errors.Is(notReady, store.ErrNotFound):
		return ScheduleSet{}, &Error{kind: ErrNotFound, msg: "cannot set the yearly schedule: " + notReady.Error(), err: notReady}
	case notReady != nil && !errors.Is(notReady, store.ErrNotReady):
		return ScheduleSet{}, fromStore(notReady)
	}
	if err := s.checkCatalogueUnits(ctx, in.Provider, in.Config.Indicators); err != nil {
		return ScheduleSet{}, err
	}
	loc, err := s.location(ctx, in.Provider)
	if err != nil {
		return ScheduleSet{}, err
	}
	c, err := s.client(ctx)
	if err != nil {
		return ScheduleSet{}, err
	}

	id := workflows.ScheduleID(in.Provider)
	spec, action := in.YearlyDate.spec(in.Provider), s.yearlyAction(in.Provider, in.Config)
	note := "set by " + a.ID()
	res := ScheduleSet{ScheduleID: id, Change: "created", Date: in.YearlyDate, Next: in.YearlyDate.Next(s.now()).In(loc)}
	_, err = c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: id, Spec: spec, Action: action, Note: note,
		// YearlyStart ends within seconds; should one still be waiting for
		// a worker a year later, the next must not start beside it.
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		res.Change = "updated"
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
		return ScheduleSet{}, fromTemporal("setting schedule "+id, err)
	}
	payload := map[string]any{"month": in.Month, "day": in.Day, "hour": in.Hour, "time_zone": workflows.ScheduleTimeZone, "config": in.Config, "change": res.Change}
	if err := s.store.RecordScheduleChange(a.ctx(ctx), a.ID(), store.ActionScheduleSet, id, payload); err != nil {
		return ScheduleSet{}, fmt.Errorf("schedule %s is %s, but recording that in the audit trail failed (set it again to record it): %w", id, res.Change, fromStore(err))
	}
	if errors.Is(notReady, store.ErrNotReady) {
		res.Warning = notReady.Error()
	}
	return res, nil
}

// Schedule is a provider's yearly schedule as Temporal holds it. Month, day
// and hour are 0 when its spec was changed by other means than SetSchedule;
// they are in TimeZone, the zone of every yearly schedule
// (workflows.ScheduleTimeZone). The times of its runs are given in the
// provider's time zone, in which people read them.
type Schedule struct {
	Provider      string        `json:"provider"`
	ScheduleID    string        `json:"schedule_id"`
	Month         int           `json:"month"`
	Day           int           `json:"day"`
	Hour          int           `json:"hour"`
	TimeZone      string        `json:"time_zone"`
	NextRuns      []time.Time   `json:"next_runs"`
	Paused        bool          `json:"paused"`
	Note          string        `json:"note"`
	RecentActions []ScheduleRun `json:"recent_actions"`
	// OurSpec is false when the calendar was changed outside OHO.
	OurSpec bool `json:"-"`
}

// ScheduleRun is one action a schedule took: when it was meant for, when it
// happened and the YearlyStart workflow it started.
type ScheduleRun struct {
	ScheduledAt time.Time `json:"scheduled_at"`
	StartedAt   time.Time `json:"started_at"`
	WorkflowID  string    `json:"workflow_id"`
}

// Schedule returns the provider's yearly schedule with its next runs and
// what it has done lately; people of the provider may read it.
func (s *Service) Schedule(ctx context.Context, a Actor, provider string) (Schedule, error) {
	if err := checkProvider(provider); err != nil {
		return Schedule{}, err
	}
	if err := a.authorize(provider, authz.OpRead, authz.Subject{}); err != nil {
		return Schedule{}, err
	}
	c, err := s.client(ctx)
	if err != nil {
		return Schedule{}, err
	}
	desc, err := c.ScheduleClient().GetHandle(ctx, workflows.ScheduleID(provider)).Describe(ctx)
	if err != nil {
		return Schedule{}, noSchedule(provider, err)
	}
	loc, err := s.location(ctx, provider)
	if err != nil {
		return Schedule{}, err
	}
	d, ours := dateOf(desc.Schedule.Spec)
	out := Schedule{
		Provider: provider, ScheduleID: workflows.ScheduleID(provider),
		Month: d.Month, Day: d.Day, Hour: d.Hour, TimeZone: workflows.ScheduleTimeZone,
		NextRuns: []time.Time{}, RecentActions: []ScheduleRun{}, OurSpec: ours,
	}
	if st := desc.Schedule.State; st != nil {
		out.Paused, out.Note = st.Paused, st.Note
	}
	for _, t := range desc.Info.NextActionTimes {
		if len(out.NextRuns) < ShownRuns {
			out.NextRuns = append(out.NextRuns, t.In(loc))
		}
	}
	for _, r := range desc.Info.RecentActions {
		run := ScheduleRun{ScheduledAt: r.ScheduleTime.In(loc), StartedAt: r.ActualTime.In(loc)}
		if r.StartWorkflowResult != nil {
			run.WorkflowID = r.StartWorkflowResult.WorkflowID
		}
		out.RecentActions = append(out.RecentActions, run)
	}
	return out, nil
}

// DeleteSchedule deletes the provider's yearly schedule; cycles it started
// go on. Only the provider's managers may.
func (s *Service) DeleteSchedule(ctx context.Context, a Actor, provider string) error {
	if err := checkProvider(provider); err != nil {
		return err
	}
	if err := a.authorize(provider, authz.OpStart, authz.Subject{}); err != nil {
		return scheduleRefusal(err, provider, "delete")
	}
	c, err := s.client(ctx)
	if err != nil {
		return err
	}
	id := workflows.ScheduleID(provider)
	if err := c.ScheduleClient().GetHandle(ctx, id).Delete(ctx); err != nil {
		return noSchedule(provider, err)
	}
	if err := s.store.RecordScheduleChange(a.ctx(ctx), a.ID(), store.ActionScheduleDeleted, id, map[string]any{}); err != nil {
		return fmt.Errorf("schedule %s is deleted, but recording that in the audit trail failed: %w", id, fromStore(err))
	}
	return nil
}

func noSchedule(provider string, err error) error {
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return &Error{kind: ErrNotFound, msg: fmt.Sprintf("provider %s has no yearly schedule", provider), err: err}
	}
	return fromTemporal("reading the yearly schedule of "+provider, err)
}
