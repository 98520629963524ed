package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/workflows"
)

// history is benchmark 6's figures: the events in the parent's and one
// unit's history after a cycle of units units and rounds rounds (every unit
// signing each round, the last asking for changes until the last round),
// and how long replaying each takes.
type history struct {
	Units        int     `json:"units"`
	Rounds       int     `json:"rounds"`
	ParentEvents int     `json:"parent_events"`
	UnitEvents   int     `json:"unit_events"`
	ParentReplay float64 `json:"parent_replay_ms"`
	UnitReplay   float64 `json:"unit_replay_ms"`
	SetupSeconds float64 `json:"setup_seconds"`
	// Goal: the parent's history under 10,240 events (Temporal's warning).
	GoalMet bool `json:"goal_parent_lt_10240"`
}

// runHistory measures benchmark 6, as e2e's TestFiftyUnitsThreeRoundsHistory
// drives its cycle.
func runHistory(ctx context.Context, b *bench, c client.Client, units, rounds int) (history, error) {
	h := history{Units: units, Rounds: rounds}
	const provider, year = "BENCHHIST", 2030
	codes, err := b.importProvider(ctx, provider, units)
	if err != nil {
		return h, err
	}
	cycleID, err := b.startCycle(ctx, provider, year, rounds)
	if err != nil {
		return h, err
	}
	t0 := time.Now()
	if err := b.completeAll(ctx, unitWork(provider, year, codes)); err != nil {
		return h, err
	}
	for round := 1; round <= rounds; round++ {
		if err := b.completeAll(ctx, []completion{{TaskID: review.TaskID(provider, year, review.KindDraft, round, ""), Actor: person(provider, "", "plan_editor"), Outcome: draft(codes, round)}}); err != nil {
			return h, err
		}
		hash, err := b.draftHash(ctx, cycleID, round)
		if err != nil {
			return h, err
		}
		signs := signoffs(provider, year, round, codes, hash, round < rounds)
		// The request for changes goes last, once every other sign-off is
		// recorded, so that no sign-off is superseded.
		if err := b.completeAll(ctx, signs[:len(signs)-1]); err != nil {
			return h, err
		}
		if err := b.completeAll(ctx, signs[len(signs)-1:]); err != nil {
			return h, err
		}
	}
	approve := completion{TaskID: review.TaskID(provider, year, review.KindApprove, rounds, ""), Actor: person(provider, "", "approver"),
		Outcome: raw(map[string]any{"decision": "approve", "effective_from": "2030-08-01"})}
	if err := b.completeAll(ctx, []completion{approve}); err != nil {
		return h, err
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var summary workflows.Summary
	if err := c.GetWorkflow(wctx, cycleID, "").Get(wctx, &summary); err != nil {
		return h, fmt.Errorf("waiting for cycle %s to finish: %w", cycleID, err)
	}
	h.SetupSeconds = time.Since(t0).Seconds()

	parent, err := fetchHistory(ctx, c, cycleID)
	if err != nil {
		return h, err
	}
	unit, err := fetchHistory(ctx, c, review.UnitReviewID(cycleID, codes[0]))
	if err != nil {
		return h, err
	}
	h.ParentEvents, h.UnitEvents = len(parent.Events), len(unit.Events)
	h.GoalMet = h.ParentEvents < 10240
	if h.ParentReplay, err = replay(cycleID, parent); err != nil {
		return h, fmt.Errorf("replaying %s: %w", cycleID, err)
	}
	if h.UnitReplay, err = replay(review.UnitReviewID(cycleID, codes[0]), unit); err != nil {
		return h, fmt.Errorf("replaying %s's child: %w", cycleID, err)
	}
	slog.Info("history", "parent_events", h.ParentEvents, "unit_events", h.UnitEvents, "parent_replay_ms", h.ParentReplay)
	return h, nil
}

// fetchHistory reads a workflow's whole history.
func fetchHistory(ctx context.Context, c client.Client, workflowID string) (*historypb.History, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("reading the history of %s: %w", workflowID, err)
		}
		h.Events = append(h.Events, e)
	}
	return h, nil
}

// quiet takes the replayer's log.
var quiet = sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

// replay replays the history of a workflow against the current workflow
// code and returns how long it took in milliseconds (the best of three). It
// runs under the recorded ID, from which the workflows derive their
// children's.
func replay(workflowID string, h *historypb.History) (float64, error) {
	best := time.Duration(0)
	for range 3 {
		r := worker.NewWorkflowReplayer()
		r.RegisterWorkflow(workflows.ReviewCycle)
		r.RegisterWorkflow(workflows.UnitReview)
		r.RegisterWorkflow(workflows.UnitSignOff)
		t := time.Now()
		if err := r.ReplayWorkflowHistoryWithOptions(quiet, h, worker.ReplayWorkflowHistoryOptions{
			OriginalExecution: workflow.Execution{ID: workflowID, RunID: "recorded"},
		}); err != nil {
			return 0, err
		}
		if d := time.Since(t); best == 0 || d < best {
			best = d
		}
	}
	return float64(best.Microseconds()) / 1000, nil
}
