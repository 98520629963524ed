package notify_test

import (
	"context"
	"testing"

	"github.com/oho-dev/oho/metrics"
	"github.com/oho-dev/oho/notify"
	"github.com/oho-dev/oho/smtptest"
)

// noticeCounts reads the sender's counters from a registry of package
// metrics: mailed, logged, failed, uncertain.
func noticeCounts(t *testing.T) [4]float64 {
	t.Helper()
	families, err := metrics.NewRegistry(nil, nil).Gather()
	if err != nil {
		t.Fatal(err)
	}
	var c [4]float64
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "oho_notices_sent_total":
				if m.GetLabel()[0].GetValue() == "mail" {
					c[0] = m.GetCounter().GetValue()
				} else {
					c[1] = m.GetCounter().GetValue()
				}
			case "oho_notices_failed_total":
				c[2] = m.GetCounter().GetValue()
			case "oho_notices_uncertain_total":
				c[3] = m.GetCounter().GetValue()
			}
		}
	}
	return c
}

// TestSenderCountsOutcomes delivers notices to every final state, and one
// that will be tried again, and checks each final state counted once.
func TestSenderCountsOutcomes(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	s, _ := sender(t, db, smtpURL(srv), nil)
	check := func(step string, before [4]float64, want [4]float64) {
		t.Helper()
		after := noticeCounts(t)
		for i := range want {
			if got := after[i] - before[i]; got != want[i] {
				t.Errorf("%s: counter %d (mailed, logged, failed, uncertain) went up by %v, want %v", step, i, got, want[i])
			}
		}
	}

	before := noticeCounts(t)
	queue(t, db, "overdue/1/"+nurse, nurse)              // mailed
	queue(t, db, "overdue/2/"+rep, rep)                  // no address: logged
	queueTo(t, db, "overdue/3/"+manager, manager, "a@@") // unusable address: failed
	runOnce(t, s, 3)
	check("mailed, logged and failed", before, [4]float64{1, 1, 1, 0})

	before = noticeCounts(t)
	id := "overdue/4/" + nurse
	queue(t, db, id, nurse)
	srv.RejectNext(1, 451, smtptest.AtMail) // a definite failure: tried again later
	runOnce(t, s, 1)
	if r := get(t, db, id); r.State != notify.StatePending {
		t.Fatalf("after a 451: got %+v, want pending", r)
	}
	check("a retry", before, [4]float64{})

	makeDue(t, db, id)
	srv.DropNext(1) // the reply to the data is lost
	runOnce(t, s, 1)
	check("a lost reply", before, [4]float64{0, 0, 0, 1})

	// Notices a dead sender left sending while handing them over become
	// uncertain together.
	before = noticeCounts(t)
	queue(t, db, "overdue/5/"+nurse, nurse)
	queue(t, db, "overdue/6/"+manager, manager)
	if _, err := db.Exec(`UPDATE notifications SET state = 'sending', attempts = 1, handed_over_at = now() - interval '1 day', next_attempt_at = now() - interval '1 day' WHERE id LIKE 'overdue/5/%' OR id LIKE 'overdue/6/%'`); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.RecoverStuck(context.Background()); err != nil || len(ids) != 2 {
		t.Fatalf("RecoverStuck: %v, %v; want 2 notices", ids, err)
	}
	check("stuck notices", before, [4]float64{0, 0, 0, 2})
}
