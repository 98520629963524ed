package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/workflows"
)

// shownSchedule is 'schedule show --json'.
type shownSchedule struct {
	Provider      string      `json:"provider"`
	ScheduleID    string      `json:"schedule_id"`
	Month         int         `json:"month"`
	Day           int         `json:"day"`
	Hour          int         `json:"hour"`
	TimeZone      string      `json:"time_zone"`
	NextRuns      []time.Time `json:"next_runs"`
	Paused        bool        `json:"paused"`
	Note          string      `json:"note"`
	RecentActions []struct {
		ScheduledAt time.Time `json:"scheduled_at"`
		StartedAt   time.Time `json:"started_at"`
		WorkflowID  string    `json:"workflow_id"`
	} `json:"recent_actions"`
}

func (e *env) showSchedule(provider string) shownSchedule {
	e.t.Helper()
	var s shownSchedule
	out := e.ok("schedule", "show", "--provider", provider, "--json")
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		e.t.Fatalf("schedule show --json: %v\n%s", err, out)
	}
	return s
}

// taskQueue is the task queue the test's worker and command line use.
func (e *env) taskQueue() string {
	for _, v := range e.vars {
		if q, ok := strings.CutPrefix(v, "OHO_TASK_QUEUE="); ok {
			return q
		}
	}
	e.t.Fatal("the test environment sets no OHO_TASK_QUEUE")
	return ""
}

// deleteScheduleAtEnd deletes the provider's schedule when the test ends, so
// that the shared dev server does not run it next year.
func deleteScheduleAtEnd(t *testing.T, c client.Client, provider string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := c.ScheduleClient().GetHandle(ctx, workflows.ScheduleID(provider)).Delete(ctx)
		var notFound *serviceerror.NotFound
		if err != nil && !errors.As(err, &notFound) {
			t.Errorf("deleting schedule %s: %v", workflows.ScheduleID(provider), err)
		}
	})
}

// checkRuns checks that runs are the next yearly runs on the date after now.
func checkRuns(t *testing.T, runs []time.Time, month time.Month, day, hour int) {
	t.Helper()
	if len(runs) != 3 {
		t.Fatalf("next runs: got %v, want 3", runs)
	}
	now := time.Now()
	for i, r := range runs {
		h := r.In(workflows.ScheduleLocation())
		if h.Month() != month || h.Day() != day || h.Hour() != hour || h.Minute() != 0 || h.Second() != 0 {
			t.Errorf("next run %d: got %s, want %d %s at %02d:00 in Helsinki", i, h, day, month, hour)
		}
		if i == 0 && (!r.After(now) || r.After(now.AddDate(1, 0, 0))) {
			t.Errorf("first next run %s is not within the year ahead", r)
		}
		if i > 0 && h.Year() != runs[i-1].In(workflows.ScheduleLocation()).Year()+1 {
			t.Errorf("next runs %v are not a year apart", runs)
		}
	}
}

