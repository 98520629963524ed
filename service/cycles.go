package service

import (
	"context"
	"errors"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
)

// StartCycle asks to start the provider's review cycle for the year.
type StartCycle struct {
	Provider string        `json:"provider"`
	Year     int           `json:"year"`
	Config   review.Config `json:"config"`
}

// Started is the cycle StartCycle started, or found.
type Started struct {
	CycleID string `json:"cycle_id"`
	// Existed is true when a cycle for the year existed already, running or
	// finished: nothing was started then.
	Existed bool `json:"existed"`
}

// StartCycle starts the provider's ReviewCycle for the year once the actor
// may (the provider's managers) and the provider is ready (every role a
// cycle needs is filled). Starting a cycle that exists already starts
// nothing and reports it.
func (s *Service) StartCycle(ctx context.Context, a Actor, in StartCycle) (Started, error) {
	if err := checkCycle(in.Provider, in.Year); err != nil {
		return Started{}, err
	}
	if err := checkConfig(in.Config); err != nil {
		return Started{}, err
	}
	if err := a.authorize(in.Provider, authz.OpStart, authz.Subject{}); err != nil {
		return Started{}, err
	}
	if err := s.store.CheckReady(ctx, in.Provider); err != nil {
		err = fromStore(err)
		var e *Error
		if errors.As(err, &e) {
			e.msg = "cannot start the cycle: " + e.msg
		}
		return Started{}, err
	}
	if err := s.checkCatalogueUnits(ctx, in.Provider, in.Config.Indicators); err != nil {
		return Started{}, err
	}
	c, err := s.client(ctx)
	if err != nil {
		return Started{}, err
	}
	id := review.CycleID(in.Provider, in.Year)
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                s.queue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrProvider.ValueSet(in.Provider),
			workflows.AttrYear.ValueSet(int64(in.Year)),
			workflows.AttrPhase.ValueSet(string(review.PhaseEvaluate)),
		),
	}, workflows.ReviewCycle, workflows.CycleInput{Provider: in.Provider, Year: in.Year, Config: in.Config, StartedBy: a.ID(), Via: a.Via})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		return Started{CycleID: id, Existed: true}, nil
	case err != nil:
		return Started{}, fromTemporal("starting workflow "+id, err)
	}
	return Started{CycleID: id}, nil
}

// CancelCycle cancels the provider's running cycle for the year on a
// manager's word, with a reason: open tasks close as cancelled and nothing
// recorded is lost.
func (s *Service) CancelCycle(ctx context.Context, a Actor, provider string, year int, reason string) (workflows.Summary, error) {
	if err := checkCycle(provider, year); err != nil {
		return workflows.Summary{}, err
	}
	reason, err := checkReason("cancel", reason, true)
	if err != nil {
		return workflows.Summary{}, err
	}
	if err := a.authorize(provider, authz.OpCancel, authz.Subject{}); err != nil {
		return workflows.Summary{}, err
	}
	cyc, err := s.store.Cycle(ctx, provider, year)
	if err != nil {
		return workflows.Summary{}, fromStore(err)
	}
	if cyc.Status != review.CycleRunning {
		return workflows.Summary{}, errorOf(ErrConflict, "refused: cycle %s is %s and cannot be cancelled", cyc.ID, cyc.Status)
	}
	c, err := s.client(ctx)
	if err != nil {
		return workflows.Summary{}, err
	}
	uctx, cancel := context.WithTimeout(ctx, s.updateTimeout)
	defer cancel()
	req := workflows.CancelCycleRequest{Actor: a.ID(), Reason: reason, Via: a.Via}
	key := req
	key.Via = review.Via{}
	sum, err := sendUpdate[workflows.Summary](uctx, c, cyc.ID, workflows.UpdateCancelCycle, req, key)
	if err != nil {
		return workflows.Summary{}, s.fromUpdate("cycle "+cyc.ID, cyc.ID, err)
	}
	return sum, nil
}

// Cycles lists the cycles the actor may see — their provider's; every
// provider's for the operator — ordered by provider and year.
func (s *Service) Cycles(ctx context.Context, a Actor) ([]store.Cycle, error) {
	provider := a.Person.Provider
	if a.operator {
		provider = ""
	} else if err := a.authorize(provider, authz.OpRead, authz.Subject{}); err != nil {
		return nil, err
	}
	cycles, err := s.store.Cycles(ctx, provider)
	return cycles, fromStore(err)
}

// CycleProgress says where the provider's cycle for the year stands, from
// the records: it works without a worker and for cycles long finished.
func (s *Service) CycleProgress(ctx context.Context, a Actor, provider string, year int) (review.Progress, error) {
	if err := checkCycle(provider, year); err != nil {
		return review.Progress{}, err
	}
	if err := a.authorize(provider, authz.OpRead, authz.Subject{}); err != nil {
		return review.Progress{}, err
	}
	p, err := s.store.CycleStatus(ctx, provider, year)
	return p, fromStore(err)
}
