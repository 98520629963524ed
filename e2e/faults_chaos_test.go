package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/smtptest"
)

// launchWorker starts a worker process and waits until it polls, like
// startWorker, but reports failure as an error, so that a goroutine other
// than the test's may call it.
func (e *env) launchWorker() (*worker, error) {
	w := &worker{cmd: exec.Command(filepath.Join(binDir, "worker")), done: make(chan struct{})}
	w.cmd.Env = e.vars
	w.cmd.Stdout, w.cmd.Stderr = w, w
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting a worker: %w", err)
	}
	go func() { _ = w.cmd.Wait(); close(w.done) }()
	e.t.Cleanup(func() { w.stop(syscall.SIGTERM) })
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(w.output(), "worker started") {
		select {
		case <-w.done:
			return nil, fmt.Errorf("the worker exited at start:\n%s", w.output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the worker did not start within 30s:\n%s", w.output())
		}
	}
	return w, nil
}

// run runs the command line as starter does, but returns a failure to run
// it as an error instead of failing the test, for goroutines.
func (e *env) run(ctx context.Context, args ...string) (result, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "starter"), args...)
	cmd.Env, cmd.Dir = e.vars, e.dir
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return result{stdout.String(), stderr.String(), 0}, nil
	case errors.As(err, &exitErr) && ctx.Err() == nil:
		return result{stdout.String(), stderr.String(), exitErr.ExitCode()}, nil
	}
	return result{}, fmt.Errorf("running starter %v: %w", args, err)
}

// chaosOrg is provider code's organisation for the chaos test: one unit,
// every role filled, the people's IDs prefixed with p so that the providers'
// people differ, and everyone with an e-mail address.
func chaosOrg(code, p string) map[string]any {
	person := func(id, role, unit string) map[string]any {
		return map[string]any{"id": p + "." + id, "name": id + " of " + code, "email": mailOf(p + "." + id),
			"roles": []map[string]string{{"role": role, "unit": unit}}}
	}
	return map[string]any{
		"provider": map[string]string{"code": code, "name": "Chaos College " + p},
		"units":    []map[string]string{{"code": "MAIN", "name": "Main campus"}},
		"people": []map[string]any{
			person("manager", "manager", ""), person("editor", "plan_editor", ""), person("approver", "approver", ""),
			person("head", "unit_head", "MAIN"), person("staff", "welfare_staff", "MAIN"), person("rep", "student_rep", "MAIN"),
		},
	}
}

// chaosDraft answers the one unit's major finding and feedback item.
func chaosDraft() map[string]any {
	return map[string]any{
		"changes": []map[string]any{
			{"id": "C1", "section": "communal", "text": "Two supervisors at every break.", "rationale": "Supervision finding", "addresses": []string{"MAIN/F1"}},
			{"id": "C2", "section": "individual", "text": "Counsellor hours are posted weekly.", "rationale": "Student feedback", "addresses": []string{"MAIN/S1"}},
		},
		"dispositions": []map[string]any{
			{"item": "MAIN/F1", "decision": "addressed", "change": "C1"},
			{"item": "MAIN/S1", "decision": "addressed", "change": "C2"},
		},
		"coverage": coverage(nil),
	}
}

