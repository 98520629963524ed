//go:build cluster

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/workflows"
)

// This file holds the test of OHO on a real Temporal server (go.temporal.io/server,
// with PostgreSQL persistence and visibility) that scripts/cluster.sh runs. It is
// built only with the tag "cluster", so that `go test ./e2e` does not have it:
// `make test-cluster` brings the server up and runs
//
//	OHO_CLUSTER_ADDRESS=127.0.0.1:7633 TEMPORAL_ADDRESS=127.0.0.1:7633 \
//	    go test -tags cluster -run TestCluster ./e2e

// clusterAddress returns the address of the cluster's frontend, failing the
// test when it is not configured or does not answer, or when what answers is
// not a server with PostgreSQL persistence and visibility (the dev server's
// are SQLite).
func clusterAddress(t *testing.T) (addr, namespace string) {
	t.Helper()
	addr = os.Getenv("OHO_CLUSTER_ADDRESS")
	if addr == "" {
		t.Fatal("OHO_CLUSTER_ADDRESS is not set: run this test with 'make test-cluster', which starts the server (scripts/cluster.sh up)")
	}
	namespace = os.Getenv("OHO_CLUSTER_NAMESPACE")
	if namespace == "" {
		namespace = "default"
	}
	c := dialCluster(t, addr, namespace)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := c.WorkflowService().GetClusterInfo(ctx, &workflowservice.GetClusterInfoRequest{})
	if err != nil {
		t.Fatalf("the Temporal server at OHO_CLUSTER_ADDRESS=%s does not answer: %v (scripts/cluster.sh up starts it)", addr, err)
	}
	if !strings.HasPrefix(info.GetPersistenceStore(), "postgres") || !strings.HasPrefix(info.GetVisibilityStore(), "postgres") {
		t.Fatalf("the Temporal server at %s keeps its persistence in %q and visibility in %q, want PostgreSQL for both (is it the dev server?)",
			addr, info.GetPersistenceStore(), info.GetVisibilityStore())
	}
	t.Logf("Temporal server %s at %s: persistence %s, visibility %s, %d history shards",
		info.GetServerVersion(), addr, info.GetPersistenceStore(), info.GetVisibilityStore(), info.GetHistoryShardCount())
	return addr, namespace
}

func dialCluster(t *testing.T, addr, namespace string) client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: namespace})
	if err != nil {
		t.Fatalf("the Temporal server at OHO_CLUSTER_ADDRESS=%s does not answer: %v (scripts/cluster.sh up starts it)", addr, err)
	}
	t.Cleanup(c.Close)
	return c
}

// clusterScript runs scripts/cluster.sh with a subcommand and returns how
// long it took; its messages go to the test's log.
func clusterScript(t *testing.T, subcommand string) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "scripts/cluster.sh", subcommand)
	cmd.Dir = ".."
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	t.Logf("scripts/cluster.sh %s (%v):\n%s", subcommand, took.Round(time.Millisecond), strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("scripts/cluster.sh %s: %v", subcommand, err)
	}
	return took
}

