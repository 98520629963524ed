package workflows

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/oho-dev/oho/review"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// CompleteTask sends the complete-task Update to the workflow that waits for
// the task (TaskSpec.WorkflowID) and waits until the outcome is recorded.
//
// The Update ID is derived from the request, so sending the same completion
// again (after a lost answer, say) is answered once and recorded once. A task
// is recorded as open just before the workflow learns that it is — longer
// when a worker died in between and the recording activity has to be retried
// — so an UnknownTask refusal is retried until ctx ends; call this only for
// tasks the database shows as open.
func CompleteTask(ctx context.Context, c client.Client, workflowID string, req CompleteTaskRequest) (CompleteTaskResult, error) {
	return sendUpdate[CompleteTaskResult](ctx, c, workflowID, UpdateCompleteTask, req)
}

// ChangeTask sends the change-task Update (claim, unclaim, delegate,
// reassign, extend) like CompleteTask sends completions.
func ChangeTask(ctx context.Context, c client.Client, workflowID string, req ChangeTaskRequest) (ChangeTaskResult, error) {
	return sendUpdate[ChangeTaskResult](ctx, c, workflowID, UpdateChangeTask, req)
}

// CancelCycle sends the cancel-cycle Update to the cycle's workflow.
func CancelCycle(ctx context.Context, c client.Client, provider string, year int, req CancelCycleRequest) (Summary, error) {
	return sendUpdate[Summary](ctx, c, review.CycleID(provider, year), UpdateCancelCycle, req)
}

func sendUpdate[R any](ctx context.Context, c client.Client, workflowID, name string, req any) (R, error) {
	var res R
	b, err := json.Marshal(req)
	if err != nil {
		return res, err
	}
	sum := sha256.Sum256(append([]byte(name+"\x00"), b...))
	opts := client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateName:   name,
		UpdateID:     name + "/" + hex.EncodeToString(sum[:16]),
		Args:         []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}
	for {
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
