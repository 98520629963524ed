package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/review"
)

// Error types of a cycle that ends without a published plan.
const (
	ErrTypeInvalidInput  = "InvalidInput"
	ErrTypeTooManyRounds = "TooManyRounds"
	ErrTypeUnitFailed    = "UnitFailed"
)

// ReviewCycle runs a provider's yearly review of its student welfare plan:
// every unit evaluates and hears its students (in UnitReview children), the
// plan editor drafts the next version answering what they found, every unit
// head signs the exact draft off, and the approver approves it for
// publication. A request for changes or a return starts another round, up to
// the configured maximum.
func ReviewCycle(ctx workflow.Context, in CycleInput) (Summary, error) {
	c, err := newCycle(ctx, in)
	if err != nil {
		return Summary{}, err
	}
	return c.run(ctx)
}

type cycle struct {
	in     CycleInput
	id     string
	cfg    review.Config
	board  *board
	status string
	phase  review.Phase
	round  int

	units     []review.Unit
	unitPhase map[string]string
	keys      []string
	baseline  review.PlanContent
	items     []review.Item
	// checklist is the legal content drafts must cover; carried the items
	// earlier cycles deferred (both from the cycle's setup).
	checklist        []review.ChecklistItem
	checklistReasons bool
	carried          []review.Item

	draft     review.PlanContent
	draftHash string
	comments  []review.Comment
	// signing lists the sign-offs of every round run in UnitSignOff
	// children, for the status query.
	signing []review.TaskProgress

	// stop cancels the stages; reason is why a manager cancelled the cycle.
	stop   workflow.CancelFunc
	reason string
}

// setupInput is what the cycle was started with, as the store records it.
func (c *cycle) setupInput() review.SetupCycleInput {
	return review.SetupCycleInput{
		CycleID: c.id, Provider: c.in.Provider, Year: c.in.Year, Config: c.cfg, StartedBy: c.in.StartedBy, Via: c.in.Via,
		Restart: c.in.Restart,
	}
}

// ref names the attempt the cycle is, which its task IDs carry.
func (c *cycle) ref() review.CycleRef {
	return review.CycleRef{Provider: c.in.Provider, Year: c.in.Year, Attempt: c.in.Restart.Attempt}
}

func newCycle(ctx workflow.Context, in CycleInput) (*cycle, error) {
	c := &cycle{
		in: in, id: workflow.GetInfo(ctx).WorkflowExecution.ID,
		cfg: in.Config.WithDefaults(), status: review.CycleRunning, phase: review.PhaseEvaluate,
		unitPhase: map[string]string{},
	}
	if err := check.Struct(in); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("invalid cycle input: "+err.Error(), ErrTypeInvalidInput, nil)
	}
	if err := c.cfg.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("invalid cycle config: "+err.Error(), ErrTypeInvalidInput, nil)
	}
	b, err := newBoard(ctx, c.cfg.Reminders)
	if err != nil {
		return nil, err
	}
	c.board = b
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancelCycle, c.cancel,
		workflow.UpdateHandlerOptions{Validator: c.validateCancel})
	if err != nil {
		return nil, fmt.Errorf("registering %s: %w", UpdateCancelCycle, err)
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, c.query); err != nil {
		return nil, fmt.Errorf("registering %s: %w", QueryStatus, err)
	}
	return c, nil
}

func (c *cycle) run(ctx workflow.Context) (Summary, error) {
	// The stages run on a context the cancel-cycle Update can cancel, which
	// stops the timers, the waits and the units' children.
	stagesCtx, stop := workflow.WithCancel(ctx)
	c.stop = stop
	summary, err := c.stages(stagesCtx)
	if c.status == review.CycleCancelled {
		return Summary{Provider: c.in.Provider, Year: c.in.Year, Status: review.CycleCancelled, Reason: c.reason, Rounds: c.round}, nil
	}
	if err != nil {
		return Summary{}, c.fail(ctx, err)
	}
	return summary, nil
}

