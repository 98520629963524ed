package e2e

import (
	"encoding/json"
	"os/user"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
)

// TestSteeringThroughCommandLine claims, delegates, reassigns and extends
// tasks and cancels the cycle, as staff and managers would, with the
// refusals the authorization matrix gives on the way.
func TestSteeringThroughCommandLine(t *testing.T) {
	e := newEnv(t)
	e.startWorker()
	org := e.org()
	org["people"] = append(org["people"].([]map[string]any),
		map[string]any{"id": "north.staff2", "name": "Second counsellor of NORTH", "roles": []map[string]string{{"role": "welfare_staff", "unit": "NORTH"}}})
	e.ok("org", "import", e.file("org.json", org))
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year)
	evalN := e.waitTask(e.taskID(review.KindEvaluate, 0, "NORTH")).ID
	consN := e.waitTask(e.taskID(review.KindConsult, 0, "NORTH")).ID

	// The inbox: the pool's tasks are claimable; claimed, they are the claimer's alone.
	if out := e.ok("task", "list", "--mine", "--as", "north.staff2"); !strings.Contains(out, evalN) || !strings.Contains(out, "claimable as welfare_staff") || strings.Contains(out, consN) {
		t.Errorf("inbox of north.staff2 before claiming: got\n%s\nwant %s claimable and not %s", out, evalN, consN)
	}
	e.refused(2, "--mine and --as PERSON go together", "task", "list", "--mine")
	e.refused(2, "--mine takes no --provider", "task", "list", "--mine", "--as", "north.staff2", "--provider", e.provider)
	e.refused(1, `there is no person "nobody"`, "task", "list", "--mine", "--as", "nobody")

	// Claim and unclaim.
	e.refused(1, `"north.rep" may not claim task `+evalN+`: it is offered to the welfare_staff of unit NORTH, a role they do not hold`, "task", "claim", evalN, "--as", "north.rep")
	if out := e.ok("task", "claim", evalN, "--as", "north.staff2"); !strings.Contains(out, "claimed by north.staff2") {
		t.Errorf("claim: got %q", out)
	}
	e.refused(1, "it is already assigned to north.staff2", "task", "claim", evalN, "--as", "north.staff")
	var inbox []struct {
		ID        string `json:"id"`
		Claimable bool   `json:"claimable"`
	}
	if err := json.Unmarshal([]byte(e.ok("task", "list", "--mine", "--as", "north.staff2", "--json")), &inbox); err != nil {
		t.Fatal(err)
	}
	if len(inbox) != 1 || inbox[0].ID != evalN || inbox[0].Claimable {
		t.Errorf("inbox of north.staff2 after claiming: got %+v, want %s assigned", inbox, evalN)
	}
	if out := e.ok("task", "list", "--mine", "--as", "north.staff"); strings.Contains(out, evalN) {
		t.Errorf("inbox of north.staff after north.staff2 claimed: got\n%s\nwant no %s", out, evalN)
	}
	e.refused(1, "it is assigned to north.staff2", "task", "complete", evalN, "--as", "north.staff", "--outcome", e.file("e.json", evaluation("NORTH")))
	e.refused(1, "only they or a manager may give it back", "task", "unclaim", evalN, "--as", "north.staff")
	e.ok("task", "unclaim", evalN, "--as", "north.staff2")
	e.refused(2, "task unclaim takes no --reason", "task", "unclaim", evalN, "--as", "north.staff2", "--reason", "x")

	// Delegate to a colleague in the same role only.
	e.refused(1, `"north.rep" cannot take task `+evalN, "task", "delegate", evalN, "--to", "north.rep", "--as", "north.staff")
	e.refused(1, `there is no person "nobody"`, "task", "delegate", evalN, "--to", "nobody", "--as", "north.staff")
	e.ok("task", "delegate", evalN, "--to", "north.staff2", "--as", "north.staff", "--reason", "Away next week")
	var shown struct {
		Pool     string    `json:"pool"`
		Assignee string    `json:"assignee"`
		DueAt    time.Time `json:"due_at"`
	}
	if err := json.Unmarshal([]byte(e.ok("task", "show", evalN, "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Assignee != "north.staff2" || shown.Pool != "welfare_staff@NORTH" {
		t.Errorf("after delegation the task shows assignee %q for %q, want north.staff2 for welfare_staff@NORTH", shown.Assignee, shown.Pool)
	}

	// Extend: managers only, with a reason, later only.
	e.refused(1, "only the provider's managers may", "task", "extend", evalN, "--by", "48h", "--as", "north.staff2", "--reason", "x")
	e.refused(2, "task extend needs --reason", "task", "extend", evalN, "--by", "48h", "--as", "m.manager")
	e.refused(2, "needs either --due DATE or --by DURATION", "task", "extend", evalN, "--as", "m.manager", "--reason", "x")
	e.refused(1, "is not later than the current one", "task", "extend", evalN, "--due", "2020-01-01", "--as", "m.manager", "--reason", "x")
	if out := e.ok("task", "extend", evalN, "--by", "48h", "--as", "m.manager", "--reason", "Survey results arrive late"); !strings.Contains(out, "now due "+shown.DueAt.Add(48*time.Hour).UTC().Format("2006-01-02 15:04")) {
		t.Errorf("extend: got %q, want the due time two days later than %s", out, shown.DueAt)
	}

	// Reassign: managers only, with a reason, to anyone of the provider.
	e.refused(1, "only the provider's managers may", "task", "reassign", consN, "--to", "harbour.rep", "--as", "north.rep", "--reason", "x")
	e.refused(2, "task reassign needs --reason", "task", "reassign", consN, "--to", "harbour.rep", "--as", "m.manager")
	e.ok("task", "reassign", consN, "--to", "harbour.rep", "--as", "m.manager", "--reason", "North's student council is being re-elected")
	e.refused(1, "it is assigned to harbour.rep", "task", "complete", consN, "--as", "north.rep", "--outcome", e.file("c.json", consultation()))
	e.complete(consN, "harbour.rep", consultation())
	e.complete(evalN, "north.staff2", evaluation("NORTH"))

	for _, c := range []struct {
		action string
		want   int
	}{
		{"task.claimed", 1}, {"task.unclaimed", 1}, {"task.delegated", 1}, {"task.extended", 1}, {"task.reassigned", 1},
	} {
		if got := e.count(`SELECT count(*) FROM audit_events WHERE action = $1`, c.action); got != c.want {
			t.Errorf("audit events %s: got %d, want %d", c.action, got, c.want)
		}
	}

	// Cancel: managers only, with a reason; open tasks close, records stay.
	e.refused(1, `"north.head" may not cancel the cycle: only the provider's managers may`, "cycle", "cancel", "--provider", e.provider, "--year", year, "--as", "north.head", "--reason", "x")
	e.refused(2, "cycle cancel needs --reason", "cycle", "cancel", "--provider", e.provider, "--year", year, "--as", "m.manager")
	e.ok("cycle", "cancel", "--provider", e.provider, "--year", year, "--as", "m.manager", "--reason", "The provider merges with another")
	var status review.Progress
	if err := json.Unmarshal([]byte(e.ok("cycle", "status", "--provider", e.provider, "--year", year, "--json")), &status); err != nil {
		t.Fatal(err)
	}
	if status.Status != review.CycleCancelled {
		t.Errorf("cycle status after cancel: got %s, want cancelled", status.Status)
	}
	counts := map[string]int{}
	for _, ts := range status.Tasks {
		counts[ts.Status]++
	}
	if counts[review.TaskOpen] != 0 || counts[review.TaskCancelled] != 4 || counts[review.TaskDone] != 2 {
		t.Errorf("tasks after cancel: got %v, want 2 done and the other 4 cancelled", counts)
	}
	if n := e.count(`SELECT count(*) FROM findings`); n != 2 {
		t.Errorf("findings after cancel: got %d, want NORTH's 2 kept", n)
	}
	if n := e.count(`SELECT count(*) FROM audit_events WHERE action = 'cycle.cancelled' AND actor = 'm.manager' AND payload->>'reason' = 'The provider merges with another'`); n != 1 {
		t.Errorf("cycle.cancelled audit events with actor and reason: got %d, want 1", n)
	}
	e.refused(1, "is cancelled and cannot be cancelled", "cycle", "cancel", "--provider", e.provider, "--year", year, "--as", "m.manager", "--reason", "again")
	e.refused(1, "is cancelled", "task", "claim", e.taskID(review.KindEvaluate, 0, "HARBOUR"), "--as", "harbour.staff")

	// Every change made here says it came through the command line and
	// which operating-system user ran it; what the workflows did by
	// themselves says neither.
	user := osUser(t)
	var byPeople, byCLI, byWorkflows, viaSomething int
	if err := e.db.QueryRow(`
SELECT count(*) FILTER (WHERE actor NOT IN ('system', 'operator')),
       count(*) FILTER (WHERE actor NOT IN ('system', 'operator') AND channel = 'cli' AND channel_ref = $1),
       count(*) FILTER (WHERE actor = 'system'),
       count(*) FILTER (WHERE actor = 'system' AND (channel <> '' OR channel_ref <> ''))
FROM audit_events`, user).Scan(&byPeople, &byCLI, &byWorkflows, &viaSomething); err != nil {
		t.Fatal(err)
	}
	if byPeople == 0 || byCLI != byPeople || byWorkflows == 0 || viaSomething != 0 {
		t.Errorf("audit events: %d by people, %d of them via cli as %q; %d by the workflows, %d of them with a channel; want every person's via cli and no workflow's",
			byPeople, byCLI, user, byWorkflows, viaSomething)
	}
	if out := e.ok("audit", "log", "--provider", e.provider, "--actor", "m.manager"); !strings.Contains(out, "cli user "+user) {
		t.Errorf("audit log does not show the channel of m.manager's changes:\n%s", out)
	}
}

// osUser is the operating-system user the command line runs as, which it
// records as the channel reference of every change.
func osUser(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}
