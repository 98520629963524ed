package service

import (
	"context"
	"errors"
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
	return s.startCycle(ctx, a, review.SetupCycleInput{
		CycleID: review.CycleID(in.Provider, in.Year), Provider: in.Provider, Year: in.Year, Config: in.Config,
	})
}

// startCycle starts the ReviewCycle workflow of the cycle in and records the
// cycle at once — the workflow's first activity records it too, but only
// once a worker runs it — so that the cycle is visible, and says that it
// waits for a worker, from the moment Temporal has it. in.StartedBy and
// in.Via are the actor's.
func (s *Service) startCycle(ctx context.Context, a Actor, in review.SetupCycleInput) (Started, error) {
	c, err := s.client(ctx)
	if err != nil {
		return Started{}, err
	}
	in.StartedBy, in.Via = a.ID(), a.Via
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       in.CycleID,
		TaskQueue:                                s.queue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrProvider.ValueSet(in.Provider),
			workflows.AttrYear.ValueSet(int64(in.Year)),
			workflows.AttrPhase.ValueSet(string(review.PhaseEvaluate)),
		),
	}, workflows.ReviewCycle, workflows.CycleInput{
		Provider: in.Provider, Year: in.Year, Config: in.Config, StartedBy: in.StartedBy, Via: in.Via, Restart: in.Restart,
	})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		return Started{CycleID: in.CycleID, Existed: true}, nil
	case err != nil:
		return Started{}, fromTemporal("starting workflow "+in.CycleID, err)
	}
	// The record the workflow's set-up would make, with the same event,
	// naming the run as the activity's would. Should this fail, the cycle
	// is started all the same and the set-up records it when a worker runs
	// it; the person is not told the start failed when it did not.
	in.Config = in.Config.WithDefaults()
	rctx := store.WithVia(store.WithRun(ctx, in.CycleID, run.GetRunID()), in.Via)
	if err := s.store.RecordCycleStart(rctx, in); err != nil {
		s.log.Warn("the cycle is started but could not be recorded before a worker sets it up", "cycle", in.CycleID, "error", err)
	}
	return Started{CycleID: in.CycleID}, nil
}

// RestartCycle starts the provider's cycle for the year again after it
// failed or was cancelled, as a new attempt with IDs of its own: the ended
// attempt keeps its records and workflow history, and the audit trail links
// the two (cycle.restarted on the old, cycle.started naming it on the new).
// Without a config the new attempt runs with the ended one's. Like a start,
// it needs the provider's managers and a ready provider; a year whose cycle
// runs or has completed is refused with ErrConflict.
func (s *Service) RestartCycle(ctx context.Context, a Actor, in RestartCycle) (Started, error) {
	if err := checkCycle(in.Provider, in.Year); err != nil {
		return Started{}, err
	}
	reason, err := checkReason("restart", in.Reason, true)
	if err != nil {
		return Started{}, err
	}
	if in.Config != nil {
		if err := checkConfig(*in.Config); err != nil {
			return Started{}, err
		}
	}
	if err := a.authorize(in.Provider, authz.OpStart, authz.Subject{}); err != nil {
		return Started{}, err
	}
	old, err := s.store.Cycle(ctx, in.Provider, in.Year)
	if err != nil {
		return Started{}, fromStore(err)
	}
	if old.Status != review.CycleFailed && old.Status != review.CycleCancelled {
		return Started{}, errorOf(ErrConflict, "refused: cycle %s is %s; only a failed or cancelled cycle can be started again", old.ID, old.Status)
	}
	var cfg review.Config
	if in.Config != nil {
		cfg = *in.Config
	} else if cfg, err = DecodeConfig(old.Config, "the config of cycle "+old.ID); err != nil {
		return Started{}, err
	}
	if err := s.store.CheckReady(ctx, in.Provider); err != nil {
		err = fromStore(err)
		var e *Error
		if errors.As(err, &e) {
			e.msg = "cannot start the cycle again: " + e.msg
		}
		return Started{}, err
	}
	if err := s.checkCatalogueUnits(ctx, in.Provider, cfg.Indicators); err != nil {
		return Started{}, err
	}
	next := review.CycleRef{Provider: in.Provider, Year: in.Year, Attempt: old.Attempt + 1}
	return s.startCycle(ctx, a, review.SetupCycleInput{
		CycleID: next.ID(), Provider: in.Provider, Year: in.Year, Config: cfg,
		Restart: review.Restart{Attempt: next.Attempt, Of: old.ID, Reason: reason},
	})
}

// RestartCycle asks to start the provider's failed or cancelled cycle for
// the year again, with the manager's reason and, optionally, another config.
type RestartCycle struct {
	Provider string         `json:"provider"`
	Year     int            `json:"year"`
	Reason   string         `json:"reason"`
	Config   *review.Config `json:"config,omitempty"`
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
		return workflows.Summary{}, s.fromUpdate(ctx, "cycle "+cyc.ID, cyc.ID, err)
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
	if err != nil {
		return review.Progress{}, fromStore(err)
	}
	if p.WaitingForWorker {
		p.TaskQueue, p.Workers = s.queue, s.workers(ctx)
	}
	return p, nil
}

// workers is how many workers poll the task queue for workflow tasks, as
// Temporal has seen them in the last minutes; -1 when it cannot be asked.
func (s *Service) workers(ctx context.Context) *int {
	n := -1
	if c, err := s.client(ctx); err == nil {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if resp, err := c.DescribeTaskQueue(dctx, s.queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW); err == nil {
			n = len(resp.GetPollers())
		}
	}
	return &n
}
