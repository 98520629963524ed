package workflows

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// CompleteTask sends the complete-task Update to the workflow that waits for
// the task (TaskSpec.WorkflowID) and waits until the outcome is recorded.
//
// The Update ID is derived from task, actor and outcome, so sending the same
// completion again (after a lost answer, say) is answered once and recorded
// once. A task is recorded as open just before the workflow learns that it
// is — longer when a worker died in between and the recording activity has
// to be retried — so an UnknownTask refusal is retried until ctx ends; call
// this only for tasks the database shows as open.
func CompleteTask(ctx context.Context, c client.Client, workflowID string, req CompleteTaskRequest) (CompleteTaskResult, error) {
	sum := sha256.Sum256([]byte(req.TaskID + "\x00" + req.Actor + "\x00" + string(req.Outcome)))
	opts := client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateName:   UpdateCompleteTask,
		UpdateID:     "complete/" + hex.EncodeToString(sum[:16]),
		Args:         []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}
	for {
		var res CompleteTaskResult
		handle, err := c.UpdateWorkflow(ctx, opts)
		if err == nil {
			err = handle.Get(ctx, &res)
		}
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != RefusedUnknownTask {
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
