package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
)

// verified runs VerifyAudit and fails the test unless the chain is intact
// with n events (n < 0: any number), and returns what it found.
func verified(t *testing.T, s *store.Store, n int64) store.Verification {
	t.Helper()
	v, err := s.VerifyAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v.Broken != nil {
		t.Fatalf("the chain is broken at %s", v.Broken)
	}
	if n >= 0 && v.Events != n {
		t.Fatalf("verified %d events, want %d", v.Events, n)
	}
	return v
}

// privileged runs statements with the audit table's append-only triggers
// disabled, as a superuser could.
func privileged(t *testing.T, db *sqlx.DB, stmts ...string) {
	t.Helper()
	all := append([]string{`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete`}, stmts...)
	all = append(all, `ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete`)
	for _, q := range all {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestAuditChainOverAWorkload(t *testing.T) {
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	c.open(review.PhaseEvaluate, 0, c.task(review.KindEvaluate, 0, "NORTH"))
	events, err := s.Events(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 3 {
		t.Fatalf("got %d events, want the import, the cycle and the task", len(events))
	}
	prev := store.GenesisHash
	for i, e := range events {
		if e.Seq != int64(i+1) || e.PrevHash != prev || e.Hash != store.AuditHash(e) {
			t.Fatalf("event %d: seq %d, prev %s, hash %s (recomputed %s); want seq %d after %s", i, e.Seq, e.PrevHash, e.Hash, store.AuditHash(e), i+1, prev)
		}
		if i > 0 && e.At.Before(events[i-1].At) {
			t.Errorf("event seq %d is timed before the event ahead of it", e.Seq)
		}
		prev = e.Hash
	}
	verified(t, s, int64(len(events)))
}

// TestAuditChainStaysLinearUnderConcurrentWriters has four writers append
// events in parallel, in transactions of several events, a quarter of them
// rolled back: the chain comes out linear, gap-free and verified.
func TestAuditChainStaysLinearUnderConcurrentWriters(t *testing.T) {
	s, db := newStore(t)
	const writers, txs, perTx = 4, 40, 3
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range txs {
				tx, err := db.Beginx()
				if err != nil {
					errs <- err
					return
				}
				for j := range perTx {
					_, err = tx.Exec(`INSERT INTO audit_events (actor, action, subject, payload) VALUES ($1, 'test.event', $2, $3)`,
						fmt.Sprintf("writer%d", w), fmt.Sprintf("w%d/t%d/e%d", w, i, j), fmt.Sprintf(`{"i": %d, "j": %d}`, i, j))
					if err != nil {
						tx.Rollback()
						errs <- err
						return
					}
				}
				if i%4 == 3 {
					err = tx.Rollback()
				} else {
					err = tx.Commit()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := int64(writers * txs * 3 / 4 * perTx)
	var n, maxSeq, heads int64
	if err := db.QueryRow(`SELECT count(*), max(seq), count(DISTINCT prev_hash) FROM audit_events`).Scan(&n, &maxSeq, &heads); err != nil {
		t.Fatal(err)
	}
	if n != want || maxSeq != want || heads != want {
		t.Fatalf("got %d events, last seq %d, %d distinct prev_hash; want %d of each (no gaps, no fork)", n, maxSeq, heads, want)
	}
	verified(t, s, want)
}

func TestAuditChainFindsPrivilegedEdits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stmts  []string
		seq    int64
		reason string
	}{
		{"payload changed", []string{`UPDATE audit_events SET payload = '{"units": 99}' WHERE seq = 2`}, 2, "the event was altered"},
		{"actor changed", []string{`UPDATE audit_events SET actor = 'someone.else' WHERE seq = 3`}, 3, "the event was altered"},
		{"time moved", []string{`UPDATE audit_events SET at = at - interval '1 day' WHERE seq = 2`}, 2, "the event was altered"},
		{"event removed", []string{`DELETE FROM audit_events WHERE seq = 2`}, 2, "an event was removed"},
		{"event removed and the chain renumbered", []string{
			`DELETE FROM audit_events WHERE seq = 2`, `UPDATE audit_events SET seq = seq + 1000 WHERE seq > 2`,
			`UPDATE audit_events SET seq = seq - 1001 WHERE seq > 1000`}, 2, "prev_hash"},
		{"last event removed", []string{`DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)`}, 4, "events at the end were removed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, db := imported(t, "ACME", "BETA", "GAMMA")
			for _, q := range []string{
				`INSERT INTO audit_events (actor, action, subject, payload) VALUES ('x', 'test.event', 'one', '{}')`,
			} {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			verified(t, s, 4)
			privileged(t, db, tc.stmts...)
			v, err := s.VerifyAudit(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if v.Broken == nil {
				t.Fatalf("the chain verifies after %v", tc.stmts)
			}
			if v.Broken.Seq != tc.seq || !strings.Contains(v.Broken.Reason, tc.reason) {
				t.Errorf("got broken %s, want seq %d: …%s…", v.Broken, tc.seq, tc.reason)
			}
		})
	}
}

func TestAuditTablesRefuseRewrites(t *testing.T) {
	_, db := imported(t, "ACME")
	for _, q := range []string{
		`UPDATE audit_events SET actor = 'x'`,
		`DELETE FROM audit_events`,
		`TRUNCATE audit_events`,
		`UPDATE audit_chain_head SET seq = 0`,
		`DELETE FROM audit_chain_head`,
		`TRUNCATE audit_chain_head`,
	} {
		if _, err := db.Exec(q); err == nil || !strings.Contains(err.Error(), "not allowed") {
			t.Errorf("%s: got %v, want the database to refuse it", q, err)
		}
	}
	// Columns the chain sets cannot be chosen by the writer.
	var seq int64
	var at time.Time
	err := db.QueryRow(`INSERT INTO audit_events (actor, action, subject, payload, seq, prev_hash, hash, at)
VALUES ('x', 'test.event', 's', '{}', 100, $1, $1, '2000-01-01') RETURNING seq, at`, strings.Repeat("a", 64)).Scan(&seq, &at)
	if err != nil {
		t.Fatal(err)
	}
	if seq != 2 || at.Year() == 2000 {
		t.Errorf("an insert chose seq %d and time %s; want the chain's next seq, 2, and the time of writing", seq, at)
	}
}

func TestAuditLogFilters(t *testing.T) {
	s, db := imported(t, "ACME", "BETA")
	ctx := context.Background()
	newCycle(t, s, db, "ACME", 2025, review.Config{})
	newCycle(t, s, db, "BETA", 2026, review.Config{})
	byRun := store.WithRun(ctx, "review-cycle/ACME/2025", "run-1")
	c := newCycle(t, s, db, "ACME", 2026, review.Config{})
	if _, err := s.OpenTasks(byRun, review.OpenTasksInput{CycleID: c.id, Phase: review.PhaseEvaluate,
		Tasks: []review.TaskSpec{c.task(review.KindEvaluate, 0, "SOUTH")}}); err != nil {
		t.Fatal(err)
	}

	count := func(f store.AuditFilter) []store.Event {
		t.Helper()
		events, err := s.AuditLog(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return events
	}
	all := count(store.AuditFilter{})
	acme := count(store.AuditFilter{Provider: "ACME"})
	for _, e := range acme {
		if !strings.Contains(e.Subject, "ACME") && !strings.HasPrefix(e.CycleID, "review-cycle/ACME/") {
			t.Errorf("the ACME log has %+v", e)
		}
	}
	if len(acme) == 0 || len(acme) >= len(all) || acme[0].Subject != "provider/ACME" {
		t.Errorf("got %d ACME events of %d, the first %+v; want the import first and not BETA's", len(acme), len(all), acme)
	}
	for _, e := range count(store.AuditFilter{Provider: "ACME", Year: 2026}) {
		if e.CycleID != c.id {
			t.Errorf("the ACME 2026 log has %+v", e)
		}
	}
	opened := count(store.AuditFilter{Provider: "ACME", Year: 2026, Actor: store.ActorSystem})
	last := opened[len(opened)-1]
	if last.Action != store.ActionTaskOpened || last.WorkflowID != "review-cycle/ACME/2025" || last.RunID != "run-1" {
		t.Errorf("the task.opened event is %+v; want it to name the workflow run in the context", last)
	}
	if n := len(count(store.AuditFilter{Since: time.Now().Add(time.Hour)})); n != 0 {
		t.Errorf("%d events in the future", n)
	}
	if n := len(count(store.AuditFilter{Actor: "nobody"})); n != 0 {
		t.Errorf("%d events by nobody", n)
	}
}

func TestRecordScheduleChange(t *testing.T) {
	s, _ := imported(t, "ACME", "BETA")
	ctx := context.Background()
	id := workflows.ScheduleID("ACME")
	if err := s.RecordScheduleChange(ctx, "acme.manager", store.ActionScheduleSet, id, map[string]any{"month": 8, "day": 15}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordScheduleChange(ctx, "acme.manager", "schedule.paused", id, nil); err == nil || !strings.Contains(err.Error(), `"schedule.paused" is not a schedule action`) {
		t.Errorf("an unknown action: got %v", err)
	}
	var got []string
	for _, f := range []store.AuditFilter{{Provider: "ACME"}, {Provider: "BETA"}} {
		events, err := s.AuditLog(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			got = append(got, f.Provider+" "+e.Action+" "+e.Subject)
		}
	}
	want := []string{"ACME org.imported provider/ACME", "ACME schedule.set " + id, "BETA org.imported provider/BETA"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
	verified(t, s, 3)
}
