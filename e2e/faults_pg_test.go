package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/smtptest"
	"github.com/oho-dev/oho/store"
)

// newEnvOnCluster is newEnv on the test's own cluster: the roles and a
// database owned by the owner role, migrated by 'starter migrate'. The
// test's administrator connection keeps no idle connection, so that none of
// its reads meets a connection the server ended when it stopped.
func newEnvOnCluster(t *testing.T, c *pgCluster) *env {
	t.Helper()
	db, url := dbtest.NewEmptyOn(t, c.adminURL())
	db.SetMaxIdleConns(0)
	// Cleanups run last first: a test that fails while its server is down
	// still gets it back before its database is dropped.
	t.Cleanup(func() {
		if !c.running {
			c.start()
		}
	})
	suffix := strings.ToUpper(randomHex(3))
	e := &env{
		t: t, dir: t.TempDir(), db: db, provider: "E2E" + suffix,
		vars: append(environ(),
			"DATABASE_URL="+c.urlAs(url, dbtest.AppRole),
			"MIGRATION_DATABASE_URL="+c.urlAs(url, dbtest.OwnerRole),
			"OHO_TASK_QUEUE=oho-e2e-"+suffix),
	}
	e.ok("migrate")
	return e
}

// sentCompletion is one 'task complete' sent by a person, and what came of it.
type sentCompletion struct {
	id, person, file string
	res              result
	took             time.Duration
}

// sendAll sends the completions at once and returns a function that waits
// for them all.
func (e *env) sendAll(cs []*sentCompletion) (wait func()) {
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			c.res = e.starter("task", "complete", c.id, "--as", c.person, "--outcome", c.file)
			c.took = time.Since(start).Round(time.Millisecond)
		}()
	}
	return wg.Wait
}

