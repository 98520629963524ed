package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/smtptest"
)

// temporalServer is a Temporal dev server of the test's own, started from the
// pinned CLI (.tools/bin/temporal, as scripts/devenv.sh starts the shared
// one) on a free loopback port with its history in an SQLite file of the
// test's: a server the test may kill and start again on the same file
// without touching the one other tests share. It is killed when the test
// ends.
type temporalServer struct {
	t      *testing.T
	bin    string
	dbFile string
	addr   string
	proc   *worker // the running server process, or nil
	log    strings.Builder
}

// startTemporalServer starts the test's own dev server and waits until it
// answers.
func startTemporalServer(t *testing.T) *temporalServer {
	t.Helper()
	bin, err := filepath.Abs("../.tools/bin/temporal")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the Temporal fault test runs a dev server of its own and needs the pinned Temporal CLI at %s ('scripts/devenv.sh tools' or 'make up' installs it): %v", bin, err)
	}
	s := &temporalServer{t: t, bin: bin, dbFile: filepath.Join(t.TempDir(), "temporal.db"), addr: freeAddr(t)}
	t.Cleanup(func() {
		if s.proc != nil {
			s.proc.stop(syscall.SIGKILL)
			s.log.WriteString(s.proc.output())
			s.proc = nil
		}
		if t.Failed() {
			t.Logf("the test's Temporal server's output:\n%s", tail(s.log.String(), 40))
		}
	})
	s.start()
	return s
}