func (c *cycle) stages(ctx workflow.Context) (Summary, error) {
	var setup review.CycleSetup
	actCtx := workflow.WithActivityOptions(ctx, activityOptions)
	err := workflow.ExecuteActivity(actCtx, ActivitySetupCycle, c.setupInput()).Get(ctx, &setup)
	if err != nil {
		return Summary{}, fmt.Errorf("setting up the cycle: %w", err)
	}
	c.units, c.baseline = setup.Units, setup.Baseline
	c.checklist, c.checklistReasons, c.carried = setup.Checklist, setup.ChecklistReasons, setup.Carried
	c.keys = c.baseline.Keys()
	c.board.managers = setup.Managers

	if err := c.evaluate(ctx, setup.PreviousChanges); err != nil {
		return Summary{}, err
	}
	for round := 1; round <= c.cfg.MaxRounds; round++ {
		c.round = round
		if err := c.update(ctx); err != nil {
			return Summary{}, err
		}
		signed, err := c.signOff(ctx)
		if err != nil {
			return Summary{}, err
		}
		if !signed {
			continue
		}
		approval, approver, err := c.approve(ctx)
		if err != nil {
			return Summary{}, err
		}
		if approval.Decision == review.DecisionApprove {
			return c.publish(ctx, approval, approver)
		}
	}
	reason := fmt.Sprintf("no plan was approved within %d rounds (max_rounds); start a new cycle or raise max_rounds", c.cfg.MaxRounds)
	return Summary{}, temporal.NewNonRetryableApplicationError(reason, ErrTypeTooManyRounds, nil)
}

// setPhase moves the cycle to a phase in its state and search attributes.
func (c *cycle) setPhase(ctx workflow.Context, p review.Phase) error {
	c.phase = p
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrPhase.ValueSet(string(p))); err != nil {
		return fmt.Errorf("setting the phase search attribute: %w", err)
	}
	return nil
}

func (c *cycle) setUnits(phase string) {
	for _, u := range c.units {
		c.unitPhase[u.Code] = phase
	}
}

// evaluate runs every unit's UnitReview in parallel and gathers the findings
// and feedback items, in unit order.
func (c *cycle) evaluate(ctx workflow.Context, previousChanges []string) error {
	if err := c.setPhase(ctx, review.PhaseEvaluate); err != nil {
		return err
	}
	c.setUnits("evaluate")
	futures := make([]workflow.ChildWorkflowFuture, len(c.units))
	for i, u := range c.units {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: review.UnitReviewID(c.id, u.Code),
			TypedSearchAttributes: temporal.NewSearchAttributes(
				AttrProvider.ValueSet(c.in.Provider), AttrYear.ValueSet(int64(c.in.Year)),
				AttrPhase.ValueSet(string(review.PhaseEvaluate))),
		})
		futures[i] = workflow.ExecuteChildWorkflow(cctx, UnitReview, UnitInput{
			CycleID: c.id, Provider: c.in.Provider, Year: c.in.Year, Attempt: c.in.Restart.Attempt, Unit: u.Code,
			Sections: c.baseline.Outline(), PreviousChanges: previousChanges, Phases: c.cfg.Phases,
			Reminders: c.cfg.Reminders, Managers: c.board.managers, Indicators: c.cfg.Indicators,
		})
	}
	results := make([]UnitResult, len(c.units))
	var failed error
	sel := workflow.NewSelector(ctx)
	for i := range futures {
		sel.AddFuture(futures[i], func(f workflow.Future) {
			if err := f.Get(ctx, &results[i]); err != nil && failed == nil {
				failed = temporal.NewNonRetryableApplicationError(
					fmt.Sprintf("the review of unit %s failed: %s", c.units[i].Code, Reason(err)), ErrTypeUnitFailed, err)
			}
			c.unitPhase[c.units[i].Code] = "waiting"
		})
	}
	for range futures {
		sel.Select(ctx)
		if failed != nil {
			return failed
		}
	}
	for _, r := range results {
		c.items = append(c.items, r.Items...)
	}
	// What earlier cycles deferred comes back, after this year's findings.
	c.items = append(c.items, c.carried...)
	return nil
}

