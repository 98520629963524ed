package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
)

// TestDeadlockAtChainHeadIsRetried makes a change meet another transaction at
// the audit chain's head in the opposite order, the deadlock two writers can
// get into: the other transaction holds the head and then wants the task the
// change has locked. PostgreSQL aborts the change (it waits with the shorter
// deadlock_timeout, so it is the one that finds the deadlock); the store runs
// it again once the other has committed, and the person sees success, with
// the change and its event recorded once.
func TestDeadlockAtChainHeadIsRetried(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	task := c.task(review.KindEvaluate, 0, "NORTH")
	c.open(review.PhaseEvaluate, 0, task)

	other, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback()
	// The other transaction must not be the one PostgreSQL picks.
	if _, err := other.ExecContext(ctx, `SET LOCAL deadlock_timeout = '20s'`); err != nil {
		t.Fatal(err)
	}
	if _, err := other.ExecContext(ctx, `SELECT 1 FROM audit_chain_head FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		done <- s.RecordTaskOp(ctx, review.TaskOpInput{
			Task: task, Op: review.OpClaim, Seq: 1, Actor: "acme.nurse.north", Assignee: "acme.nurse.north", DueAt: task.DueAt,
		})
	}()
	// Once the claim has locked the task and waits for the head, the other
	// transaction asks for the task: a deadlock.
	waitFor(t, 10*time.Second, "the claim to wait for the chain's head", func() bool {
		var n int
		if err := db.Get(&n, `SELECT count(*) FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()`); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
	if _, err := other.ExecContext(ctx, `SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE`, task.ID); err != nil {
		t.Fatalf("the other transaction was aborted instead of the claim: %v", err)
	}
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the claim that met a deadlock failed instead of being retried: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the claim did not finish")
	}
	var events int
	if err := db.Get(&events, `SELECT count(*) FROM audit_events WHERE action = 'task.claimed' AND subject = $1`, task.ID); err != nil {
		t.Fatal(err)
	}
	if events != 1 {
		t.Errorf("got %d task.claimed events, want 1", events)
	}
	if v, err := s.VerifyAudit(ctx); err != nil || v.Broken != nil {
		t.Errorf("audit verify after the retry: %+v, %v", v, err)
	}
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
