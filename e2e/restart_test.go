package e2e

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/workflows"
)

// TestCycleVisibleAtOnceThenStartedAgain drives what a manager meets when
// no worker runs and when a year's cycle ends without a plan: the cycle is
// visible the moment it is started, and its status (and the dashboard) says
// it waits for a worker and that none polls; once a worker runs it, it is
// set up. Cancelled,
// it is started again as attempt 2 with tasks of its own, which runs to a
// published plan; the first attempt keeps its records, and the trail links
// the two and still verifies.
func TestCycleVisibleAtOnceThenStartedAgain(t *testing.T) {
	w := newWebWorld(t, webOptions{noWorker: true})
	e := w.env
	first := review.CycleID(e.provider, 2026)
	if got := strings.TrimSpace(e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year)); got != first {
		t.Fatalf("cycle start printed %q, want %q", got, first)
	}

	// No worker runs: the cycle is there at once, and says what it waits for.
	out := e.ok("cycle", "status", "--provider", e.provider, "--year", year)
	if !strings.Contains(out, "cycle "+first+": running") ||
		!strings.Contains(out, "waiting for a worker: no worker has set this cycle up yet; none is polling task queue oho-e2e-") {
		t.Errorf("cycle status right after the start, with no worker:\n%s", out)
	}
	var p review.Progress
	if err := json.Unmarshal([]byte(e.ok("cycle", "status", "--provider", e.provider, "--year", year, "--json")), &p); err != nil {
		t.Fatal(err)
	}
	if !p.WaitingForWorker || p.Workers == nil || *p.Workers != 0 || p.Attempt != 1 || len(p.Tasks) != 0 {
		t.Errorf("cycle status --json with no worker: waiting %v, workers %v, attempt %d, %d tasks; want waiting, 0 workers, attempt 1, no tasks",
			p.WaitingForWorker, p.Workers, p.Attempt, len(p.Tasks))
	}
	manager := w.login("m.manager")
	dash := manager.get("/dashboard")
	dash.says(t, "the dashboard with no worker", "Vuoden 2026 arviointikierros", "Odottaa työprosessia: kierros on aloitettu",
		"Yksikään työprosessi ei ole käynnissä: kerro järjestelmän ylläpitäjälle.")
	if n := e.count(`SELECT count(*) FROM audit_events WHERE action = 'cycle.started' AND subject = $1 AND actor = 'm.manager' AND workflow_id = $1 AND run_id <> ''`, first); n != 1 {
		t.Errorf("got %d cycle.started events naming the manager and the run, want 1", n)
	}
	e.refused(1, "refused: cycle "+first+" is running; only a failed or cancelled cycle can be started again",
		"cycle", "restart", "--as", "m.manager", "--provider", e.provider, "--year", year, "--reason", "too early")

	e.startWorker()
	e.waitTask(e.taskID(review.KindEvaluate, 0, "NORTH"))
	if out := e.ok("cycle", "status", "--provider", e.provider, "--year", year); strings.Contains(out, "waiting for a worker") {
		t.Errorf("cycle status once a worker set the cycle up still says it waits:\n%s", out)
	}
	if strings.Contains(manager.get("/dashboard").body, "Odottaa työprosessia") {
		t.Error("the dashboard once a worker set the cycle up still says it waits for one")
	}
	e.complete(e.taskID(review.KindEvaluate, 0, "NORTH"), "north.staff", evaluation("NORTH"))
	e.ok("cycle", "cancel", "--as", "m.manager", "--provider", e.provider, "--year", year, "--reason", "The unit list was wrong.")

	// Started again, as a new attempt.
	e.refused(2, "cycle restart needs --reason", "cycle", "restart", "--as", "m.manager", "--provider", e.provider, "--year", year)
	e.refused(1, "may not start", "cycle", "restart", "--as", "north.staff", "--provider", e.provider, "--year", year, "--reason", "me")
	second := review.CycleRef{Provider: e.provider, Year: 2026, Attempt: 2}
	if got := strings.TrimSpace(e.ok("cycle", "restart", "--as", "m.manager", "--provider", e.provider, "--year", year,
		"--reason", "Units corrected; the year's review starts again.")); got != second.ID() {
		t.Fatalf("cycle restart printed %q, want %q", got, second.ID())
	}
	out = e.ok("cycle", "status", "--provider", e.provider, "--year", year)
	if !strings.Contains(out, "cycle "+second.ID()+": running") || !strings.Contains(out, "attempt 2, starting again cycle "+first) {
		t.Errorf("cycle status of the new attempt:\n%s", out)
	}

	// The new attempt runs to a published plan, under task IDs of its own.
	task := func(kind review.TaskKind, round int, unit string) string { return second.TaskID(kind, round, unit) }
	for _, u := range units {
		e.complete(task(review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", evaluation(u))
		e.complete(task(review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}
	e.complete(task(review.KindDraft, 1, ""), "p.editor", draft(1))
	for _, u := range units {
		id := task(review.KindSignOff, 1, u)
		e.complete(id, strings.ToLower(u)+".head", map[string]any{"decision": "approve", "version_hash": hashOf(e.waitTask(id))})
	}
	e.complete(task(review.KindApprove, 1, ""), "r.approver", map[string]any{"decision": "approve", "effective_from": "2026-08-01"})
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM cycles WHERE id = $1 AND status = 'completed'`, second.ID()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the second attempt did not complete")
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.refused(1, "refused: cycle "+second.ID()+" is completed; only a failed or cancelled cycle can be started again",
		"cycle", "restart", "--as", "m.manager", "--provider", e.provider, "--year", year, "--reason", "again")

	for _, c := range []struct {
		query string
		want  int
	}{
		{`SELECT count(*) FROM cycles WHERE id = '` + first + `' AND status = 'cancelled' AND attempt = 1`, 1},
		{`SELECT count(*) FROM cycles WHERE id = '` + second.ID() + `' AND restarted_from = '` + first + `' AND attempt = 2`, 1},
		// The first attempt's records stay as they were.
		{`SELECT count(*) FROM tasks WHERE cycle_id = '` + first + `'`, 6},
		{`SELECT count(*) FROM tasks WHERE cycle_id = '` + first + `' AND status = 'done'`, 1},
		{`SELECT count(*) FROM findings WHERE cycle_id = '` + first + `'`, 2},
		{`SELECT count(*) FROM tasks WHERE cycle_id = '` + second.ID() + `' AND status = 'done'`, 11},
		{`SELECT count(*) FROM findings WHERE cycle_id = '` + second.ID() + `'`, 6},
		{`SELECT count(*) FROM signoffs`, 3},
		{`SELECT count(*) FROM plan_versions WHERE cycle_id = '` + second.ID() + `'`, 1},
		{`SELECT count(*) FROM tasks WHERE status = 'open'`, 0},
		// The trail links the two both ways.
		{`SELECT count(*) FROM audit_events WHERE action = 'cycle.restarted' AND cycle_id = '` + first + `'
		   AND payload->>'restarted_as' = '` + second.ID() + `' AND actor = 'm.manager'`, 1},
		{`SELECT count(*) FROM audit_events WHERE action = 'cycle.started' AND cycle_id = '` + second.ID() + `'
		   AND payload->>'restart_of' = '` + first + `' AND payload->>'reason' = 'Units corrected; the year''s review starts again.'`, 1},
		{`SELECT count(*) FROM audit_events WHERE action = 'cycle.started'`, 2},
	} {
		if got := e.count(c.query); got != c.want {
			t.Errorf("%s: got %d, want %d", c.query, got, c.want)
		}
	}
	if out := e.ok("audit", "verify"); !strings.Contains(out, "ok") {
		t.Errorf("audit verify: %s", out)
	}
	// The year's export covers both attempts: every event of each, and the
	// workflows of each (the cycle's own and its three units').
	file := e.dir + "/export.jsonl"
	e.ok("audit", "export", "--provider", e.provider, "--year", year, "--out", file)
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	workflows, events := map[string]int{}, map[string]int{}
	for line := range strings.Lines(string(raw)) {
		var l struct {
			Type       string `json:"type"`
			WorkflowID string `json:"workflow_id"`
			CycleID    string `json:"cycle_id"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		switch l.Type {
		case "workflow":
			workflows[strings.SplitN(l.WorkflowID, "/unit/", 2)[0]]++
		case "audit_event":
			events[l.CycleID]++
		}
	}
	// The first attempt was cancelled during the evaluation: its cycle and
	// three units; the second also has the three units' sign-offs.
	if workflows[first] != 4 || workflows[second.ID()] != 7 {
		t.Errorf("the export's workflows by attempt: %v; want 4 of the first and 7 of the second", workflows)
	}
	for _, id := range []string{first, second.ID()} {
		if want := e.count(`SELECT count(*) FROM audit_events WHERE cycle_id = $1`, id); events[id] != want || want == 0 {
			t.Errorf("the export has %d events of %s, want %d", events[id], id, want)
		}
	}
	out = e.ok("cycle", "list")
	if !strings.Contains(out, first) || !strings.Contains(out, second.ID()) {
		t.Errorf("cycle list shows both attempts:\n%s", out)
	}
}

// TestScheduledCycleOfUnreadyProviderStartedAgain fires a provider's yearly
// schedule while a unit has no student representative: the cycle's set-up
// is refused and the cycle fails, and it is recorded as failed, with the
// reason, although it never got a record of its own. Starting the year by
// hand then finds it and starts nothing; once the organisation is complete,
// a manager starts the year again, and the new attempt runs.
func TestScheduledCycleOfUnreadyProviderStartedAgain(t *testing.T) {
	e := newEnv(t)
	e.startWorker()
	c := dialTemporal(t)
	p := e.provider
	deleteScheduleAtEnd(t, c, p)
	org := e.org()
	e.ok("org", "import", e.file("org.json", org))
	e.ok("schedule", "set", "--provider", p, "--month", "8", "--day", "15", "--as", "m.manager")
	// The student representative of NORTH steps down before the day comes.
	var people []map[string]any
	for _, person := range org["people"].([]map[string]any) {
		if person["id"] == "north.rep" {
			person = map[string]any{"id": "north.rep", "name": person["name"], "roles": []map[string]string{}}
		}
		people = append(people, person)
	}
	unready := map[string]any{"provider": org["provider"], "units": org["units"], "people": people}
	e.ok("org", "import", e.file("unready.json", unready))

	yr := time.Now().In(workflows.ScheduleLocation()).Year()
	first, second := review.CycleID(p, yr), review.CycleRef{Provider: p, Year: yr, Attempt: 2}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.TerminateWorkflow(ctx, second.ID(), "", "end of test")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h := c.ScheduleClient().GetHandle(ctx, workflows.ScheduleID(p))
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatalf("triggering the schedule: %v", err)
	}
	waitActions(t, h, 1)
	deadline := time.Now().Add(time.Minute)
	for e.count(`SELECT count(*) FROM cycles WHERE id = $1 AND status = 'failed'`, first) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the unready provider's scheduled cycle was not recorded as failed within a minute:\n%s",
				e.starter("cycle", "status", "--provider", p, "--year", strconv.Itoa(yr)))
		}
		time.Sleep(200 * time.Millisecond)
	}
	out := e.ok("cycle", "status", "--provider", p, "--year", strconv.Itoa(yr))
	if !strings.Contains(out, "cycle "+first+": failed") {
		t.Errorf("cycle status of the failed scheduled cycle:\n%s", out)
	}
	if n := e.count(`SELECT count(*) FROM cycles WHERE id = $1 AND reason LIKE '%NORTH%student_rep%'`, first); n != 1 {
		t.Errorf("the failed cycle's reason does not name the missing role: %v", e.count(`SELECT count(*) FROM cycles`))
	}
	// While the organisation lacks the role, starting the year again is
	// refused for that; once it is complete, starting the year by hand
	// finds the failed cycle and starts nothing, and starting it again does.
	e.refused(1, "cannot start the cycle again: provider \""+p+"\" cannot start a cycle: unit NORTH has no student_rep",
		"cycle", "restart", "--as", "m.manager", "--provider", p, "--year", strconv.Itoa(yr), "--reason", "try")
	e.ok("org", "import", e.file("org.json", org))
	r := e.starter("cycle", "start", "--as", "m.manager", "--provider", p, "--year", strconv.Itoa(yr))
	if r.code != 0 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("cycle start of the failed year: %s", r)
	}
	if got := strings.TrimSpace(e.ok("cycle", "restart", "--as", "m.manager", "--provider", p, "--year", strconv.Itoa(yr),
		"--reason", "NORTH has a representative again.")); got != second.ID() {
		t.Fatalf("cycle restart printed %q, want %s", got, second.ID())
	}
	e.waitTask(second.TaskID(review.KindConsult, 0, "NORTH"))
	if n := e.count(`SELECT count(*) FROM audit_events WHERE cycle_id = $1 AND action IN ('cycle.started', 'cycle.failed', 'cycle.restarted')`, first); n != 3 {
		t.Errorf("the failed cycle's trail: got %d of started, failed and restarted, want 3", n)
	}
	if out := e.ok("audit", "verify"); !strings.HasPrefix(out, "ok ") {
		t.Errorf("audit verify: %s", out)
	}
}
