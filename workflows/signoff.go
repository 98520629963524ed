package workflows

import (
	"encoding/json"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/oho-dev/oho/review"
)

// versionSignOffInUnits is the change that moved each unit's sign-off out
// of the cycle's workflow into a UnitSignOff child of its own, one per unit
// and round. Temporal admits a few Updates in flight per workflow (10 by
// default) and turns the rest away to retry after a second or more, so
// 100 unit heads signing the same draft at once in the one cycle workflow
// waited seconds (README, "Performance"); in workflows of their own they
// meet nobody. Histories from before it replay with the sign-offs in the
// cycle's own workflow (signOffInCycle).
const versionSignOffInUnits = "signoff-in-unit-workflows"

// signOff has every unit head sign the draft off in parallel. It reports
// whether all approved; at the first request for changes the other sign-offs
// are closed as superseded and the comments go to the next round's draft.
func (c *cycle) signOff(ctx workflow.Context) (bool, error) {
	if err := c.setPhase(ctx, review.PhaseSignOff); err != nil {
		return false, err
	}
	c.setUnits("signoff")
	if workflow.GetVersion(ctx, versionSignOffInUnits, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return c.signOffInCycle(ctx)
	}
	return c.signOffInUnits(ctx)
}

// signOffInUnits runs a UnitSignOff child per unit. When one ends with a
// request for changes, the others still open are told to close as
// superseded; a sign-off already being recorded at that moment finishes,
// and its request, if it is one, joins the comments too.
func (c *cycle) signOffInUnits(ctx workflow.Context) (bool, error) {
	// The cycle's status query lists the sign-offs, as the children know
	// them when they end; each child's own query has the details.
	base := len(c.signing)
	futures := make([]workflow.ChildWorkflowFuture, len(c.units))
	for i, u := range c.units {
		c.signing = append(c.signing, review.TaskProgress{
			ID: c.ref().TaskID(review.KindSignOff, c.round, u.Code), Kind: review.KindSignOff, Unit: u.Code,
			Holder: review.Pool(review.KindSignOff.AssigneeRole(), u.Code), Status: review.TaskOpen,
			DueAt: workflow.Now(ctx).Add(c.cfg.Phases.For(review.KindSignOff)).UTC(),
		})
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: review.SignOffWorkflowID(c.id, u.Code, c.round),
			TypedSearchAttributes: temporal.NewSearchAttributes(
				AttrProvider.ValueSet(c.in.Provider), AttrYear.ValueSet(int64(c.in.Year)),
				AttrPhase.ValueSet(string(review.PhaseSignOff))),
		})
		futures[i] = workflow.ExecuteChildWorkflow(cctx, UnitSignOff, UnitSignOffInput{
			CycleID: c.id, Provider: c.in.Provider, Year: c.in.Year, Attempt: c.in.Restart.Attempt, Unit: u.Code,
			Round: c.round, VersionHash: c.draftHash, Phases: c.cfg.Phases, Reminders: c.cfg.Reminders,
			Managers: c.board.managers,
		})
	}
	var requests []review.Comment
	var failed error
	ended := make([]bool, len(c.units))
	sel := workflow.NewSelector(ctx)
	for i := range futures {
		sel.AddFuture(futures[i], func(f workflow.Future) {
			ended[i] = true
			var r UnitSignOffResult
			if err := f.Get(ctx, &r); err != nil {
				if failed == nil {
					failed = temporal.NewNonRetryableApplicationError(
						fmt.Sprintf("the sign-off of unit %s failed: %s", c.units[i].Code, Reason(err)), ErrTypeUnitFailed, err)
				}
				return
			}
			c.signing[base+i].Status = r.Status
			if r.Status != review.TaskDone {
				return
			}
			var s review.SignOff
			if err := json.Unmarshal(r.Outcome, &s); err != nil {
				failed = fmt.Errorf("reading the sign-off of unit %s: %w", r.Unit, err)
				return
			}
			if s.Decision == review.DecisionRequestChanges {
				requests = append(requests, review.Comment{Round: c.round, Unit: r.Unit, By: r.Actor, Text: s.Comment})
				c.unitPhase[r.Unit] = "changes_requested"
			} else {
				c.unitPhase[r.Unit] = "signed_off"
			}
		})
	}
	superseding := false
	for range futures {
		sel.Select(ctx)
		if failed != nil {
			return false, failed
		}
		if len(requests) == 0 || superseding {
			continue
		}
		superseding = true
		reason := fmt.Sprintf("unit %s requested changes to the round %d draft", requests[0].Unit, c.round)
		for i := range futures {
			if !ended[i] {
				// A child that ends before the signal reaches it has
				// nothing left to close; its result says how it ended.
				futures[i].SignalChildWorkflow(ctx, SignalSupersede, reason)
			}
		}
	}
	if len(requests) == 0 {
		return true, nil
	}
	c.comments = requests
	c.setUnits("waiting")
	return false, nil
}

// UnitSignOff is the child workflow in which one unit's head signs a
// round's draft off, bound to its hash, or requests changes. Each unit and
// round has its own, so that heads signing at the same moment do not queue
// behind one another in one workflow. It ends when the sign-off is
// recorded, or, on the cycle's supersede signal, with the task closed as
// superseded.
func UnitSignOff(ctx workflow.Context, in UnitSignOffInput) (UnitSignOffResult, error) {
	b, err := newBoard(ctx, in.Reminders)
	if err != nil {
		return UnitSignOffResult{}, err
	}
	b.managers = in.Managers
	ref := review.CycleRef{Provider: in.Provider, Year: in.Year, Attempt: in.Attempt}
	t, err := newTask(ctx, in.CycleID, ref, review.KindSignOff, in.Round, in.Unit, in.Phases,
		review.SignOffInput{Round: in.Round, VersionHash: in.VersionHash})
	if err != nil {
		return UnitSignOffResult{}, err
	}
	t.check = func(raw json.RawMessage) error {
		var s review.SignOff
		if err := review.DecodeOutcome(raw, &s); err != nil {
			return err
		}
		return s.Check(in.VersionHash)
	}
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	err = workflow.SetQueryHandler(ctx, QueryStatus, func() (review.Progress, error) {
		phase := "signoff"
		if t.state == stateDone {
			phase = "signed"
		}
		return review.Progress{
			Provider: in.Provider, Year: in.Year, WorkflowID: id, Status: review.CycleRunning,
			Phase: review.PhaseSignOff, Round: in.Round,
			Units: []review.UnitProgress{{Unit: in.Unit, Phase: phase}}, Tasks: b.statuses(),
		}, nil
	})
	if err != nil {
		return UnitSignOffResult{}, fmt.Errorf("registering %s: %w", QueryStatus, err)
	}
	var supersede string
	workflow.Go(ctx, func(ctx workflow.Context) {
		workflow.GetSignalChannel(ctx, SignalSupersede).Receive(ctx, &supersede)
	})

	tasks := []*task{t}
	if err := b.open(ctx, review.PhaseSignOff, in.Round, tasks); err != nil {
		return UnitSignOffResult{}, err
	}
	if err := b.wait(ctx, tasks, func() bool { return supersede != "" }); err != nil {
		return UnitSignOffResult{}, err
	}
	if t.state != stateDone {
		if err := b.supersede(ctx, tasks, supersede); err != nil {
			return UnitSignOffResult{}, err
		}
	}
	res := UnitSignOffResult{Unit: in.Unit, TaskID: t.spec.ID, Status: t.status()}
	if t.state == stateDone {
		res.Actor, res.Outcome = t.actor, t.outcome
	}
	return res, nil
}
