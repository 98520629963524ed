package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/notify"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/smtptest"
)

// TestMailServerDownThenBack runs a cycle whose first notices (the new
// evaluations and consultations, then the draft) are queued while the mail
// server is down, brings it back, and finishes the cycle. Every notice is
// delivered exactly once: one message per notice, per recipient and
// subject, and per Message-ID; those queued during the outage after more
// than one attempt, those after it at the first; none failed or uncertain.
// The worker says what happened in one line per attempt, not a stack.
func TestMailServerDownThenBack(t *testing.T) {
	srv := smtptest.Start(t)
	e := newEnv(t)
	e.vars = append(e.vars, "SMTP_URL="+srv.URL()+"?from=oho@example.fi", "OHO_NOTIFY_POLL=100ms", "OHO_NOTIFY_RETRY=1s")
	w := e.startWorker()
	org := e.org()
	for _, p := range org["people"].([]map[string]any) {
		p["email"] = mailOf(p["id"].(string))
	}
	e.ok("org", "import", e.file("org.json", org))

	// The outage: the cycle starts, and every unit evaluates and consults
	// its students, so that the draft opens, while nothing can be mailed.
	srv.Down()
	downAt := time.Now()
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year)
	for _, u := range units {
		e.complete(e.taskID(review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", evaluation(u))
		e.complete(e.taskID(review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}
	draftID := e.taskID(review.KindDraft, 1, "")
	e.waitTask(draftID)
	// Until every notice queued so far has failed twice.
	duringOutage := e.count(`SELECT count(*) FROM notifications`)
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM notifications WHERE state = 'pending' AND attempts >= 2`) < duringOutage {
		if time.Now().After(deadline) {
			t.Fatalf("the notices queued during the outage were not tried twice within 30s: %v", e.noticeStates())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("the server received %d messages while it was down", n)
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	outage := time.Since(downAt)
	upAt := time.Now()

	// Back up: the cycle goes on, its next notices mailed at once.
	e.complete(draftID, "p.editor", draft(1))
	for _, u := range units {
		id := e.taskID(review.KindSignOff, 1, u)
		e.complete(id, strings.ToLower(u)+".head", map[string]any{"decision": "approve", "version_hash": hashOf(e.waitTask(id))})
	}
	e.complete(e.taskID(review.KindApprove, 1, ""), "r.approver", map[string]any{"decision": "approve", "effective_from": "2026-08-01"})
	deadline = time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM cycles WHERE status = 'completed'`) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the cycle did not complete: %v", e.cycleStates())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Every notice delivered: wait until none is pending, then a few more
	// polls, in which nothing may come twice.
	notices := e.count(`SELECT count(*) FROM notifications`)
	deadline = time.Now().Add(45 * time.Second)
	for e.count(`SELECT count(*) FROM notifications WHERE state IN ('pending', 'sending')`) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("notices still not delivered 45s after the server came back: %v", e.noticeStates())
		}
		time.Sleep(100 * time.Millisecond)
	}
	delivered := time.Since(upAt)
	time.Sleep(time.Second)
	if n := e.count(`SELECT count(*) FROM notifications WHERE state <> 'sent'`); n != 0 {
		t.Errorf("%d notices not sent (failed, uncertain or logged): %v", n, e.noticeStates())
	}
	msgs := srv.Messages()
	if len(msgs) != notices {
		t.Errorf("the server received %d messages for %d notices", len(msgs), notices)
	}
	perSubject, perID := map[string]int{}, map[string]int{}
	for _, m := range msgs {
		perSubject[strings.Join(m.To, ",")+" "+m.Subject()]++
		perID[m.Header.Get("Message-Id")]++
	}
	for k, n := range perSubject {
		if n != 1 {
			t.Errorf("%d messages to %s", n, k)
		}
	}
	for id, n := range perID {
		if n != 1 {
			t.Errorf("%d messages with the Message-ID %s", n, id)
		}
	}
	var ids []string
	if err := e.db.Select(&ids, `SELECT id FROM notifications ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if n := perID[notify.MessageID(id)]; n != 1 {
			t.Errorf("the notice %s was mailed %d times, want once", id, n)
		}
	}
	// Those queued during the outage needed more than one attempt; those
	// after it went at the first.
	if n := e.count(`SELECT count(*) FROM notifications WHERE created_at < $1 AND attempts < 2`, upAt); n != 0 {
		t.Errorf("%d notices queued during the outage were sent at their first attempt", n)
	}
	if n := e.count(`SELECT count(*) FROM notifications WHERE created_at < $1`, upAt); n != duringOutage {
		t.Errorf("%d notices were queued during the outage, want the %d counted then", n, duringOutage)
	}
	if n := e.count(`SELECT count(*) FROM notifications WHERE created_at >= $1 AND attempts <> 1`, upAt); n != 0 {
		t.Errorf("%d notices queued after the server came back needed more than one attempt", n)
	}

	// The worker said so plainly: one line per failed attempt, naming the
	// server and that it will try again; no stack.
	log := w.output()
	var outageLines []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "notice not delivered; will try again") {
			outageLines = append(outageLines, line)
		}
	}
	if len(outageLines) < 2*duringOutage {
		t.Errorf("the worker logged %d failed attempts, want at least %d (two per notice queued during the outage):\n%s", len(outageLines), 2*duringOutage, log)
	} else if l := outageLines[0]; !strings.Contains(l, "connecting to "+srv.Addr()) || !strings.Contains(l, "connection refused") || !strings.Contains(l, "retry_in=") {
		t.Errorf("the worker's line about the outage does not say what happened: %s", l)
	}
	if strings.Contains(log, "goroutine ") || strings.Contains(log, "panic") {
		t.Errorf("a stack in the worker's log:\n%s", log)
	}

	for _, c := range []struct {
		query string
		want  int
	}{
		{`SELECT count(*) FROM tasks WHERE status = 'done'`, 11},
		{`SELECT count(*) FROM tasks WHERE status <> 'done'`, 0},
		{`SELECT count(*) FROM audit_events WHERE action = 'task.completed'`, 11},
		{`SELECT count(*) FROM plan_versions`, 1},
	} {
		if got := e.count(c.query); got != c.want {
			t.Errorf("%s: got %d, want %d", c.query, got, c.want)
		}
	}
	events := e.count(`SELECT count(*) FROM audit_events`)
	if out := e.ok("audit", "verify"); strings.TrimSpace(out) != fmt.Sprintf("ok %d events", events) {
		t.Errorf("audit verify: got %q, want \"ok %d events\"", out, events)
	}
	t.Logf("mail server down for %v: %d notices queued meanwhile, %d in all, all delivered %v after it came back; attempts: %v; %d lines about failed attempts, the first:\n%s",
		outage.Round(100*time.Millisecond), duringOutage, notices, delivered.Round(100*time.Millisecond), e.attemptCounts(), len(outageLines), firstOf(outageLines))
}

func firstOf(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return lines[0]
}

// noticeStates lists every notice with its state, attempts and last error.
func (e *env) noticeStates() []string {
	var out []string
	if err := e.db.Select(&out, `SELECT id || ' ' || state || ' ' || attempts || ' ' || coalesce(last_error, '') FROM notifications ORDER BY id`); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// attemptCounts says how many notices took how many attempts.
func (e *env) attemptCounts() map[int]int {
	var rows []struct {
		Attempts int `db:"attempts"`
		N        int `db:"n"`
	}
	if err := e.db.Select(&rows, `SELECT attempts, count(*) AS n FROM notifications GROUP BY attempts`); err != nil {
		e.t.Fatal(err)
	}
	out := map[int]int{}
	for _, r := range rows {
		out[r.Attempts] = r.N
	}
	return out
}
