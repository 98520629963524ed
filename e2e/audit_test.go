package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/oho-dev/oho/review"
)

// TestAuditThroughCommandLine runs part of a cycle, then reads its audit
// trail the ways an auditor would: verified, logged, exported with the
// workflow histories, and verified again after an edit made around the
// database's refusals, which names the edited event.
func TestAuditThroughCommandLine(t *testing.T) {
	e := newEnv(t)
	e.startWorker()
	e.ok("org", "import", e.file("org.json", e.org()))
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year)
	evalN := e.waitTask(e.taskID(review.KindEvaluate, 0, "NORTH"))
	e.complete(evalN.ID, "north.staff", evaluation("NORTH"))

	// Verify: every event of the database, chained.
	if out, n := strings.TrimSpace(e.ok("audit", "verify")), e.count(`SELECT count(*) FROM audit_events`); out != fmt.Sprintf("ok %d events", n) {
		t.Errorf("audit verify: got %q, want ok %d events", out, n)
	}
	// --json names the head to record outside the database: the last event.
	var v struct {
		Events int64 `json:"events"`
		Head   struct {
			Seq  int64  `json:"seq"`
			Hash string `json:"hash"`
		} `json:"head"`
	}
	if err := json.Unmarshal([]byte(e.ok("audit", "verify", "--json")), &v); err != nil {
		t.Fatal(err)
	}
	var lastHash string
	if err := e.db.Get(&lastHash, `SELECT hash FROM audit_events WHERE seq = $1`, v.Events); err != nil {
		t.Fatal(err)
	}
	if v.Head.Seq != v.Events || v.Head.Hash != lastHash || len(lastHash) != 64 {
		t.Errorf("audit verify --json: head %+v after %d events, want the last event's seq and hash %s", v.Head, v.Events, lastHash)
	}

	// Log: the completion names the staff member and the unit's workflow run.
	var events []struct {
		Seq        int64  `json:"seq"`
		Actor      string `json:"actor"`
		Action     string `json:"action"`
		Subject    string `json:"subject"`
		WorkflowID string `json:"workflow_id"`
		RunID      string `json:"run_id"`
		Hash       string `json:"hash"`
	}
	if err := json.Unmarshal([]byte(e.ok("audit", "log", "--provider", e.provider, "--year", year, "--actor", "north.staff", "--json")), &events); err != nil {
		t.Fatal(err)
	}
	// Each finding has its event, then the completion carries the outcome.
	var got []string
	for _, ev := range events {
		got = append(got, ev.Action+" "+ev.Subject)
		if ev.WorkflowID != evalN.WorkflowID || ev.RunID == "" || len(ev.Hash) != 64 {
			t.Errorf("audit log --actor north.staff: event %+v does not name the run of %s", ev, evalN.WorkflowID)
		}
	}
	if want := []string{"finding.recorded NORTH/F1", "finding.recorded NORTH/F2", "task.completed " + evalN.ID}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audit log --actor north.staff: got %v, want %v", got, want)
	}
	completion := events[len(events)-1]
	csvOut := e.ok("audit", "log", "--provider", e.provider, "--csv")
	if lines := strings.Split(strings.TrimSpace(csvOut), "\n"); !strings.HasPrefix(lines[0], "seq,id,at,actor,action") || len(lines) != e.count(`SELECT count(*) FROM audit_events`)+1 {
		t.Errorf("audit log --csv: got %d lines starting %q, want a header and every event", len(lines), lines[0])
	}
	e.refused(2, "choose --json or --csv", "audit", "log", "--json", "--csv")
	e.refused(1, `--since "last week" is not a date`, "audit", "log", "--since", "last week")
	e.refused(1, `actor "North Staff" is not a person ID`, "audit", "log", "--actor", "North Staff")
	if out := e.ok("audit", "log", "--provider", e.provider, "--since", "2999-01-01"); strings.TrimSpace(out) != "no events" {
		t.Errorf("audit log --since 2999-01-01: got %q", out)
	}

	// Where the histories are.
	var wfs []struct {
		WorkflowID    string `json:"workflow_id"`
		RunID         string `json:"run_id"`
		HistoryLength int    `json:"history_length"`
		WebUI         string `json:"web_ui"`
	}
	if err := json.Unmarshal([]byte(e.ok("cycle", "history", "--provider", e.provider, "--year", year, "--json")), &wfs); err != nil {
		t.Fatal(err)
	}
	cycleID := review.CycleID(e.provider, 2026)
	if len(wfs) != 1+len(units) || wfs[0].WorkflowID != cycleID {
		t.Fatalf("cycle history: got %+v, want the cycle and its %d units", wfs, len(units))
	}
	for _, w := range wfs {
		if !strings.Contains(w.WebUI, "/workflows/"+url.PathEscape(w.WorkflowID)+"/"+w.RunID+"/history") {
			t.Errorf("cycle history: %s has address %s", w.WorkflowID, w.WebUI)
		}
	}
	e.refused(1, "has no cycle for 2031", "cycle", "history", "--provider", e.provider, "--year", "2031")
	e.refused(2, "cycle history needs --provider", "cycle", "history", "--year", year)

	// Export: the audit events and the histories, side by side.
	file := e.dir + "/export.jsonl"
	e.ok("audit", "export", "--provider", e.provider, "--year", year, "--out", file)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type line struct {
		Type       string          `json:"type"`
		Seq        int64           `json:"seq"`
		WorkflowID string          `json:"workflow_id"`
		RunID      string          `json:"run_id"`
		Event      json.RawMessage `json:"event"`
		Audit      int             `json:"audit_events"`
		Workflows  int             `json:"workflows"`
		History    int             `json:"history_events"`
	}
	var lines []line
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("export line %d is not JSON: %v", len(lines)+1, err)
		}
		lines = append(lines, l)
	}
	if len(lines) < 3 || lines[0].Type != "export" || lines[len(lines)-1].Type != "end" {
		t.Fatalf("export: want a header first and an end line last, got %d lines", len(lines))
	}
	seen, updates := map[int64]int{}, map[string]int{}
	nextID := map[string]int{}
	workflowsSeen, historyEvents := 0, 0
	for _, l := range lines[1 : len(lines)-1] {
		switch l.Type {
		case "audit_event":
			seen[l.Seq]++
		case "workflow":
			workflowsSeen++
		case "history_event":
			historyEvents++
			var ev struct {
				EventID   string `json:"eventId"`
				EventType string `json:"eventType"`
			}
			if err := json.Unmarshal(l.Event, &ev); err != nil {
				t.Fatal(err)
			}
			nextID[l.WorkflowID]++
			if ev.EventID != fmt.Sprint(nextID[l.WorkflowID]) {
				t.Fatalf("history of %s: event %s where %d was due", l.WorkflowID, ev.EventID, nextID[l.WorkflowID])
			}
			if ev.EventType == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED" {
				updates[l.WorkflowID]++
			}
		default:
			t.Errorf("export: unknown line type %q", l.Type)
		}
	}
	var cycleEvents []int64
	if err := e.db.Select(&cycleEvents, `SELECT seq FROM audit_events WHERE cycle_id = $1`, cycleID); err != nil {
		t.Fatal(err)
	}
	for _, s := range cycleEvents {
		if seen[s] != 1 {
			t.Errorf("export: audit event seq %d appears %d times, want once", s, seen[s])
		}
	}
	if len(seen) != len(cycleEvents) {
		t.Errorf("export: %d audit events, the cycle has %d", len(seen), len(cycleEvents))
	}
	end := lines[len(lines)-1]
	if end.Audit != len(cycleEvents) || end.Workflows != workflowsSeen || workflowsSeen != 1+len(units) || end.History != historyEvents {
		t.Errorf("export end line %+v; counted %d audit events, %d workflows, %d history events", end, len(cycleEvents), workflowsSeen, historyEvents)
	}
	// The completion in the audit trail is an Update in the history of the
	// workflow it names.
	if updates[completion.WorkflowID] != 1 {
		t.Errorf("the history of %s has %d completed Updates, want the 1 the audit trail records", completion.WorkflowID, updates[completion.WorkflowID])
	}
	e.refused(1, "has no cycle for 2031", "audit", "export", "--provider", e.provider, "--year", "2031")

	// A normal rewrite is refused by the database; one made around the
	// refusal is found.
	if _, err := e.db.Exec(`UPDATE audit_events SET actor = 'north.head' WHERE seq = $1`, completion.Seq); err == nil {
		t.Fatal("the database let an audit event be rewritten")
	}
	for _, q := range []string{
		`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete`,
		fmt.Sprintf(`UPDATE audit_events SET actor = 'north.head' WHERE seq = %d`, completion.Seq),
		`ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete`,
	} {
		if _, err := e.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	e.refused(1, fmt.Sprintf("the audit trail is broken at event seq %d", completion.Seq), "audit", "verify")
	e.refused(1, "the event was altered", "audit", "verify")
}
