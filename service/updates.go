package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/oho-dev/oho/workflows"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// sendUpdate sends the named Update with req to the workflow and waits until
// the workflow has recorded it.
//
// The Update ID is derived from the request — without its Via, so that the
// same completion sent at once through two front ends is one Update — and
// sending the same request again (after a lost answer, say) is answered once
// and recorded once. A task is recorded as open just before the workflow
// learns that it is — longer when a worker died in between and the
// recording activity has to be retried — so an UnknownTask refusal is
// retried until ctx ends; send Updates only for tasks the database shows as
// open.
func sendUpdate[R any](ctx context.Context, c client.Client, workflowID, name string, req, key any) (R, error) {
	var res R
	b, err := json.Marshal(key)
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
		if !errors.As(err, &appErr) || appErr.Type() != workflows.RefusedUnknownTask {
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