// update has the plan editor draft the round's version of the plan.
func (c *cycle) update(ctx workflow.Context) error {
	if err := c.setPhase(ctx, review.PhaseUpdate); err != nil {
		return err
	}
	var need []string
	for _, it := range c.items {
		if it.NeedsDisposition() {
			need = append(need, it.Ref)
		}
	}
	t, err := newTask(ctx, c.id, c.ref(), review.KindDraft, c.round, "", c.cfg.Phases, review.DraftInput{
		Round: c.round, Plan: c.baseline, Items: c.items, NeedDisposition: need, Comments: c.comments,
		Checklist: c.checklist, ChecklistReasons: c.checklistReasons,
	})
	if err != nil {
		return err
	}
	t.check = func(raw json.RawMessage) error {
		var d review.Draft
		if err := review.DecodeOutcome(raw, &d); err != nil {
			return err
		}
		if err := d.Check(c.keys, c.items, c.units); err != nil {
			return err
		}
		return d.CheckCoverage(c.checklist, c.keys, c.checklistReasons)
	}
	t.draft = func(raw json.RawMessage) *review.PlanContent {
		var d review.Draft
		// The outcome passed validation, so it decodes.
		_ = json.Unmarshal(raw, &d)
		content := c.baseline.Apply(d.Changes, c.units...)
		return &content
	}
	t.onDone = func(raw json.RawMessage) {
		c.draft = *t.draft(raw)
		c.draftHash = c.draft.Hash()
	}
	if err := c.board.open(ctx, review.PhaseUpdate, c.round, []*task{t}); err != nil {
		return err
	}
	return c.board.wait(ctx, []*task{t}, nil)
}

// signOffInCycle is how sign-offs ran before versionSignOffInUnits: as
// tasks of the cycle's own workflow. Histories recorded before that change
// replay through it.
func (c *cycle) signOffInCycle(ctx workflow.Context) (bool, error) {
	var requests []review.Comment
	tasks := make([]*task, len(c.units))
	for i, u := range c.units {
		t, err := newTask(ctx, c.id, c.ref(), review.KindSignOff, c.round, u.Code, c.cfg.Phases,
			review.SignOffInput{Round: c.round, VersionHash: c.draftHash})
		if err != nil {
			return false, err
		}
		unit := u.Code
		t.check = func(raw json.RawMessage) error {
			var s review.SignOff
			if err := review.DecodeOutcome(raw, &s); err != nil {
				return err
			}
			return s.Check(c.draftHash)
		}
		t.onDone = func(raw json.RawMessage) {
			var s review.SignOff
			_ = json.Unmarshal(raw, &s)
			if s.Decision == review.DecisionRequestChanges {
				requests = append(requests, review.Comment{Round: c.round, Unit: unit, By: t.actor, Text: s.Comment})
				c.unitPhase[unit] = "changes_requested"
			} else {
				c.unitPhase[unit] = "signed_off"
			}
		}
		tasks[i] = t
	}
	if err := c.board.open(ctx, review.PhaseSignOff, c.round, tasks); err != nil {
		return false, err
	}
	if err := c.board.wait(ctx, tasks, func() bool { return len(requests) > 0 }); err != nil {
		return false, err
	}
	if len(requests) == 0 {
		return true, nil
	}
	reason := fmt.Sprintf("unit %s requested changes to the round %d draft", requests[0].Unit, c.round)
	if err := c.board.supersede(ctx, tasks, reason); err != nil {
		return false, err
	}
	c.comments = requests
	c.setUnits("waiting")
	return false, nil
}