// waitCount polls a COUNT query until it reaches at least want.
func (e *env) waitCount(want int, timeout time.Duration, query string, args ...any) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := e.count(query, args...)
		if n >= want {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: %d after %v, want at least %d", query, n, timeout, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// unavailableLine checks that a command failed as a service being down
// should fail: exit 1 and one line on stderr that contains want.
func unavailableLine(t *testing.T, what string, r result, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	switch {
	case r.code != 1:
		t.Errorf("%s: want exit 1, got %s", what, r)
	case len(lines) != 1 || !strings.Contains(lines[0], want):
		t.Errorf("%s: want one line on stderr containing %q, got %q", what, want, r.stderr)
	case strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic"):
		t.Errorf("%s: stack trace on stderr: %s", what, r.stderr)
	}
}

// retryFailed sends again, one by one, the completions that failed while a
// service was down. Each must have failed as such a failure should (one
// line containing want, exit 1) and must now succeed. It returns how many
// were sent again.
func (e *env) retryFailed(cs []*sentCompletion, want string) int {
	e.t.Helper()
	n := 0
	for _, c := range cs {
		if c.res.code == 0 {
			continue
		}
		n++
		unavailableLine(e.t, "task complete "+c.id+" while the service was down", c.res, want)
		e.t.Logf("%s failed after %v while the service was down: %s", c.id, c.took, strings.TrimSpace(c.res.stderr))
		if r := e.starter("task", "complete", c.id, "--as", c.person, "--outcome", c.file); r.code != 0 || !strings.Contains(r.stdout, "done by "+c.person) {
			e.t.Errorf("task complete %s sent again after the outage: %s", c.id, r)
		}
	}
	return n
}

// apiToken creates an API token of the person's, as they would on the web
// pages, through the service in this process.
func (e *env) apiToken(person string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var dbURL string
	for _, v := range e.vars {
		if u, ok := strings.CutPrefix(v, "DATABASE_URL="); ok {
			dbURL = u
		}
	}
	svc := service.New(service.Config{Store: store.New(dbtest.Open(e.t, dbURL))})
	a, err := svc.Act(ctx, person, review.Via{Channel: review.ChannelWeb, Ref: "faults-test"})
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := svc.CreateToken(ctx, a, service.NewToken{Name: "faults test", Scope: service.ScopeAct})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok.Secret
}

// postOutcome completes a task through the HTTP API with a token.
func postOutcome(t *testing.T, base, token, id string, outcome any) reply {
	t.Helper()
	b, err := json.Marshal(map[string]any{"outcome": outcome})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", base+"/api/v1/tasks/"+url.PathEscape(id)+"/complete", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("POST complete %s: %v", id, err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return reply{code: resp.StatusCode, header: resp.Header, body: body.Bytes()}
}

// unavailableReply checks an API answer made while a service was down: 503
// with Retry-After and a JSON error containing want.
func unavailableReply(t *testing.T, what string, r reply, want string) {
	t.Helper()
	if r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !strings.Contains(r.errorText(), want) {
		t.Errorf("%s: want 503 with Retry-After and an error containing %q, got %s (Retry-After %q)", what, want, r, r.header.Get("Retry-After"))
	}
}

// TestPostgresRestartMidCycle drives a cycle through the command line and
// the API on a PostgreSQL cluster of the test's own, and stops that cluster
// twice while completions are in flight: once cleanly (pg_ctl stop -m fast)
// while the units' evaluations and consultations are being sent, once as a
// crash (-m immediate) while the unit heads sign. A completion sent while the
// database is down is refused in one line (the API: 503 with Retry-After)
// and succeeds when sent again; the worker and the server ride out both
// outages; and the cycle ends with every record written exactly once, the
// audit chain intact, no task left open and every notice mailed once.
func TestPostgresRestartMidCycle(t *testing.T) {
	began := time.Now()
	pg := startCluster(t)
	e := newEnvOnCluster(t, pg)
	srv := smtptest.Start(t)
	e.vars = append(e.vars, "SMTP_URL="+srv.URL()+"?from=oho@example.fi", "OHO_NOTIFY_POLL=100ms")
	w := e.startWorker()
	org := e.org()
	for _, p := range org["people"].([]map[string]any) {
		p["email"] = mailOf(p["id"].(string))
	}
	e.ok("org", "import", e.file("org.json", org))
	api := e.startServer(freeAddr(t))
	harbourRep, forestHead := e.apiToken("harbour.rep"), e.apiToken("forest.head")
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year)
	t.Logf("cluster on port %d ready, cycle started after %v", pg.port, time.Since(began).Round(time.Millisecond))

	const dbDown = "PostgreSQL"
	completed := `SELECT count(*) FROM audit_events WHERE action = 'task.completed'`

	// 1. A clean stop while five of the units' six tasks are being completed.
	var batch []*sentCompletion
	for _, u := range units {
		l := strings.ToLower(u)
		for _, c := range []*sentCompletion{
			{id: e.taskID(review.KindEvaluate, 0, u), person: l + ".staff", file: e.file(u+"-eval.json", evaluation(u))},
			{id: e.taskID(review.KindConsult, 0, u), person: l + ".rep", file: e.file(u+"-consult.json", consultation())},
		} {
			e.waitTask(c.id)
			if c.person != "harbour.rep" {
				batch = append(batch, c)
			}
		}
	}
	harbourConsult := e.taskID(review.KindConsult, 0, "HARBOUR")
	harbourFile := e.file("HARBOUR-consult.json", consultation())
	wait := e.sendAll(batch)
	e.waitCount(1, 30*time.Second, completed)
	down := time.Now()
	pg.stop("fast")
	stopped := time.Since(down)
	r := e.starter("task", "complete", harbourConsult, "--as", "harbour.rep", "--outcome", harbourFile)
	unavailableLine(t, "task complete while PostgreSQL is stopped", r, dbDown)
	t.Logf("while PostgreSQL was stopped: %s", strings.TrimSpace(r.stderr))
	unavailableReply(t, "POST complete while PostgreSQL is stopped", postOutcome(t, api.base, harbourRep, harbourConsult, consultation()), dbDown)
	stayDown(down, outage)
	pg.start()
	downFor := time.Since(down)
	wait()
	t.Logf("clean stop: took %v, the database was down for %v; the five completions sent as it stopped took %v", stopped.Round(time.Millisecond), downFor.Round(time.Millisecond), tookOf(batch))
	resent := e.retryFailed(batch, dbDown)
	if r := postOutcome(t, api.base, harbourRep, harbourConsult, consultation()); r.code != http.StatusOK {
		t.Errorf("POST complete %s after the restart: %s", harbourConsult, r)
	}
	if out := e.ok("task", "complete", harbourConsult, "--as", "harbour.rep", "--outcome", harbourFile); !strings.Contains(out, "done by harbour.rep") {
		t.Errorf("the same completion through the command line after the API's: got %q", out)
	}
	t.Logf("clean stop: %d of the five in flight were refused and sent again", resent)

	// 2. A crash while two of the three unit heads sign.
	e.complete(e.taskID(review.KindDraft, 1, ""), "p.editor", draft(1))
	batch = nil
	var forest *sentCompletion
	for _, u := range units {
		id := e.taskID(review.KindSignOff, 1, u)
		c := &sentCompletion{id: id, person: strings.ToLower(u) + ".head",
			file: e.file(u+"-sign.json", map[string]any{"decision": "approve", "version_hash": hashOf(e.waitTask(id))})}
		if u == "FOREST" {
			forest = c
		} else {
			batch = append(batch, c)
		}
	}
	var forestOutcome map[string]any
	if b, err := os.ReadFile(forest.file); err != nil || json.Unmarshal(b, &forestOutcome) != nil {
		t.Fatalf("reading %s: %v", forest.file, err)
	}
	before := e.count(completed)
	wait = e.sendAll(batch)
	e.waitCount(before+1, 30*time.Second, completed)
	down = time.Now()
	pg.stop("immediate")
	stopped = time.Since(down)
	r = e.starter("task", "complete", forest.id, "--as", forest.person, "--outcome", forest.file)
	unavailableLine(t, "task complete while PostgreSQL is down after a crash", r, dbDown)
	t.Logf("while PostgreSQL was down after a crash: %s", strings.TrimSpace(r.stderr))
	unavailableReply(t, "POST complete while PostgreSQL is down after a crash", postOutcome(t, api.base, forestHead, forest.id, forestOutcome), dbDown)
	stayDown(down, outage)
	pg.start()
	downFor = time.Since(down)
	wait()
	t.Logf("crash: took %v, the database was down for %v; the two sign-offs sent as it crashed took %v", stopped.Round(time.Millisecond), downFor.Round(time.Millisecond), tookOf(batch))
	resent = e.retryFailed(batch, dbDown)
	t.Logf("crash: %d of the two in flight were refused and sent again", resent)
	if r := postOutcome(t, api.base, forestHead, forest.id, forestOutcome); r.code != http.StatusOK {
		t.Errorf("POST complete %s after the restart: %s", forest.id, r)
	}
	if r := e.starter("task", "complete", forest.id, "--as", forest.person, "--outcome", forest.file); r.code != 0 {
		t.Errorf("the same sign-off through the command line after the API's: %s", r)
	}

	// 3. The approval, and everything counted.
	e.complete(e.taskID(review.KindApprove, 1, ""), "r.approver", map[string]any{"decision": "approve", "effective_from": "2026-08-01"})
	e.waitCount(1, 60*time.Second, `SELECT count(*) FROM cycles WHERE status = 'completed'`)
	select {
	case <-w.done:
		t.Fatalf("the worker exited during the outages:\n%s", w.output())
	default:
	}
	select {
	case <-api.done:
		t.Fatalf("starter serve exited during the outages:\n%s", api.output())
	default:
	}
	checkCounts(t, e, append(oneRoundCounts(), []countCheck{
		// A notice to each task's one candidate, and the publication to the
		// manager and the three unit heads.
		{`SELECT count(*) FROM notifications WHERE kind = 'assigned'`, 11},
		{`SELECT count(*) FROM notifications WHERE kind = 'published'`, 4},
		{`SELECT count(*) FROM notifications`, 15},
	}...))
	e.checkAuditVerify()
	e.checkMailedOnce(srv)
	t.Logf("the whole test took %v", time.Since(began).Round(time.Millisecond))
}