// frontendOpen tells whether something accepts connections on addr.
func frontendOpen(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// clusterPollers waits until the workers' processes all poll the task
// queue, for workflow and for activity tasks, and returns the pollers'
// identities. Matching forgets its pollers when the server restarts, so after
// a restart this tells that every worker came back to it.
func clusterPollers(t *testing.T, c client.Client, queue string, workers ...*worker) []string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var ids []string
		missing := ""
		for _, typ := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			resp, err := c.DescribeTaskQueue(ctx, queue, typ)
			cancel()
			var seen []string
			if err == nil {
				for _, p := range resp.GetPollers() {
					seen = append(seen, p.GetIdentity())
				}
			}
			for _, w := range workers {
				pid := fmt.Sprintf("%d@", w.cmd.Process.Pid)
				if !slices.ContainsFunc(seen, func(id string) bool { return strings.HasPrefix(id, pid) }) && missing == "" {
					missing = fmt.Sprintf("the worker of pid %d does not poll the %s queue (pollers %v, error %v)", w.cmd.Process.Pid, typ, seen, err)
				}
			}
			ids = append(ids, seen...)
		}
		if missing == "" {
			slices.Sort(ids)
			return slices.Compact(ids)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a minute %s", missing)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// killClusterServer kills the process of the server that scripts/cluster.sh
// started (its pid file) with SIGKILL and waits until its frontend is closed.
func killClusterServer(t *testing.T, addr string) {
	t.Helper()
	b, err := os.ReadFile("../.dev/cluster/temporal-server.pid")
	if err != nil {
		t.Fatalf("reading the server's pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("the server's pid file holds %q: %v", b, err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), "temporal-server") {
		t.Fatalf("pid %d of .dev/cluster/temporal-server.pid is not the cluster's server (%q, %v)", pid, cmdline, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing the server (pid %d): %v", pid, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for frontendOpen(addr) {
		if time.Now().After(deadline) {
			t.Fatalf("the frontend %s still accepts connections 30s after its server (pid %d) was killed", addr, pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// auditAt returns when each audit event of the action about the subject was
// recorded, in order.
func (e *env) auditAt(action, subject string) []time.Time {
	e.t.Helper()
	var at []time.Time
	if err := e.db.Select(&at, `SELECT at FROM audit_events WHERE action = $1 AND subject = $2 ORDER BY id`, action, subject); err != nil {
		e.t.Fatal(err)
	}
	return at
}

// TestClusterCycleAcrossServerRestart runs a whole review cycle through the
// command line, with two workers on its task queue, against a real Temporal
// server whose persistence and visibility are in PostgreSQL. In the middle of
// the cycle it stops the server's process and starts it again on the same
// databases (scripts/cluster.sh stop, then up); later, with sign-offs open,
// it kills the process with SIGKILL and starts it again. One evaluation is
// left open across the first restart with a deadline of seconds: its reminder
// and overdue timers, set before the restart, must fire after it, once each.
// While the server is down a completion is refused in one line and nothing is
// recorded; the workers outlive the outages and poll the restarted server.
// The cycle then finishes, with every record written exactly once, the audit
// chain intact, no task left open, and the workflows listed in the server's
// visibility store by their search attributes.
func TestClusterCycleAcrossServerRestart(t *testing.T) {
	addr, namespace := clusterAddress(t)
	c := dialCluster(t, addr, namespace)
	// Whatever happens below, the server is left running for whoever comes
	// next (the next test run, a developer): if the test stopped at the
	// wrong moment, it is started again. A cycle that a failure left
	// running (its database and workers are gone) is terminated, with its
	// units, so that its timers do not fire on the server for ever.
	wfID := ""
	t.Cleanup(func() {
		if !frontendOpen(addr) {
			t.Log("the cluster's server is down at the end of the test: starting it again")
			clusterScript(t, "up")
		}
		if wfID == "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		desc, err := c.DescribeWorkflow(ctx, wfID, "")
		if err == nil && desc.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			err = c.TerminateWorkflow(ctx, wfID, "", "the test that started it ended")
			t.Logf("terminating the cycle %s left running: %v", wfID, err)
		}
	})

	e := newEnv(t)
	e.vars = append(e.vars, "TEMPORAL_ADDRESS="+addr, "TEMPORAL_NAMESPACE="+namespace, "OHO_NOTIFY_POLL=100ms")
	queue := ""
	for _, v := range e.vars {
		if q, ok := strings.CutPrefix(v, "OHO_TASK_QUEUE="); ok {
			queue = q
		}
	}
	workers := []*worker{e.startWorker(), e.startWorker()}
	t.Logf("two workers on task queue %s: %v", queue, clusterPollers(t, c, queue, workers...))

	e.ok("org", "import", e.file("org.json", e.org()))
	// Evaluations are due a minute after they open and reminded 30 s before;
	// every other task is due in an hour, so the late evaluation's are the
	// only deadline events of the cycle.
	const evaluate, before = 60 * time.Second, 30 * time.Second
	cfg := fmt.Sprintf(`{"phases": {"evaluate": %q, "consult": "1h", "update": "1h", "signoff": "1h", "approve": "1h"}, "reminders": {"before": %q, "every": "1h"}, "max_rounds": 3}`,
		evaluate, before)
	wfID = strings.TrimSpace(e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year, "--config", e.file("config.json", cfg)))

	// Before the restart: every unit's consultation and two evaluations.
	// HARBOUR's evaluation stays open across the restart.
	late := e.taskID(review.KindEvaluate, 0, "HARBOUR")
	e.waitTask(late)
	var shown struct {
		DueAt time.Time `json:"due_at"`
	}
	if err := json.Unmarshal([]byte(e.ok("task", "show", late, "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	due := shown.DueAt
	for _, u := range units {
		if u != "HARBOUR" {
			e.complete(e.taskID(review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", evaluation(u))
		}
		e.complete(e.taskID(review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}
	if n := len(e.auditAt("task.reminded", late)); n != 0 || time.Until(due.Add(-before)) < 5*time.Second {
		t.Fatalf("the cycle took too long to reach the restart: %s is reminded at %s (%d reminders recorded), too soon to restart the server before it",
			late, due.Add(-before).Format("15:04:05.000"), n)
	}

	// The server's process stops; the databases stay.
	stopped := time.Now()
	stopTook := clusterScript(t, "stop")
	if frontendOpen(addr) {
		t.Fatalf("the frontend %s still accepts connections after scripts/cluster.sh stop", addr)
	}
	completedBefore := e.count(`SELECT count(*) FROM audit_events WHERE action = 'task.completed'`)
	down := e.starter("task", "complete", late, "--as", "harbour.staff", "--outcome", e.file("late-down.json", evaluation("HARBOUR")))
	firstLine, _, _ := strings.Cut(strings.TrimSpace(down.stderr), "\n")
	if down.code != 1 || strings.Contains(strings.TrimSpace(down.stderr), "\n") || !strings.Contains(strings.ToLower(firstLine), "temporal") ||
		strings.Contains(down.stderr, "goroutine ") {
		t.Errorf("a completion while the server is down: want exit 1 and one line naming Temporal, got %s", down)
	}
	t.Logf("a completion while the server is down: exit %d, %q", down.code, firstLine)
	for i, w := range workers {
		select {
		case <-w.done:
			t.Fatalf("worker %d exited while the server was down:\n%s", i+1, w.output())
		default:
		}
	}
	upTook := clusterScript(t, "up")
	back := time.Now()
	t.Logf("the server was stopped at %s and answered again at %s: stop %v, up %v, %v in all",
		stopped.Format("15:04:05.000"), back.Format("15:04:05.000"), stopTook.Round(time.Millisecond), upTook.Round(time.Millisecond), back.Sub(stopped).Round(time.Millisecond))
	if n := e.count(`SELECT count(*) FROM audit_events WHERE action = 'task.completed'`); n != completedBefore {
		t.Errorf("the completion refused while the server was down recorded something: %d task.completed events, want %d", n, completedBefore)
	}
	t.Logf("both workers poll the restarted server: %v", clusterPollers(t, c, queue, workers...))

	// The timers set before the restart fire after it, once each.
	waitAudit := func(action string) time.Time {
		deadline := time.Now().Add(time.Until(due) + 30*time.Second)
		for {
			if at := e.auditAt(action, late); len(at) > 0 {
				return at[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s event for %s by %s (due %s)", action, late, time.Now().Format("15:04:05.000"), due.Format("15:04:05.000"))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	const slack = 500 * time.Millisecond // the server, PostgreSQL and this test share a clock
	reminded, overdue := waitAudit("task.reminded"), waitAudit("task.overdue")
	if reminded.Before(back.Add(-slack)) || reminded.Before(due.Add(-before-slack)) || !reminded.Before(due) {
		t.Errorf("%s was reminded at %s; want after the server came back (%s), between %s and its due time %s",
			late, reminded.Format("15:04:05.000"), back.Format("15:04:05.000"), due.Add(-before).Format("15:04:05.000"), due.Format("15:04:05.000"))
	}
	if overdue.Before(due.Add(-slack)) {
		t.Errorf("%s was marked overdue at %s, before its due time %s", late, overdue.Format("15:04:05.000"), due.Format("15:04:05.000"))
	}
	t.Logf("%s: due %s, reminded %s, overdue %s (the server came back at %s)", late, due.Format("15:04:05.000"),
		reminded.Format("15:04:05.000"), overdue.Format("15:04:05.000"), back.Format("15:04:05.000"))

	// The rest of the cycle, on the restarted server: the late evaluation,
	// round 1 sent back by NORTH, round 2 signed by all, approved.
	e.complete(late, "harbour.staff", evaluation("HARBOUR"))
	e.complete(e.taskID(review.KindDraft, 1, ""), "p.editor", draft(1))
	signNorth := e.waitTask(e.taskID(review.KindSignOff, 1, "NORTH"))

	// The server's process is killed with SIGKILL while round 1's sign-offs
	// are open, with no chance to hand its shards over, and started again.
	killed := time.Now()
	killClusterServer(t, addr)
	upTook = clusterScript(t, "up")
	t.Logf("the server was killed at %s and answered again %v later (up %v)", killed.Format("15:04:05.000"),
		time.Since(killed).Round(time.Millisecond), upTook.Round(time.Millisecond))
	clusterPollers(t, c, queue, workers...)
	e.complete(signNorth.ID, "north.head", map[string]any{"decision": "request_changes", "comment": "Name the rota owner", "version_hash": hashOf(signNorth)})
	e.complete(e.taskID(review.KindDraft, 2, ""), "p.editor", draft(2))
	for _, u := range units {
		id := e.taskID(review.KindSignOff, 2, u)
		e.complete(id, strings.ToLower(u)+".head", map[string]any{"decision": "approve", "version_hash": hashOf(e.waitTask(id))})
	}
	e.complete(e.taskID(review.KindApprove, 2, ""), "r.approver", map[string]any{"decision": "approve", "comment": "For the board", "effective_from": "2026-08-01"})

	var status review.Progress
	deadline := time.Now().Add(30 * time.Second)
	for status.Status != review.CycleCompleted {
		if time.Now().After(deadline) {
			t.Fatalf("the cycle did not complete: %+v", status)
		}
		time.Sleep(100 * time.Millisecond)
		if err := json.Unmarshal([]byte(e.ok("cycle", "status", "--provider", e.provider, "--year", year, "--json")), &status); err != nil {
			t.Fatal(err)
		}
	}
	kinds := map[string]int{}
	for _, ts := range status.Tasks {
		kinds[string(ts.Kind)+" "+ts.Status]++
	}
	if got, want := fmt.Sprint(kinds), "map[approve done:1 consult done:3 draft done:2 evaluate done:3 signoff done:4 signoff superseded:2]"; got != want {
		t.Errorf("tasks by kind and status: got %s, want %s", got, want)
	}
	if status.Phase != review.PhasePublished || status.Round != 2 || status.WorkflowID != wfID {
		t.Errorf("cycle status: got phase %s round %d id %s, want published 2 %s", status.Phase, status.Round, status.WorkflowID, wfID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := c.QueryWorkflow(ctx, wfID, "", workflows.QueryStatus)
	if err != nil {
		t.Fatalf("querying %s on the cluster: %v", wfID, err)
	}
	var query review.Progress
	if err := v.Get(&query); err != nil {
		t.Fatal(err)
	}
	if query.Status != status.Status || query.Phase != status.Phase || query.Round != status.Round || fmt.Sprint(query.Units) != fmt.Sprint(status.Units) {
		t.Errorf("the workflow's status query disagrees with the database: query %+v, database %+v", query, status)
	}

	// Every record exactly once: 15 tasks (3 evaluations, 3 consultations, 2
	// drafts, 3 + 3 sign-offs of which 2 superseded, 1 approval), 2 findings
	// and 1 indicator per evaluation, 1 feedback item per consultation, the
	// request for changes and round 2's three approvals, one reminder, one
	// overdue mark and its escalation.
	for _, check := range []struct {
		query string
		want  int
	}{
		{`SELECT count(*) FROM tasks`, 15},
		{`SELECT count(*) FROM tasks WHERE status = 'open'`, 0},
		{`SELECT count(*) FROM tasks WHERE status = 'done'`, 13},
		{`SELECT count(*) FROM tasks WHERE status = 'superseded'`, 2},
		{`SELECT count(*) FROM findings`, 6},
		{`SELECT count(*) FROM indicators`, 3},
		{`SELECT count(*) FROM consultations`, 3},
		{`SELECT count(*) FROM feedback_items`, 3},
		{`SELECT count(*) FROM plan_drafts`, 2},
		{`SELECT count(*) FROM signoffs`, 4},
		{`SELECT count(*) FROM signoffs WHERE decision = 'request_changes'`, 1},
		{`SELECT count(*) FROM approvals`, 1},
		{`SELECT count(*) FROM plan_versions`, 1},
		{`SELECT count(*) FROM audit_events WHERE action = 'task.opened'`, 15},
		{`SELECT count(*) FROM audit_events WHERE action = 'task.completed'`, 13},
		{`SELECT count(*) FROM audit_events WHERE action = 'task.superseded'`, 2},
		{`SELECT count(*) FROM audit_events WHERE action = 'task.reminded'`, 1},
		{`SELECT count(*) FROM audit_events WHERE action = 'task.overdue'`, 1},
		{`SELECT count(*) FROM audit_events WHERE action = 'task.overdue_reminded'`, 0},
		{`SELECT count(*) FROM audit_events WHERE action = 'plan.published'`, 1},
		{`SELECT count(*) FROM notifications WHERE kind = 'reminder'`, 1},
		{`SELECT count(*) FROM notifications WHERE kind = 'overdue'`, 1},
		{`SELECT count(*) FROM notifications WHERE kind = 'escalation'`, 1},
	} {
		if got := e.count(check.query); got != check.want {
			t.Errorf("%s: got %d, want %d", check.query, got, check.want)
		}
	}
	events := e.count(`SELECT count(*) FROM audit_events`)
	if out := e.ok("audit", "verify"); strings.TrimSpace(out) != fmt.Sprintf("ok %d events", events) {
		t.Errorf("audit verify: got %q, want \"ok %d events\"", out, events)
	}

	// The server's visibility store (PostgreSQL) lists the cycle and its
	// three units by their search attributes, all completed.
	visQuery := fmt.Sprintf("OhoProvider = '%s' AND OhoYear = %s", e.provider, year)
	deadline = time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, Query: visQuery})
		cancel()
		var listed []string
		for _, ex := range resp.GetExecutions() {
			if ex.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				listed = append(listed, ex.GetExecution().GetWorkflowId())
			}
		}
		slices.Sort(listed)
		// The cycle, its three units, and their sign-offs of rounds 1
		// (NORTH's request for changes, the other two superseded) and 2.
		want := []string{wfID}
		for _, u := range []string{"FOREST", "HARBOUR", "NORTH"} {
			want = append(want, review.UnitReviewID(wfID, u), review.SignOffWorkflowID(wfID, u, 1), review.SignOffWorkflowID(wfID, u, 2))
		}
		slices.Sort(want)
		if err == nil && slices.Equal(listed, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server's visibility lists %v as completed for %q (error %v), want %v", listed, visQuery, err, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
	for i, w := range workers {
		t.Logf("worker %d (pid %d) recorded %d deadline events and logged %d lines", i+1, w.cmd.Process.Pid,
			strings.Count(w.output(), "deadline event recorded"), strings.Count(w.output(), "\n"))
	}
}