// approve has the approver approve the signed-off draft or return it.
func (c *cycle) approve(ctx workflow.Context) (review.Approval, string, error) {
	if err := c.setPhase(ctx, review.PhaseApprove); err != nil {
		return review.Approval{}, "", err
	}
	c.setUnits("waiting")
	t, err := newTask(ctx, c.id, c.ref(), review.KindApprove, c.round, "", c.cfg.Phases,
		review.SignOffInput{Round: c.round, VersionHash: c.draftHash})
	if err != nil {
		return review.Approval{}, "", err
	}
	t.check = func(raw json.RawMessage) error {
		var a review.Approval
		if err := review.DecodeOutcome(raw, &a); err != nil {
			return err
		}
		return a.Check()
	}
	if err := c.board.open(ctx, review.PhaseApprove, c.round, []*task{t}); err != nil {
		return review.Approval{}, "", err
	}
	if err := c.board.wait(ctx, []*task{t}, nil); err != nil {
		return review.Approval{}, "", err
	}
	var a review.Approval
	if err := json.Unmarshal(t.outcome, &a); err != nil {
		return review.Approval{}, "", fmt.Errorf("reading the approval: %w", err)
	}
	if a.Decision == review.DecisionReturn {
		c.comments = []review.Comment{{Round: c.round, By: t.actor, Text: a.Comment}}
	}
	return a, t.actor, nil
}

// publish writes the approved draft as the plan's next version.
func (c *cycle) publish(ctx workflow.Context, a review.Approval, approver string) (Summary, error) {
	var pub review.Published
	actCtx := workflow.WithActivityOptions(ctx, activityOptions)
	err := workflow.ExecuteActivity(actCtx, ActivityPublish, review.PublishInput{
		CycleID: c.id, Provider: c.in.Provider, Round: c.round, Content: c.draft,
		EffectiveFrom: a.EffectiveFrom, ApprovedBy: approver,
	}).Get(ctx, &pub)
	if err != nil {
		return Summary{}, fmt.Errorf("publishing the plan: %w", err)
	}
	if err := c.setPhase(ctx, review.PhasePublished); err != nil {
		return Summary{}, err
	}
	c.status = review.CycleCompleted
	c.setUnits("done")
	return Summary{
		Provider: c.in.Provider, Year: c.in.Year, Status: review.CycleCompleted, Version: pub.Version, Hash: pub.Hash,
		EffectiveFrom: a.EffectiveFrom, Rounds: c.round,
	}, nil
}

// fail records why the cycle ends without a plan and returns the error the
// workflow fails with. It runs on a disconnected context so that the record
// is written even when the cycle was cancelled.
func (c *cycle) fail(ctx workflow.Context, cause error) error {
	reason := Reason(cause)
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	actCtx := workflow.WithActivityOptions(dctx, activityOptions)
	started := c.setupInput()
	if err := workflow.ExecuteActivity(actCtx, ActivityFailCycle, review.FailCycleInput{CycleID: c.id, Reason: reason, Cycle: &started}).Get(dctx, nil); err != nil {
		// Only a permanent refusal gets here (the provider is gone, say):
		// the workflow's own failure still carries the reason.
		workflow.GetLogger(ctx).Warn("the failed cycle could not be recorded", "reason", reason, "error", err)
	}
	c.status = review.CycleFailed
	if err := c.setPhase(dctx, review.PhaseFailed); err != nil {
		return err
	}
	return cause
}

func (c *cycle) query() (review.Progress, error) {
	s := review.Progress{
		Provider: c.in.Provider, Year: c.in.Year, WorkflowID: c.id,
		Status: c.status, Phase: c.phase, Round: c.round, Attempt: max(c.in.Restart.Attempt, 1), RestartOf: c.in.Restart.Of,
		Units: make([]review.UnitProgress, len(c.units)), Tasks: append(c.board.statuses(), c.signing...),
	}
	for i, u := range c.units {
		s.Units[i] = review.UnitProgress{Unit: u.Code, Phase: c.unitPhase[u.Code]}
	}
	return s, nil
}

// Reason returns the message of the outermost application error in err's
// chain: what the workflow or its validator said, without the layers of
// wrapping the client adds.
func Reason(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return strings.TrimSpace(err.Error())
}