// TestWorkerChaos runs 20 cycles, one per provider, through the command
// line at once, with two workers on the task queue and one of them killed
// with SIGKILL every 2-4 seconds and replaced, until every cycle has
// completed. Then everything is counted: every task, finding, feedback
// item, signature and version once per cycle, every audit event once, the
// chain intact, no task open, every notice mailed at most once, and no
// workflow failed.
func TestWorkerChaos(t *testing.T) {
	const cycles, drivers = 20, 5
	srv := smtptest.Start(t)
	e := newEnv(t)
	e.vars = append(e.vars, "SMTP_URL="+srv.URL()+"?from=oho@example.fi", "OHO_NOTIFY_POLL=200ms",
		// A notice a killed worker left before handing it over is sent
		// again once a live sender would have finished it: soon, here.
		"OHO_NOTIFY_SEND_TIMEOUT=2s")

	type cycleOf struct{ code, p string }
	var all []cycleOf
	for i := range cycles {
		c := cycleOf{code: fmt.Sprintf("%s%02d", e.provider, i), p: fmt.Sprintf("c%02d", i)}
		e.ok("org", "import", e.file(c.p+"-org.json", chaosOrg(c.code, c.p)))
		all = append(all, c)
	}

	var mu sync.Mutex
	workers := make([]*worker, 2)
	for i := range workers {
		workers[i] = e.startWorker()
	}

	// The chaos: one worker killed every 2-4 s, alternately, and replaced
	// at once, until the cycles are done.
	stopChaos := make(chan struct{})
	chaosDone := make(chan error, 1)
	var kills []time.Duration
	began := time.Now()
	go func() {
		for k := 0; ; k++ {
			select {
			case <-stopChaos:
				chaosDone <- nil
				return
			case <-time.After(2*time.Second + rand.N(2*time.Second)):
			}
			mu.Lock()
			victim := workers[k%2]
			mu.Unlock()
			victim.stop(syscall.SIGKILL)
			kills = append(kills, time.Since(began).Round(100*time.Millisecond))
			w, err := e.launchWorker()
			if err != nil {
				chaosDone <- err
				return
			}
			mu.Lock()
			workers[k%2] = w
			mu.Unlock()
		}
	}()

	// Each driver takes cycles one after another: starts it, then does
	// each task as its person would once the task is open.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	type failure struct {
		what string
		r    result
	}
	var failures []failure
	var retries int
	todo := make(chan cycleOf, len(all))
	for _, c := range all {
		todo <- c
	}
	close(todo)
	waitOpen := func(id string) error {
		for {
			var n int
			if err := e.db.GetContext(ctx, &n, `SELECT count(*) FROM tasks WHERE id = $1 AND status = 'open'`, id); err != nil {
				return fmt.Errorf("waiting for %s: %w", id, err)
			}
			if n == 1 {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("task %s was not opened: %w", id, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	// act runs one command a person gives; a command refused because a
	// service did not answer in time is given again, as a person would,
	// and counted.
	act := func(what string, args ...string) error {
		for attempt := 1; ; attempt++ {
			r, err := e.run(ctx, args...)
			if err != nil {
				return err
			}
			if r.code == 0 {
				return nil
			}
			mu.Lock()
			failures = append(failures, failure{what, r})
			retries++
			mu.Unlock()
			if attempt == 3 || !slices.ContainsFunc([]string{"try again", "no worker answered", "does not answer"}, func(s string) bool { return strings.Contains(r.stderr, s) }) {
				return fmt.Errorf("%s: %s", what, r)
			}
		}
	}
	drive := func(c cycleOf) error {
		taskID := func(kind review.TaskKind, round int, unit string) string {
			return review.TaskID(c.code, 2026, kind, round, unit)
		}
		if err := act("start "+c.code, "cycle", "start", "--as", c.p+".manager", "--provider", c.code, "--year", year); err != nil {
			return err
		}
		steps := []struct {
			id, who string
			outcome any
		}{
			{taskID(review.KindEvaluate, 0, "MAIN"), "staff", evaluation("MAIN")},
			{taskID(review.KindConsult, 0, "MAIN"), "rep", consultation()},
			{taskID(review.KindDraft, 1, ""), "editor", chaosDraft()},
			{taskID(review.KindSignOff, 1, "MAIN"), "head", nil},
			{taskID(review.KindApprove, 1, ""), "approver", map[string]any{"decision": "approve", "effective_from": "2026-08-01"}},
		}
		for _, s := range steps {
			if err := waitOpen(s.id); err != nil {
				return err
			}
			outcome := s.outcome
			if outcome == nil {
				var hash string
				if err := e.db.GetContext(ctx, &hash, `SELECT input->>'version_hash' FROM tasks WHERE id = $1`, s.id); err != nil {
					return fmt.Errorf("reading the hash to sign in %s: %w", s.id, err)
				}
				outcome = map[string]any{"decision": "approve", "version_hash": hash}
			}
			file := e.file(strings.ReplaceAll(s.id, "/", "_")+".json", outcome)
			if err := act("complete "+s.id, "task", "complete", s.id, "--as", c.p+"."+s.who, "--outcome", file); err != nil {
				return err
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(all))
	for range drivers {
		wg.Go(func() {
			for c := range todo {
				if err := drive(c); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// Every cycle completes, whatever worker is up.
	waitCompleted := func() int {
		deadline := time.Now().Add(time.Minute)
		for {
			n := e.count(`SELECT count(*) FROM cycles WHERE status = 'completed'`)
			if n == cycles || time.Now().After(deadline) {
				return n
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	completed := waitCompleted()
	took := time.Since(began)
	close(stopChaos)
	if err := <-chaosDone; err != nil {
		t.Fatalf("replacing a killed worker: %v", err)
	}
	t.Logf("%d cycles of %d tasks completed in %v with %d drivers; workers killed with SIGKILL %d times, at %v; %d commands given again",
		completed, 5, took.Round(100*time.Millisecond), drivers, len(kills), kills, retries)
	for _, f := range failures {
		t.Logf("given again: %s: %s", f.what, f.r)
	}
	if completed != cycles {
		t.Fatalf("%d of %d cycles completed; cycles: %v", completed, cycles, e.cycleStates())
	}
	if len(kills) < 5 {
		t.Errorf("only %d workers were killed while the cycles ran; want at least 5 for the test to mean something", len(kills))
	}
	for _, f := range failures {
		if strings.Contains(f.r.stderr, "goroutine ") || strings.Contains(f.r.stderr, "panic") || strings.Count(strings.TrimSpace(f.r.stderr), "\n") > 0 {
			t.Errorf("%s: not one clear line: %s", f.what, f.r)
		}
	}

	// Exact counts, in total and per cycle.
	for _, c := range []struct {
		query string
		want  int
	}{
		{`SELECT count(*) FROM tasks`, 5 * cycles},
		{`SELECT count(*) FROM tasks WHERE status = 'done'`, 5 * cycles},
		{`SELECT count(*) FROM findings`, 2 * cycles},
		{`SELECT count(*) FROM indicators`, cycles},
		{`SELECT count(*) FROM feedback_items`, cycles},
		{`SELECT count(*) FROM signoffs`, cycles},
		{`SELECT count(*) FROM approvals`, cycles},
		{`SELECT count(*) FROM plan_versions`, cycles},
		{`SELECT count(*) FROM audit_events WHERE action = 'cycle.started'`, cycles},
		{`SELECT count(*) FROM audit_events WHERE action = 'task.opened'`, 5 * cycles},
		{`SELECT count(*) FROM audit_events WHERE action = 'task.completed'`, 5 * cycles},
		{`SELECT count(*) FROM audit_events WHERE action = 'plan.published'`, cycles},
		// Per cycle: no cycle with more or fewer than its own.
		{`SELECT count(*) FROM (SELECT cycle_id FROM tasks GROUP BY cycle_id HAVING count(*) = 5 AND bool_and(status = 'done')) c`, cycles},
		{`SELECT count(*) FROM (SELECT cycle_id FROM audit_events WHERE action = 'task.completed' GROUP BY cycle_id HAVING count(*) = 5) c`, cycles},
		{`SELECT count(*) FROM (SELECT subject FROM audit_events WHERE action IN ('task.opened', 'task.completed') GROUP BY action, subject HAVING count(*) > 1) d`, 0},
	} {
		if got := e.count(c.query); got != c.want {
			t.Errorf("%s: got %d, want %d", c.query, got, c.want)
		}
	}
	events := e.count(`SELECT count(*) FROM audit_events`)
	if out := e.ok("audit", "verify"); strings.TrimSpace(out) != fmt.Sprintf("ok %d events", events) {
		t.Errorf("audit verify: got %q, want \"ok %d events\"", out, events)
	}

	// Notices: every one queued once (their IDs are the outbox's key), and
	// mailed exactly once. One a killed worker was sending before it handed
	// the message over is sent again by the other; only one it was killed
	// while handing over may be left sending (and become uncertain after
	// StuckAfter): it may have gone, so it is never sent again.
	inDoubt := `state = 'sending' AND handed_over_at IS NOT NULL`
	deadline := time.Now().Add(45 * time.Second)
	for e.count(`SELECT count(*) FROM notifications WHERE state <> 'sent' AND NOT (`+inDoubt+`)`) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // more polls: nothing comes twice
	var states []struct {
		State string `db:"state"`
		N     int    `db:"n"`
	}
	if err := e.db.Select(&states, `SELECT state, count(*) AS n FROM notifications GROUP BY state ORDER BY state`); err != nil {
		t.Fatal(err)
	}
	notices := e.count(`SELECT count(*) FROM notifications`)
	byID := map[string]int{}
	for _, m := range srv.Messages() {
		byID[m.Header.Get("Message-Id")]++
	}
	for id, n := range byID {
		if n > 1 {
			t.Errorf("the notice %s was mailed %d times", id, n)
		}
	}
	sent, doubt := e.count(`SELECT count(*) FROM notifications WHERE state = 'sent'`), e.count(`SELECT count(*) FROM notifications WHERE `+inDoubt)
	if got := len(byID); got < sent || got > sent+doubt {
		t.Errorf("the server has %d notices' messages for %d sent and %d in doubt (%d queued)", got, sent, doubt, notices)
	}
	if n := notices - sent - doubt; n != 0 {
		t.Errorf("%d notices neither sent nor in doubt after the cycles; states %v", n, states)
	}
	// The mail server refuses nothing here, so a second attempt is a kill's.
	resent := e.count(`SELECT count(*) FROM notifications WHERE state = 'sent' AND attempts > 1`)
	t.Logf("notices sent again after a kill before their hand-over: %d; in doubt: %d", resent, doubt)
	t.Logf("notices: %d queued, %d messages received, states %v", notices, len(srv.Messages()), states)

	// The server saw no workflow fail: each cycle and its unit completed.
	c := dialTemporal(t)
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	namespace := opts.Namespace
	if namespace == "" {
		namespace = "default"
	}
	for _, cy := range all {
		id := review.CycleID(cy.code, 2026)
		want := []string{id, review.UnitReviewID(id, "MAIN"), review.SignOffWorkflowID(id, "MAIN", 1)}
		query := fmt.Sprintf("OhoProvider = '%s'", cy.code)
		deadline := time.Now().Add(30 * time.Second)
		for {
			lctx, lcancel := context.WithTimeout(context.Background(), 10*time.Second)
			resp, err := c.ListWorkflow(lctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, Query: query})
			lcancel()
			var completed, other []string
			for _, ex := range resp.GetExecutions() {
				if ex.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
					completed = append(completed, ex.GetExecution().GetWorkflowId())
				} else {
					other = append(other, ex.GetExecution().GetWorkflowId()+" "+ex.GetStatus().String())
				}
			}
			slices.Sort(completed)
			if err == nil && len(other) == 0 && slices.Equal(completed, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("workflows of %s: completed %v, others %v (error %v); want %v completed", cy.code, completed, other, err, want)
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}

// cycleStates lists every cycle of the test's database with its status.
func (e *env) cycleStates() []string {
	var out []string
	if err := e.db.Select(&out, `SELECT id || ' ' || status FROM cycles ORDER BY id`); err != nil {
		e.t.Fatal(err)
	}
	return out
}
