package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/review"
)

// UpdateCancelCycle cancels a running cycle on a manager's word: open tasks
// close as cancelled, the records say who and why, and nothing recorded is
// lost. The workflow then completes with a Summary whose status is
// "cancelled" (Temporal shows it as completed: the cycle ended as its
// participants decided, it did not fail).
const UpdateCancelCycle = "cancel-cycle"

// CancelCycleRequest is the argument of the cancel-cycle Update.
type CancelCycleRequest struct {
	Actor  string `json:"actor"`
	Reason string `json:"reason"`
	// Via is how the actor reached OHO, for the audit trail.
	Via review.Via `json:"via,omitzero"`
}

func (c *cycle) validateCancel(_ workflow.Context, req CancelCycleRequest) error {
	if c.status != review.CycleRunning || c.stop == nil {
		return refuse(RefusedCycleClosed, "cycle %s is %s and cannot be cancelled", c.id, c.statusWord())
	}
	var grants []authz.Grant
	for _, m := range c.board.managers {
		if m == req.Actor {
			grants = append(grants, authz.Grant{Role: authz.RoleManager})
		}
	}
	if err := authz.Check(req.Actor, grants, authz.OpCancel, authz.Subject{}); err != nil {
		return refuse(RefusedNotAllowed, "%v", err)
	}
	if strings.TrimSpace(req.Reason) == "" {
		return refuse(RefusedInvalidRequest, "cancel needs a reason")
	}
	return nil
}

func (c *cycle) statusWord() string {
	if c.status == review.CycleRunning {
		return "still being set up"
	}
	return c.status
}

func (c *cycle) cancel(ctx workflow.Context, req CancelCycleRequest) (Summary, error) {
	reason := strings.TrimSpace(req.Reason)
	actCtx := workflow.WithActivityOptions(ctx, activityOptions)
	in := review.CancelCycleInput{CycleID: c.id, Actor: req.Actor, Reason: reason, Via: req.Via}
	if err := workflow.ExecuteActivity(actCtx, ActivityCancelCycle, in).Get(ctx, nil); err != nil {
		return Summary{}, fmt.Errorf("recording the cancellation: %w", err)
	}
	c.status, c.reason = review.CycleCancelled, reason
	c.board.cancel()
	c.setUnits("cancelled")
	if err := c.setPhase(ctx, review.PhaseCancelled); err != nil {
		return Summary{}, err
	}
	c.stop()
	return Summary{Provider: c.in.Provider, Year: c.in.Year, Status: review.CycleCancelled, Reason: reason, Rounds: c.round}, nil
}
