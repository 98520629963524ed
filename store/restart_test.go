package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// TestFailedYearStartedAgain records a failed cycle's year started again: the
// new attempt is visible before a worker sets it up, keeps the failed one's
// records, and is linked to it both ways; no second live cycle can join it,
// and a running cycle cannot be named as the one started again.
func TestFailedYearStartedAgain(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	c.open(review.PhaseEvaluate, 0, c.task(review.KindEvaluate, 0, "NORTH"))
	c.complete(c.task(review.KindEvaluate, 0, "NORTH"), evaluationNorth, nil)
	if err := s.FailCycle(ctx, review.FailCycleInput{CycleID: c.id, Reason: "the provider was not ready"}); err != nil {
		t.Fatal(err)
	}

	second := review.CycleRef{Provider: "ACME", Year: 2025, Attempt: 2}
	in := review.SetupCycleInput{
		CycleID: second.ID(), Provider: "ACME", Year: 2025, StartedBy: "acme.manager",
		Restart: review.Restart{Attempt: 2, Of: c.id, Reason: "ready now"},
	}
	if err := s.RecordCycleStart(ctx, in); err != nil {
		t.Fatal(err)
	}
	cyc, err := s.Cycle(ctx, "ACME", 2025)
	if err != nil {
		t.Fatal(err)
	}
	if cyc.ID != second.ID() || cyc.Attempt != 2 || cyc.RestartOf != c.id || cyc.SetUpAt != nil || cyc.Status != review.CycleRunning {
		t.Errorf("the year's cycle after the restart: %+v; want attempt 2 of %s, running, not yet set up", cyc, c.id)
	}
	p, err := s.CycleStatus(ctx, "ACME", 2025)
	if err != nil || !p.WaitingForWorker {
		t.Errorf("status before a worker set the new attempt up: waiting %v (%v), want waiting", p.WaitingForWorker, err)
	}
	// Recording it again, and setting it up, write no second record.
	if err := s.RecordCycleStart(ctx, in); err != nil {
		t.Fatal(err)
	}
	setup, err := s.SetupCycle(ctx, in)
	if err != nil {
		t.Fatalf("setting up the recorded attempt: %v", err)
	}
	if len(setup.Units) == 0 {
		t.Error("the set-up of the new attempt returned no units")
	}
	if p, err := s.CycleStatus(ctx, "ACME", 2025); err != nil || p.WaitingForWorker || p.Attempt != 2 || p.RestartOf != c.id {
		t.Errorf("status once set up: %+v (%v)", p, err)
	}
	for query, want := range map[string]int{
		`SELECT count(*) FROM cycles WHERE provider_code = 'ACME' AND year = 2025`:                              2,
		`SELECT count(*) FROM findings WHERE cycle_id = '` + c.id + `'`:                                         2,
		`SELECT count(*) FROM audit_events WHERE action = 'cycle.started' AND cycle_id = '` + second.ID() + `'`: 1,
		`SELECT count(*) FROM audit_events WHERE action = 'cycle.restarted' AND subject = '` + c.id + `'
		   AND payload->>'restarted_as' = '` + second.ID() + `' AND payload->>'reason' = 'ready now'`: 1,
	} {
		var got int
		if err := db.Get(&got, query); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: got %d, want %d", query, got, want)
		}
	}

	// A third attempt while the second runs is another live cycle of the year.
	third := in
	third.CycleID, third.Restart = review.CycleRef{Provider: "ACME", Year: 2025, Attempt: 3}.ID(), review.Restart{Attempt: 3, Of: c.id, Reason: "again"}
	if err := s.RecordCycleStart(ctx, third); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("a third attempt while the second runs: got %v, want ErrDuplicate", err)
	}
	// Another year may not claim to restart a cycle that runs.
	other := review.SetupCycleInput{
		CycleID: review.CycleRef{Provider: "ACME", Year: 2025, Attempt: 4}.ID(), Provider: "ACME", Year: 2025,
		Restart: review.Restart{Attempt: 4, Of: second.ID(), Reason: "x"},
	}
	if err := s.RecordCycleStart(ctx, other); err == nil {
		t.Error("starting again a cycle that runs was recorded")
	}
	if v, err := s.VerifyAudit(ctx); err != nil || v.Broken != nil {
		t.Errorf("audit verify: %+v, %v", v, err)
	}
}

// TestUnreadyScheduledCycleRecordedAsFailed fails a cycle whose set-up was
// refused — a yearly schedule started it while a unit had no student
// representative — and so was never recorded: it is recorded as started by
// the system and failed, with its reason, and its year can be started
// again once the provider is ready.
func TestUnreadyScheduledCycleRecordedAsFailed(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	id := review.CycleID("ACME", 2026)
	started := review.SetupCycleInput{CycleID: id, Provider: "ACME", Year: 2026}
	if _, err := db.Exec(`DELETE FROM person_roles WHERE role = 'student_rep' AND unit_code = 'NORTH'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetupCycle(ctx, started); !errors.Is(err, store.ErrNotReady) {
		t.Fatalf("setting up the unready provider's cycle: got %v, want ErrNotReady", err)
	}
	if _, err := s.Cycle(ctx, "ACME", 2026); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused set-up recorded a cycle: %v", err)
	}
	fail := review.FailCycleInput{CycleID: id, Reason: "unit NORTH has no student_rep", Cycle: &started}
	for range 2 { // an activity's retry records nothing twice
		if err := s.FailCycle(ctx, fail); err != nil {
			t.Fatal(err)
		}
	}
	cyc, err := s.Cycle(ctx, "ACME", 2026)
	if err != nil {
		t.Fatal(err)
	}
	if cyc.ID != id || cyc.Status != review.CycleFailed || cyc.Reason != "unit NORTH has no student_rep" {
		t.Errorf("the unready cycle: %+v, want failed with the reason", cyc)
	}
	var actions []string
	if err := db.Select(&actions, `SELECT action || ' by ' || actor FROM audit_events WHERE cycle_id = $1 ORDER BY seq`, id); err != nil {
		t.Fatal(err)
	}
	if want := "[cycle.started by system cycle.failed by system]"; fmt.Sprint(actions) != want {
		t.Errorf("the unready cycle's events: %v, want %s", actions, want)
	}
	// A failure that names another cycle's start is not recorded as this one.
	other := review.FailCycleInput{CycleID: review.CycleID("ACME", 2027), Reason: "x", Cycle: &started}
	if err := s.FailCycle(ctx, other); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("failing an unrecorded cycle with another cycle's start: got %v, want ErrNotFound", err)
	}
}