// TestScheduleThroughCommandLine sets, shows, changes and deletes a
// provider's yearly schedule as a manager would, with the wrong inputs
// people give on the way.
func TestScheduleThroughCommandLine(t *testing.T) {
	e := newEnv(t)
	c := dialTemporal(t)
	p := e.provider
	other := p + "X"
	deleteScheduleAtEnd(t, c, p)
	deleteScheduleAtEnd(t, c, other)
	e.ok("org", "import", e.file("org.json", e.org()))
	// Another provider with a manager and nobody else: not ready for a cycle.
	e.ok("org", "import", e.file("other.json", map[string]any{
		"provider": map[string]string{"code": other, "name": "Other College"},
		"units":    []map[string]string{{"code": "MAIN", "name": "Main campus"}},
		"people": []map[string]any{{"id": "o.manager", "name": "Olli Manager",
			"roles": []map[string]string{{"role": "manager", "unit": ""}}}},
	}))

	// Usage errors.
	e.refused(2, "schedule needs a subcommand", "schedule")
	e.refused(2, `unknown subcommand "frob" of schedule`, "schedule", "frob")
	e.refused(2, "schedule set needs --provider", "schedule", "set", "--month", "8", "--day", "15", "--as", "m.manager")
	e.refused(2, "schedule set needs --month", "schedule", "set", "--provider", p, "--day", "15", "--as", "m.manager")
	e.refused(2, "schedule set needs --day", "schedule", "set", "--month", "8", "--provider", p, "--as", "m.manager")
	e.refused(2, "schedule set needs --as", "schedule", "set", "--provider", p, "--month", "8", "--day", "15")
	e.refused(2, `schedule set: --month "August" is not a whole number`, "schedule", "set", "--provider", p, "--month", "August", "--day", "15", "--as", "m.manager")
	e.refused(2, "unknown flag --year", "schedule", "set", "--provider", p, "--month", "8", "--day", "15", "--year", "2027", "--as", "m.manager")
	e.refused(2, "schedule show needs --provider", "schedule", "show", "--json")
	e.refused(2, "schedule delete needs --as", "schedule", "delete", "--provider", p)

	// Refusals.
	set := func(args ...string) []string {
		return append([]string{"schedule", "set", "--provider", p, "--as", "m.manager"}, args...)
	}
	e.refused(1, "month 13 is not a month (1-12)", set("--month", "13", "--day", "1")...)
	e.refused(1, "month 0 is not a month (1-12)", set("--month", "0", "--day", "1")...)
	e.refused(1, "day 31 is not a day of April (1-30)", set("--month", "4", "--day", "31")...)
	e.refused(1, "day 30 is not a day of February (1-28)", set("--month", "2", "--day", "30")...)
	e.refused(1, "29 February comes only in leap years, so the schedule would skip three years in four", set("--month", "2", "--day", "29")...)
	e.refused(1, "hour 24 is not an hour (0-23)", set("--month", "8", "--day", "15", "--hour", "24")...)
	e.refused(1, "03:00 does not exist in Europe/Helsinki", set("--month", "3", "--day", "29", "--hour", "3")...)
	e.refused(1, "max_rounds must be at most 10", set("--month", "8", "--day", "15", "--config", e.file("bad.json", `{"max_rounds": 99}`))...)
	e.refused(1, `provider "no such" is not a provider code`, "schedule", "set", "--provider", "no such", "--month", "8", "--day", "15", "--as", "m.manager")
	e.refused(1, `refused: "m.manager" may not set the yearly schedule of NOSUCH: only the provider's managers may`,
		"schedule", "set", "--provider", "NOSUCH", "--month", "8", "--day", "15", "--as", "m.manager")
	e.refused(1, `there is no person "nobody"`, "schedule", "set", "--provider", p, "--month", "8", "--day", "15", "--as", "nobody")
	e.refused(1, `refused: "north.head" may not set the yearly schedule of `+p+`: only the provider's managers may`,
		"schedule", "set", "--provider", p, "--month", "8", "--day", "15", "--as", "north.head")
	e.refused(1, `refused: "o.manager" may not set the yearly schedule of `+p+`: only the provider's managers may`,
		"schedule", "set", "--provider", p, "--month", "8", "--day", "15", "--as", "o.manager")
	e.refused(1, "provider "+p+" has no yearly schedule", "schedule", "show", "--provider", p)

	// Set, and show in both forms.
	out := e.ok("schedule", "set", "--as", "m.manager", "--day", "15", "--month", "8", "--provider", p)
	if want := "yearly schedule " + workflows.ScheduleID(p) + " created: every year on 15 August at 06:00 Europe/Helsinki; next run 15 Aug "; !strings.Contains(out, want) {
		t.Errorf("schedule set: got %q, want it to contain %q", out, want)
	}
	s := e.showSchedule(p)
	if s.Provider != p || s.ScheduleID != "review-cycle-schedule/"+p || s.Month != 8 || s.Day != 15 || s.Hour != 6 ||
		s.TimeZone != "Europe/Helsinki" || s.Paused || s.Note != "set by m.manager" || len(s.RecentActions) != 0 {
		t.Errorf("schedule show --json: got %+v, want 15 August 06:00 Europe/Helsinki, not paused, set by m.manager, no actions", s)
	}
	checkRuns(t, s.NextRuns, time.August, 15, 6)
	text := e.ok("schedule", "show", "--provider", p)
	for _, want := range []string{
		"yearly schedule review-cycle-schedule/" + p + ": every year on 15 August at 06:00 Europe/Helsinki",
		"next runs: 15 Aug " + strconv.Itoa(s.NextRuns[0].In(workflows.ScheduleLocation()).Year()) + " 06:00 EEST, 15 Aug ",
		"recent actions: none",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("schedule show: got %q, want it to contain %q", text, want)
		}
	}
	// A provider in Stockholm: the schedule still runs at 06:00 in
	// Helsinki, which is 05:00 there, and its runs are shown so.
	stockholm := e.org()
	stockholm["provider"] = map[string]string{"code": p, "name": "Test College", "time_zone": "Europe/Stockholm"}
	e.ok("org", "import", e.file("stockholm.json", stockholm))
	next := "next runs: 15 Aug " + strconv.Itoa(s.NextRuns[0].In(workflows.ScheduleLocation()).Year()) + " 05:00 CEST, 15 Aug "
	if text := e.ok("schedule", "show", "--provider", p); !strings.Contains(text, next) || !strings.Contains(text, "every year on 15 August at 06:00 Europe/Helsinki") {
		t.Errorf("schedule show of a provider in Stockholm: got %q, want it to contain %q", text, next)
	}
	e.ok("org", "import", e.file("org.json", e.org()))

	// Set again: the same schedule, changed.
	out = e.ok("schedule", "set", "--provider", p, "--month", "1", "--day", "2", "--hour", "7", "--as", "m.manager",
		"--config", e.file("cycle.json", `{"max_rounds": 2}`))
	if want := "yearly schedule " + workflows.ScheduleID(p) + " updated: every year on 2 January at 07:00 Europe/Helsinki; next run 2 Jan "; !strings.Contains(out, want) {
		t.Errorf("schedule set again: got %q, want it to contain %q", out, want)
	}
	s = e.showSchedule(p)
	if s.Month != 1 || s.Day != 2 || s.Hour != 7 || s.ScheduleID != workflows.ScheduleID(p) {
		t.Errorf("schedule show --json after the update: got %+v, want 2 January 07:00", s)
	}
	checkRuns(t, s.NextRuns, time.January, 2, 7)

	// What the schedule will do: start YearlyStart on the worker's queue
	// with the provider and the config.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	desc, err := c.ScheduleClient().GetHandle(ctx, workflows.ScheduleID(p)).Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok {
		t.Fatalf("schedule action: got %T, want a workflow action", desc.Schedule.Action)
	}
	var in workflows.YearlyStartInput
	if len(action.Args) == 1 {
		if payload, ok := action.Args[0].(*commonpb.Payload); ok {
			if err := converter.GetDefaultDataConverter().FromPayload(payload, &in); err != nil {
				t.Fatal(err)
			}
		}
	}
	if action.Workflow != "YearlyStart" || action.ID != "yearly-start/"+p || action.TaskQueue != e.taskQueue() ||
		in.Provider != p || in.Config.MaxRounds != 2 {
		t.Errorf("schedule action: got workflow %v, ID %s, queue %s, input %+v; want YearlyStart, yearly-start/%s, %s, max_rounds 2",
			action.Workflow, action.ID, action.TaskQueue, in, p, e.taskQueue())
	}
	if desc.Schedule.Policy == nil || desc.Schedule.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Errorf("schedule policy: got %+v, want overlap skip", desc.Schedule.Policy)
	}

	// A provider that is not ready yet gets its schedule, with a warning.
	r := e.starter("schedule", "set", "--provider", other, "--month", "8", "--day", "1", "--as", "o.manager")
	if r.code != 0 || !strings.Contains(r.stderr, "warning: provider \""+other+"\" cannot start a cycle: unit MAIN has no welfare_staff") ||
		!strings.Contains(r.stdout, "created") {
		t.Errorf("schedule set for a provider missing role holders: want exit 0, a warning naming them and the schedule created, got %s", r)
	}

	// Delete: managers only, once.
	e.refused(1, `refused: "north.head" may not delete the yearly schedule of `+p+`: only the provider's managers may`,
		"schedule", "delete", "--provider", p, "--as", "north.head")
	if out := e.ok("schedule", "delete", "--provider", p, "--as", "m.manager"); !strings.Contains(out, "yearly schedule "+workflows.ScheduleID(p)+" deleted") {
		t.Errorf("schedule delete: got %q", out)
	}
	e.refused(1, "provider "+p+" has no yearly schedule", "schedule", "delete", "--provider", p, "--as", "m.manager")
	e.refused(1, "provider "+p+" has no yearly schedule", "schedule", "show", "--provider", p)

	// The audit trail says who set, changed and deleted the schedule; the
	// refused attempts left nothing.
	var events []struct {
		Actor   string         `json:"actor"`
		Action  string         `json:"action"`
		Subject string         `json:"subject"`
		Payload map[string]any `json:"payload"`
	}
	if err := json.Unmarshal([]byte(e.ok("audit", "log", "--provider", p, "--json")), &events); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range events {
		if strings.HasPrefix(ev.Action, "schedule.") {
			got = append(got, fmt.Sprintf("%s %s %s %v", ev.Actor, ev.Action, ev.Subject, ev.Payload["change"]))
		}
	}
	id := workflows.ScheduleID(p)
	want := []string{"m.manager schedule.set " + id + " created", "m.manager schedule.set " + id + " updated", "m.manager schedule.deleted " + id + " <nil>"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("schedule events in the audit log: got %q, want %q", got, want)
	}
}

