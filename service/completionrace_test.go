package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
)

// TestCompletionRecordedByTheOtherFrontEnd completes a task while the same
// completion, sent at once through another front end, is recorded first and
// closes the task's workflow, so that this one cannot reach it: the person
// is told the task is done, as for a completion sent again. Had someone else
// completed it, or the same person otherwise, the answer is the refusal a
// completion of a done task gets, naming who completed it.
func TestCompletionRecordedByTheOtherFrontEnd(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	outcome := json.RawMessage(outcomes[review.KindEvaluate])
	reached := errors.New("the task's workflow has closed")
	// The other front end's completion is recorded while this one is on
	// its way to Temporal, which then cannot deliver it.
	other := func(actor string, out json.RawMessage) func(context.Context) (client.Client, error) {
		return func(ctx context.Context) (client.Client, error) {
			task, err := f.st.Task(ctx, review.TaskID("ACME", 2025, review.KindEvaluate, 1, "NORTH"))
			if err != nil {
				t.Fatal(err)
			}
			spec := review.TaskSpec{ID: task.ID, CycleID: task.CycleID, WorkflowID: task.WorkflowID, Kind: task.Kind,
				Unit: task.Unit, Round: task.Round, Role: task.Role, DueAt: task.DueAt}
			if err := f.st.CompleteTask(ctx, review.CompleteTaskInput{Task: spec, Actor: actor, Outcome: out}); err != nil {
				t.Fatal(err)
			}
			return nil, reached
		}
	}
	nurse := func(svc *service.Service) service.Actor {
		a, err := svc.Act(ctx, "acme.nurse.north", review.Via{Channel: review.ChannelCLI, Ref: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	id := review.TaskID("ACME", 2025, review.KindEvaluate, 1, "NORTH")

	// The same outcome, written otherwise (indented, keys in another order).
	svc := service.New(service.Config{Store: f.st, Temporal: other("acme.nurse.north", outcome)})
	same := json.RawMessage("{\n  \"findings\": [{\"text\": \"Seen.\", \"severity\": \"minor\", \"section\": \"communal\", \"id\": \"F1\"}]\n}")
	res, err := svc.CompleteTask(ctx, nurse(svc), id, same)
	if err != nil || res.Status != review.TaskDone || res.CompletedBy != "acme.nurse.north" {
		t.Fatalf("the completion another front end recorded first: got %+v, %v; want done by acme.nurse.north", res, err)
	}

	// Recorded first with another outcome: refused, as done.
	g := newFixture(t)
	f = g
	svc = service.New(service.Config{Store: g.st, Temporal: other("acme.nurse.north", json.RawMessage(`{"findings":[]}`))})
	_, err = svc.CompleteTask(ctx, nurse(svc), id, outcome)
	if want := "refused: task " + id + " is already done (completed by acme.nurse.north)"; !errors.Is(err, service.ErrConflict) || err.Error() != want {
		t.Errorf("another outcome recorded first: got %v, want %q", err, want)
	}
}