// outage is how long the test keeps a service down at least: long enough
// for the worker's activities to fail and be retried several times (their
// retries start a second apart and double).
const outage = 4 * time.Second

// stayDown waits until the service that went down at down has been down for
// d.
func stayDown(down time.Time, d time.Duration) {
	time.Sleep(time.Until(down.Add(d)))
}

// tookOf lists how long each completion took.
func tookOf(cs []*sentCompletion) []time.Duration {
	var out []time.Duration
	for _, c := range cs {
		out = append(out, c.took)
	}
	return out
}

// checkMailedOnce waits until no notice is waiting to be sent, then checks
// that the SMTP server received every notice exactly once. A notice whose
// mail went out just as the database went away may stay 'sending' (it
// becomes 'uncertain' later and is never resent): it must have been mailed
// once all the same.
func (e *env) checkMailedOnce(srv *smtptest.Server) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM notifications WHERE state = 'pending'`) > 0 {
		if time.Now().After(deadline) {
			e.t.Fatalf("notices still pending 30s after the cycle ended")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var rows []struct {
		ID    string `db:"id"`
		State string `db:"state"`
	}
	if err := e.db.Select(&rows, `SELECT id, state FROM notifications ORDER BY id`); err != nil {
		e.t.Fatal(err)
	}
	// A notice whose state is 'sent' was mailed; wait briefly for the
	// server to have handed over the last ones.
	mailed := map[string]int{}
	deadline = time.Now().Add(10 * time.Second)
	for {
		clear(mailed)
		for _, m := range srv.Messages() {
			mailed[strings.Trim(m.Header.Get("Message-Id"), "<>")]++
		}
		if len(mailed) >= len(rows) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	states := map[string]int{}
	for _, n := range rows {
		states[n.State]++
		if n.State != "sent" && n.State != "sending" {
			e.t.Errorf("notice %s is %s, want sent", n.ID, n.State)
		}
		if got := mailed[n.ID+"@oho"]; got != 1 {
			e.t.Errorf("notice %s (%s) was mailed %d times, want once", n.ID, n.State, got)
		}
		delete(mailed, n.ID+"@oho")
	}
	for id, n := range mailed {
		e.t.Errorf("the SMTP server got %d mails with Message-ID %s, which is no notice", n, id)
	}
	e.t.Logf("notices: %d, by state %v; mails received: %d", len(rows), states, len(srv.Messages()))
}
