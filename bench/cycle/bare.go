package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The bare baseline: a minimal Temporal program written for the benchmark,
// with its own workflow type and task queue, registered in the benchmark's
// own worker. It is what OHO's completion is compared with.
const (
	bareQueue    = "oho-bench-bare"
	bareWorkflow = "BenchBareTarget"
	bareActivity = "BenchBareEmpty"
	// updateNoActivity is baseline (a): an Update whose handler runs no
	// activity; updateActivity is baseline (b): one that runs one empty
	// activity, as OHO's handler runs its recording activity.
	updateNoActivity = "bare-no-activity"
	updateActivity   = "bare-one-activity"
	bareStop         = "stop"
)

// bareTarget waits for Updates until it is signalled to stop, then
// finishes once every handler has.
func bareTarget(ctx workflow.Context) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	if err := workflow.SetUpdateHandler(ctx, updateNoActivity, func(ctx workflow.Context, n int) (int, error) {
		return n, nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, updateActivity, func(ctx workflow.Context, n int) (int, error) {
		var out int
		err := workflow.ExecuteActivity(actx, bareActivity, n).Get(ctx, &out)
		return out, err
	}); err != nil {
		return err
	}
	workflow.GetSignalChannel(ctx, bareStop).Receive(ctx, nil)
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// bareEmpty is the empty activity of baseline (b).
func bareEmpty(_ context.Context, n int) (int, error) { return n, nil }

// startBareWorker starts the baseline's worker in this process.
func startBareWorker(c client.Client) (worker.Worker, error) {
	w := worker.New(c, bareQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(bareTarget, workflow.RegisterOptions{Name: bareWorkflow})
	w.RegisterActivityWithOptions(bareEmpty, activity.RegisterOptions{Name: bareActivity})
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("starting the baseline's worker: %w", err)
	}
	return w, nil
}

// startBareTargets starts n workflows of the baseline, one per client, so
// that no client waits for another's Update as OHO's clients complete
// tasks of different units.
func startBareTargets(ctx context.Context, c client.Client, run string, n int) ([]string, error) {
	var ids []string
	for i := range n {
		id := fmt.Sprintf("bench-bare/%s/%d", run, i)
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: bareQueue}, bareWorkflow); err != nil {
			return nil, fmt.Errorf("starting the baseline's workflow %s: %w", id, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// stopBareTargets signals the baseline's workflows to finish.
func stopBareTargets(ctx context.Context, c client.Client, ids []string) {
	for _, id := range ids {
		_ = c.SignalWorkflow(ctx, id, "", bareStop, nil)
	}
}

// bareUpdate sends one baseline Update and waits until it has completed, as
// the service waits for a completion.
func bareUpdate(ctx context.Context, c client.Client, workflowID, name, updateID string, n int) error {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: name, UpdateID: updateID, Args: []any{n},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return fmt.Errorf("update %s of %s: %w", name, workflowID, err)
	}
	var out int
	if err := h.Get(ctx, &out); err != nil {
		return fmt.Errorf("update %s of %s: %w", name, workflowID, err)
	}
	return nil
}
