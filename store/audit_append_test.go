package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// TestEventsOfATransactionAreAppendedTogetherAtItsEnd holds the audit
// chain's head in another transaction while a completion with two findings
// is recorded: the completion does all its other work first and then waits
// for the head in one INSERT of its three events, so that a writer holds the
// head for that statement and its commit only, not for everything it does
// after its first event. Once the head is free, the three events come out
// consecutive in the chain, in the order the completion recorded them.
func TestEventsOfATransactionAreAppendedTogetherAtItsEnd(t *testing.T) {
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
	if _, err := other.ExecContext(ctx, `SELECT 1 FROM audit_chain_head FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- s.CompleteTask(ctx, review.CompleteTaskInput{Task: task, Actor: "acme.nurse.north", Outcome: json.RawMessage(evaluationNorth)})
	}()
	var waiting string
	waitFor(t, 10*time.Second, "the completion to wait for the chain's head", func() bool {
		const q = `
SELECT a.query FROM pg_stat_activity a
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.wait_event_type = 'Lock'`
		var qs []string
		if err := db.Select(&qs, q); err != nil {
			t.Fatal(err)
		}
		if len(qs) > 0 {
			waiting = qs[0]
		}
		return len(qs) > 0
	})
	if !strings.HasPrefix(strings.TrimSpace(waiting), "INSERT INTO audit_events") || strings.Count(waiting, "NULLIF(") != 3 {
		t.Errorf("the completion waits for the head in %q; want the INSERT of its 3 events (two findings and the completion)", waiting)
	}
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the completion failed: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the completion did not finish")
	}

	events, err := s.Events(ctx, task.CycleID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var seqs []int64
	for _, e := range events {
		if e.Action == store.ActionFindingRecorded || (e.Action == store.ActionTaskCompleted && e.Subject == task.ID) {
			got = append(got, e.Action+" "+e.Subject)
			seqs = append(seqs, e.Seq)
		}
	}
	want := []string{"finding.recorded NORTH/F1", "finding.recorded NORTH/F2", "task.completed " + task.ID}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("got events %q, want %q", got, want)
	}
	if seqs[1] != seqs[0]+1 || seqs[2] != seqs[1]+1 {
		t.Errorf("the completion's events have seq %v, want three consecutive", seqs)
	}
	verified(t, s, -1)
}
