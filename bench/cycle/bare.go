package main

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
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

// newBareWorker is the baseline's worker, with its workflow and activity.
func newBareWorker(c client.Client) worker.Worker {
	w := worker.New(c, bareQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(bareTarget, workflow.RegisterOptions{Name: bareWorkflow})
	w.RegisterActivityWithOptions(bareEmpty, activity.RegisterOptions{Name: bareActivity})
	return w
}

// startBareWorker starts the baseline's worker in this process.
func startBareWorker(c client.Client) (worker.Worker, error) {
	w := newBareWorker(c)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("starting the baseline's worker: %w", err)
	}
	return w, nil
}

// serveBare runs the baseline's worker until SIGINT or SIGTERM: a process
// of its own, as OHO's worker is.
func serveBare(c client.Client) error {
	if err := newBareWorker(c).Run(worker.InterruptCh()); err != nil {
		return fmt.Errorf("running the baseline's worker: %w", err)
	}
	return nil
}

// waitBarePoller waits until a worker polls the baseline's task queue, at
// most a minute.
func waitBarePoller(ctx context.Context, c client.Client) error {
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := c.DescribeTaskQueue(ctx, bareQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil && len(res.GetPollers()) > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no worker polls the baseline's task queue %s after a minute (start one with -serve-bare, or pass -in-process-bare)", bareQueue)
		}
		time.Sleep(200 * time.Millisecond)
	}
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