// waitActions waits until the schedule has taken n actions and returns them.
func waitActions(t *testing.T, h client.ScheduleHandle, n int) []client.ScheduleActionResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		desc, err := h.Describe(ctx)
		if err != nil {
			t.Fatalf("describing the schedule: %v", err)
		}
		if got := desc.Info.RecentActions; len(got) >= n {
			if len(got) > n {
				t.Fatalf("schedule actions: got %d, want %d", len(got), n)
			}
			return got
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the schedule took %d actions within a minute, want %d", len(desc.Info.RecentActions), n)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// yearlyResult waits for the YearlyStart an action started and returns its
// result.
func yearlyResult(t *testing.T, c client.Client, a client.ScheduleActionResult) workflows.YearlyStartResult {
	t.Helper()
	if a.StartWorkflowResult == nil {
		t.Fatalf("schedule action %+v started no workflow", a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res workflows.YearlyStartResult
	run := c.GetWorkflow(ctx, a.StartWorkflowResult.WorkflowID, a.StartWorkflowResult.FirstExecutionRunID)
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("YearlyStart %s: %v", a.StartWorkflowResult.WorkflowID, err)
	}
	return res
}

// TestScheduleStartsTheYearsCycleOnce triggers a provider's schedule, as
// its day would, with a worker running: the cycle of the current year in
// Helsinki starts under its deterministic ID. Triggering it again starts
// nothing.
func TestScheduleStartsTheYearsCycleOnce(t *testing.T) {
	e := newEnv(t)
	e.startWorker()
	c := dialTemporal(t)
	p := e.provider
	deleteScheduleAtEnd(t, c, p)
	e.ok("org", "import", e.file("org.json", e.org()))
	e.ok("schedule", "set", "--provider", p, "--month", "8", "--day", "15", "--as", "m.manager",
		"--config", e.file("cycle.json", `{"max_rounds": 2}`))

	year := time.Now().In(workflows.ScheduleLocation()).Year()
	cycleID := review.CycleID(p, year)
	t.Cleanup(func() {
		// The cycle would wait months for its tasks; end it with the test.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.TerminateWorkflow(ctx, cycleID, "", "end of test")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h := c.ScheduleClient().GetHandle(ctx, workflows.ScheduleID(p))

	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatalf("triggering the schedule: %v", err)
	}
	first := waitActions(t, h, 1)[0]
	res := yearlyResult(t, c, first)
	if !res.Started || res.WorkflowID != cycleID || res.Year != year || res.RunID == "" {
		t.Errorf("first YearlyStart: got %+v, want cycle %s started", res, cycleID)
	}
	// The schedule passes the time it meant to the second; a YearlyStart
	// that read its own clock instead would be later than that.
	if meant := first.ScheduleTime; !res.At.Equal(meant) && !res.At.Equal(meant.Truncate(time.Second)) {
		t.Errorf("first YearlyStart read the year from %s, want the time the schedule meant, %s", res.At, meant)
	}
	if id := first.StartWorkflowResult.WorkflowID; !strings.HasPrefix(id, "yearly-start/"+p+"-") {
		t.Errorf("the schedule started workflow %s, want yearly-start/%s-<time>", id, p)
	}

	// The cycle runs, set up from the database, with the schedule's config.
	var status review.Progress
	deadline := time.Now().Add(time.Minute)
	for {
		r := e.starter("cycle", "status", "--provider", p, "--year", strconv.Itoa(year), "--json")
		if r.code == 0 {
			if err := json.Unmarshal([]byte(r.stdout), &status); err != nil {
				t.Fatalf("cycle status --json: %v\n%s", err, r.stdout)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cycle was not set up within a minute: %s", r)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if status.WorkflowID != cycleID || status.Status != review.CycleRunning || status.Phase != review.PhaseEvaluate {
		t.Errorf("cycle status: got %s %s %s, want %s running in evaluate", status.WorkflowID, status.Status, status.Phase, cycleID)
	}
	if n := e.count(`SELECT count(*) FROM cycles WHERE provider_code = $1 AND year = $2 AND (config->>'max_rounds')::int = 2`, p, year); n != 1 {
		t.Errorf("cycles recorded with the schedule's config: got %d, want 1", n)
	}

	// Again: a schedule's workflow IDs carry the time to the second, so let
	// a second pass to trigger a new one rather than collide with the first.
	time.Sleep(time.Until(first.ActualTime.Add(1100 * time.Millisecond)))
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatalf("triggering the schedule again: %v", err)
	}
	second := waitActions(t, h, 2)[1]
	again := yearlyResult(t, c, second)
	if again.Started || again.WorkflowID != cycleID || again.RunID != "" {
		t.Errorf("second YearlyStart: got %+v, want cycle %s reported as existing, nothing started", again, cycleID)
	}
	d, err := c.DescribeWorkflow(ctx, cycleID, "")
	if err != nil {
		t.Fatal(err)
	}
	if info := d.RawResponse.GetWorkflowExecutionInfo(); info.GetExecution().GetRunId() != res.RunID || info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("cycle %s after the second trigger: run %s %s, want the first run %s still running",
			cycleID, info.GetExecution().GetRunId(), info.GetStatus(), res.RunID)
	}
	if n := e.count(`SELECT count(*) FROM cycles`); n != 1 {
		t.Errorf("cycles recorded: got %d, want 1", n)
	}
	s := e.showSchedule(p)
	if len(s.RecentActions) != 2 || s.RecentActions[1].WorkflowID != second.StartWorkflowResult.WorkflowID {
		t.Errorf("schedule show --json recent actions: got %+v, want both triggers", s.RecentActions)
	}
}
