package workflows

import (
	"fmt"
	"time"

	// The schedule's zone must load on every worker, zone files installed or
	// not, so that every worker computes the same year.
	_ "time/tzdata"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/review"
)

// ScheduleTimeZone is the zone of every yearly schedule, and the zone in
// which YearlyStart reads the year: a Finnish school's year turns in
// Helsinki, two or three hours before it does in UTC. It is the default
// time zone of providers; a provider in another zone still has its schedule
// here (its runs are shown in its own zone).
const ScheduleTimeZone = review.DefaultTimeZone

// scheduleLocation is ScheduleTimeZone, loaded once. With time/tzdata
// embedded the name always loads.
var scheduleLocation = func() *time.Location {
	loc, err := time.LoadLocation(ScheduleTimeZone)
	if err != nil {
		panic(fmt.Sprintf("loading time zone %s: %v", ScheduleTimeZone, err))
	}
	return loc
}()

// ScheduleLocation returns the location of ScheduleTimeZone.
func ScheduleLocation() *time.Location { return scheduleLocation }

// ScheduleID is the ID of the Temporal Schedule that starts a provider's
// cycle every year.
func ScheduleID(provider string) string { return "review-cycle-schedule/" + provider }

// YearlyStartWorkflowID is the workflow ID a provider's schedule gives the
// YearlyStart workflows it starts; the schedule appends the time of each run.
func YearlyStartWorkflowID(provider string) string { return "yearly-start/" + provider }

// attrScheduledStartTime is the system search attribute a Temporal Schedule
// sets on the workflows it starts: the time the run was meant for.
var attrScheduledStartTime = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// YearlyStartInput is what a provider's yearly schedule passes to YearlyStart.
type YearlyStartInput struct {
	Provider string        `json:"provider" validate:"required,code"`
	Config   review.Config `json:"config"`
}

// YearlyStartResult says which cycle YearlyStart meant and whether it
// started it.
type YearlyStartResult struct {
	// WorkflowID is the cycle's ID, review-cycle/<provider>/<year>.
	WorkflowID string `json:"workflow_id"`
	Year       int    `json:"year"`
	// Started is false when a cycle for the year existed already, running or
	// closed; nothing was started then.
	Started bool `json:"started"`
	// RunID is the run of the cycle started; empty when none was.
	RunID string `json:"run_id,omitempty"`
	// At is the time the year was read from: when the schedule meant the run
	// to happen, or when YearlyStart ran if no schedule started it.
	At time.Time `json:"at"`
}

// YearlyStart starts a provider's ReviewCycle for the current year; a
// Temporal Schedule (ScheduleID) runs it once a year.
//
// A schedule appends the time to the IDs of the workflows it starts, so it
// cannot start the cycle under its deterministic ID itself: this workflow
// does, as an abandoned child, and returns as soon as the cycle has started.
// The year is that of the time the schedule meant the run for (not of when a
// worker got round to it), in ScheduleTimeZone. A cycle that exists already
// for the year, running or closed, is left alone.
//
// Whether the provider is ready for a cycle is for the cycle's SetupCycle
// activity to check: it refuses a provider that is not and records why.
func YearlyStart(ctx workflow.Context, in YearlyStartInput) (YearlyStartResult, error) {
	if err := check.Struct(in); err != nil {
		return YearlyStartResult{}, temporal.NewNonRetryableApplicationError("invalid yearly start input: "+err.Error(), ErrTypeInvalidInput, nil)
	}
	if err := in.Config.Validate(); err != nil {
		return YearlyStartResult{}, temporal.NewNonRetryableApplicationError("invalid cycle config: "+err.Error(), ErrTypeInvalidInput, nil)
	}
	at := workflow.Now(ctx)
	if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(attrScheduledStartTime); ok && !t.IsZero() {
		at = t
	}
	at = at.In(scheduleLocation)
	res := YearlyStartResult{Year: at.Year(), At: at}
	res.WorkflowID = review.CycleID(in.Provider, res.Year)

	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: res.WorkflowID,
		// The cycle runs for months; this workflow ends once it has started.
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			AttrProvider.ValueSet(in.Provider),
			AttrYear.ValueSet(int64(res.Year)),
			AttrPhase.ValueSet(string(review.PhaseEvaluate)),
		),
	})
	child := workflow.ExecuteChildWorkflow(cctx, ReviewCycle, CycleInput{Provider: in.Provider, Year: res.Year, Config: in.Config})
	var started workflow.Execution
	err := child.GetChildWorkflowExecution().Get(ctx, &started)
	logger := workflow.GetLogger(ctx)
	switch {
	case temporal.IsWorkflowExecutionAlreadyStartedError(err):
		logger.Info("a cycle for the year exists already; nothing started", "cycle", res.WorkflowID)
		return res, nil
	case err != nil:
		return YearlyStartResult{}, fmt.Errorf("starting cycle %s: %w", res.WorkflowID, err)
	}
	res.Started, res.RunID = true, started.RunID
	logger.Info("cycle started", "cycle", res.WorkflowID, "run_id", started.RunID)
	return res, nil
}