// start starts the server on the test's file and port and waits until it
// answers, at most a minute.
func (s *temporalServer) start() {
	s.t.Helper()
	host, port, _ := net.SplitHostPort(s.addr)
	args := []string{"server", "start-dev", "--ip", host, "--port", port, "--headless",
		"--db-filename", s.dbFile, "--log-level", "warn"}
	for _, sa := range []string{"OhoProvider=Keyword", "OhoYear=Int", "OhoPhase=Keyword"} {
		args = append(args, "--search-attribute", sa)
	}
	p := &worker{cmd: exec.Command(s.bin, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		s.t.Fatalf("starting the Temporal dev server: %v", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	s.proc = p
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := client.DialContext(ctx, client.Options{HostPort: s.addr})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
		}
		cancel()
		if err == nil {
			return
		}
		select {
		case <-p.done:
			s.t.Fatalf("the Temporal dev server exited at start:\n%s", p.output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the Temporal dev server did not answer on %s within a minute: %v\n%s", s.addr, err, p.output())
		}
	}
}

// kill sends the signal to the server, waits for it to exit and for its port
// to close (SQLite stays locked briefly after exit, DESIGN.md), and returns
// how long that took.
func (s *temporalServer) kill(sig syscall.Signal) time.Duration {
	s.t.Helper()
	began := time.Now()
	s.proc.stop(sig)
	s.log.WriteString(s.proc.output())
	s.proc = nil
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err != nil {
			return time.Since(began)
		}
		conn.Close()
		if time.Now().After(deadline) {
			s.t.Fatalf("port %s still open 30s after the Temporal dev server exited", s.addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clockSlack is how far apart the clocks of the workflow, PostgreSQL and the
// test may be: they are the same machine's.
const clockSlack = 500 * time.Millisecond

// notice is a row of the outbox, as the tests read it.
type notice struct {
	ID        string    `db:"id"`
	Kind      string    `db:"kind"`
	Person    string    `db:"person_id"`
	CreatedAt time.Time `db:"created_at"`
}

// notices returns the task's notices of a kind.
func (e *env) notices(kind, taskID string) []notice {
	e.t.Helper()
	var out []notice
	if err := e.db.Select(&out, `SELECT id, kind, person_id, created_at FROM notifications WHERE kind = $1 AND task_id = $2 ORDER BY id`, kind, taskID); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// waitNotices waits until the task has n notices of the kind, and returns
// them.
func (e *env) waitNotices(kind, taskID string, n int, timeout time.Duration) []notice {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := e.notices(kind, taskID)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d %s notices of %s after %v, want %d", len(got), kind, taskID, timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTemporalRestartMidCycle runs a cycle with deadlines of seconds against a
// Temporal dev server of the test's own and kills that server twice while a
// deadline's timer is pending: with SIGKILL before a late evaluation's
// reminder, with SIGTERM before it is due. The server comes back on the same
// file; completions sent while it is down are refused in one line (the API:
// 503) and succeed when sent again; the reminder, the overdue notice and the
// escalation are each recorded exactly once, no earlier than their times;
// and the cycle finishes with every record written exactly once, the audit
// chain intact, no task left open and every notice mailed once.
func TestTemporalRestartMidCycle(t *testing.T) {
	began := time.Now()
	ts := startTemporalServer(t)
	e := newEnv(t)
	srv := smtptest.Start(t)
	e.vars = append(e.vars, "TEMPORAL_ADDRESS="+ts.addr, "SMTP_URL="+srv.URL()+"?from=oho@example.fi", "OHO_NOTIFY_POLL=100ms")
	w := e.startWorker()
	org := e.org()
	for _, p := range org["people"].([]map[string]any) {
		p["email"] = mailOf(p["id"].(string))
	}
	e.ok("org", "import", e.file("org.json", org))
	api := e.startServer(freeAddr(t))
	harbourRep, forestRep := e.apiToken("harbour.rep"), e.apiToken("forest.rep")

	// Evaluations are due in 40 s and reminded 28 s before; the other phases
	// take an hour, so that only evaluations have timers that fire, and of
	// them only Harbour's, which is left late.
	const evaluate, before = 40 * time.Second, 28 * time.Second
	cfg := fmt.Sprintf(`{"phases": {"evaluate": %q, "consult": "1h", "update": "1h", "signoff": "1h", "approve": "1h"}, "reminders": {"before": %q, "every": "1h"}}`, evaluate, before)
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year, "--config", e.file("config.json", cfg))
	late := e.taskID(review.KindEvaluate, 0, "HARBOUR")
	for _, u := range units {
		e.waitTask(e.taskID(review.KindEvaluate, 0, u))
		e.waitTask(e.taskID(review.KindConsult, 0, u))
	}
	var shown struct {
		DueAt time.Time `json:"due_at"`
	}
	if err := json.Unmarshal([]byte(e.ok("task", "show", late, "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	due := shown.DueAt
	remindAt := due.Add(-before)
	t.Logf("dev server on %s; evaluations due at %s, reminded at %s (%v from now)", ts.addr, due.Format("15:04:05.000"), remindAt.Format("15:04:05.000"), time.Until(remindAt).Round(time.Millisecond))
	e.complete(e.taskID(review.KindEvaluate, 0, "NORTH"), "north.staff", evaluation("NORTH"))
	e.complete(e.taskID(review.KindEvaluate, 0, "FOREST"), "forest.staff", evaluation("FOREST"))

	// 1. SIGKILL while Harbour's reminder is pending. North's consultation,
	// sent while the server is down, is refused in one line; sent again
	// after the restart, it is recorded.
	northConsult := &sentCompletion{id: e.taskID(review.KindConsult, 0, "NORTH"), person: "north.rep", file: e.file("NORTH-consult.json", consultation())}
	down := time.Now()
	if !down.Before(remindAt) {
		t.Fatalf("the evaluations took until %s to be sent, after Harbour's reminder was due (%s): the server would not go down with the reminder pending", down.Format("15:04:05.000"), remindAt.Format("15:04:05.000"))
	}
	stopped := ts.kill(syscall.SIGKILL)
	r := e.starter("task", "complete", northConsult.id, "--as", northConsult.person, "--outcome", northConsult.file)
	unavailableLine(t, "task complete while Temporal is down", r, "Temporal")
	t.Logf("while Temporal was down (%v to refuse): %s", time.Since(down.Add(stopped)).Round(time.Millisecond), strings.TrimSpace(r.stderr))
	stayDown(down, outage)
	ts.start()
	t.Logf("SIGKILL: the server took %v to go, and was down for %v (from %s to %s; the reminder was due at %s)", stopped.Round(time.Millisecond), time.Since(down).Round(time.Millisecond),
		down.Format("15:04:05.000"), time.Now().Format("15:04:05.000"), remindAt.Format("15:04:05.000"))
	sent := time.Now()
	if out := e.ok("task", "complete", northConsult.id, "--as", northConsult.person, "--outcome", northConsult.file); !strings.Contains(out, "done by north.rep") {
		t.Errorf("task complete %s after the restart: got %q", northConsult.id, out)
	}
	t.Logf("North's consultation sent again after the restart took %v", time.Since(sent).Round(time.Millisecond))

	// The reminder fires after the restart, once.
	reminders := e.waitNotices("reminder", late, 1, time.Until(remindAt)+30*time.Second)
	t.Logf("reminder of %s recorded at %s", late, reminders[0].CreatedAt.Format("15:04:05.000"))

	// 2. SIGTERM while Harbour's due time is pending. The web server's
	// Temporal client is connected (Harbour's consultation went through
	// it); Forest's, sent through the API while the server is down, is
	// refused with 503 within seconds, and accepted when sent again.
	if r := postOutcome(t, api.base, harbourRep, e.taskID(review.KindConsult, 0, "HARBOUR"), consultation()); r.code != http.StatusOK {
		t.Fatalf("POST complete of Harbour's consultation: %s", r)
	}
	forestConsult := e.taskID(review.KindConsult, 0, "FOREST")
	down = time.Now()
	stopped = ts.kill(syscall.SIGTERM)
	sent = time.Now()
	res := postOutcome(t, api.base, forestRep, forestConsult, consultation())
	took := time.Since(sent)
	unavailableReply(t, "POST complete while Temporal is down", res, "Temporal does not answer")
	if took > 10*time.Second {
		t.Errorf("the API took %v to answer while Temporal was down; want an answer within 10s, not after the minute a change waits for its worker", took.Round(time.Millisecond))
	}
	t.Logf("while Temporal was down, the API answered in %v: %s", took.Round(time.Millisecond), res)
	stayDown(down, outage)
	ts.start()
	t.Logf("SIGTERM: the server took %v to go, and was down for %v (from %s to %s; Harbour's evaluation is due at %s)", stopped.Round(time.Millisecond), time.Since(down).Round(time.Millisecond),
		down.Format("15:04:05.000"), time.Now().Format("15:04:05.000"), due.Format("15:04:05.000"))
	if !time.Now().Before(due) {
		t.Errorf("the second restart ended after %s was due: the due time's timer was not pending during the outage", late)
	}
	sent = time.Now()
	if r := postOutcome(t, api.base, forestRep, forestConsult, consultation()); r.code != http.StatusOK {
		t.Errorf("POST complete of Forest's consultation after the restart: %s", r)
	}
	t.Logf("Forest's consultation sent again after the restart took %v", time.Since(sent).Round(time.Millisecond))

	// The due time passes after the restart: overdue to the assignee,
	// escalated to the manager, once each.
	overdue := e.waitNotices("overdue", late, 1, time.Until(due)+30*time.Second)
	escalations := e.waitNotices("escalation", late, 1, 10*time.Second)
	for _, n := range append(overdue, escalations...) {
		if n.CreatedAt.Before(due.Add(-clockSlack)) {
			t.Errorf("notice %s recorded at %s, before %s was due at %s", n.ID, n.CreatedAt.Format("15:04:05.000"), late, due.Format("15:04:05.000"))
		}
	}
	if reminders[0].CreatedAt.Before(remindAt.Add(-clockSlack)) {
		t.Errorf("the reminder of %s was recorded at %s, before its time %s", late, reminders[0].CreatedAt.Format("15:04:05.000"), remindAt.Format("15:04:05.000"))
	}
	t.Logf("overdue and escalation of %s recorded at %s and %s (due %s)", late, overdue[0].CreatedAt.Format("15:04:05.000"), escalations[0].CreatedAt.Format("15:04:05.000"), due.Format("15:04:05.000"))

	// 3. The rest of the cycle.
	e.complete(late, "harbour.staff", evaluation("HARBOUR"))
	e.complete(e.taskID(review.KindDraft, 1, ""), "p.editor", draft(1))
	for _, u := range units {
		id := e.taskID(review.KindSignOff, 1, u)
		e.complete(id, strings.ToLower(u)+".head", map[string]any{"decision": "approve", "version_hash": hashOf(e.waitTask(id))})
	}
	e.complete(e.taskID(review.KindApprove, 1, ""), "r.approver", map[string]any{"decision": "approve", "effective_from": "2026-08-01"})
	e.waitCount(1, 60*time.Second, `SELECT count(*) FROM cycles WHERE status = 'completed'`)
	for name, p := range map[string]*worker{"the worker": w, "starter serve": api.worker} {
		select {
		case <-p.done:
			t.Fatalf("%s exited while Temporal was down:\n%s", name, p.output())
		default:
		}
	}
	checkCounts(t, e, append(oneRoundCounts(), []countCheck{
		// A notice to each task's one candidate; Harbour's late evaluation's
		// reminder and overdue notice to its assignee and escalation to the
		// manager; the publication to the manager and the three unit heads.
		{`SELECT count(*) FROM notifications WHERE kind = 'assigned'`, 11},
		{`SELECT count(*) FROM notifications WHERE kind IN ('reminder', 'overdue', 'escalation')`, 3},
		{`SELECT count(*) FROM notifications WHERE kind = 'published'`, 4},
		{`SELECT count(*) FROM notifications`, 18},
	}...))
	for _, kind := range []string{"reminder", "overdue", "escalation"} {
		if got := e.notices(kind, late); len(got) != 1 {
			t.Errorf("%s notices of %s: got %v, want exactly one", kind, late, got)
		}
	}
	e.checkAuditVerify()
	e.checkMailedOnce(srv)
	t.Logf("the whole test took %v", time.Since(began).Round(time.Millisecond))
}
