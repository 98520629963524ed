package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/workflows"
)

// exportLine is any line of an audit export; which fields are set depends on
// its type.
type exportLine struct {
	Type string `json:"type"`
	// header
	Provider      string    `json:"provider"`
	Year          int       `json:"year"`
	CycleID       string    `json:"cycle_id"`
	ExportedAt    time.Time `json:"exported_at"`
	FormatVersion int       `json:"format_version"`
	Payloads      *struct {
		Written   string   `json:"written"`
		For       string   `json:"for"`
		Encrypted int      `json:"encrypted"`
		Plain     int      `json:"plain"`
		KeyIDs    []string `json:"key_ids"`
	} `json:"payloads"`
	// audit_event
	Seq     int64  `json:"seq"`
	Actor   string `json:"actor"`
	Action  string `json:"action"`
	Subject string `json:"subject"`
	Hash    string `json:"hash"`
	// workflow and history_event
	WorkflowID    string          `json:"workflow_id"`
	RunID         string          `json:"run_id"`
	WorkflowType  string          `json:"workflow_type"`
	Status        string          `json:"status"`
	CloseTime     time.Time       `json:"close_time"`
	HistoryLength int             `json:"history_length"`
	WebUI         string          `json:"web_ui"`
	Event         json.RawMessage `json:"event"`
	// end
	AuditEvents   int `json:"audit_events"`
	Workflows     int `json:"workflows"`
	HistoryEvents int `json:"history_events"`
	ChainHead     *struct {
		Seq  int64  `json:"seq"`
		Hash string `json:"hash"`
	} `json:"chain_head"`
}

// historyEvent is the part of a protojson history event the test reads.
type historyEvent struct {
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	Accepted  *struct {
		ProtocolInstanceID string `json:"protocolInstanceId"`
		AcceptedRequest    struct {
			Meta  struct{ UpdateID string } `json:"meta"`
			Input struct {
				Name string `json:"name"`
				Args struct {
					Payloads []struct {
						Data []byte `json:"data"`
					} `json:"payloads"`
				} `json:"args"`
			} `json:"input"`
		} `json:"acceptedRequest"`
	} `json:"workflowExecutionUpdateAcceptedEventAttributes"`
	Completed *struct {
		Meta    struct{ UpdateID string } `json:"meta"`
		Outcome struct {
			Success *json.RawMessage `json:"success"`
			Failure *json.RawMessage `json:"failure"`
		} `json:"outcome"`
	} `json:"workflowExecutionUpdateCompletedEventAttributes"`
	ActivityScheduled *struct {
		ActivityType struct{ Name string } `json:"activityType"`
	} `json:"activityTaskScheduledEventAttributes"`
	Marker *struct {
		MarkerName string `json:"markerName"`
	} `json:"markerRecordedEventAttributes"`
}

func parseExport(t *testing.T, b []byte) []exportLine {
	t.Helper()
	var lines []exportLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var l exportLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("export line %d is not JSON: %v\n%s", len(lines)+1, err, sc.Bytes())
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestAuditExportOfFinishedCycle runs a one-round cycle to completion through
// the command line, exports it, and reads the export as an auditor would:
// complete (header and trailer agree with the body), every audit event of the
// cycle once, each workflow's whole history in order, and every completion in
// the audit trail matched to the Update that made it in the history of the
// workflow the task belongs to. It also checks cycle history and the
// refusals, including a Temporal server that cannot be reached.
func TestAuditExportOfFinishedCycle(t *testing.T) {
	e := newEnv(t)
	e.startWorker()
	e.ok("org", "import", e.file("org.json", e.org()))
	export := func(args ...string) []string {
		return append([]string{"audit", "export", "--provider", e.provider, "--year", year}, args...)
	}
	e.refused(1, "has no cycle for 2026", export()...)
	e.refused(1, "provider NOSUCH has no cycle for 2026", "audit", "export", "--provider", "NOSUCH", "--year", year)
	e.refused(2, "audit export needs --provider", "audit", "export", "--year", year)
	e.refused(2, "audit export needs --year", "audit", "export", "--provider", e.provider)
	e.refused(1, "year 26 is not a year", "audit", "export", "--provider", e.provider, "--year", "26")
	e.refused(2, "cycle history needs --year", "cycle", "history", "--provider", e.provider)

	// One round, everyone approves.
	cfg := e.file("config.json", `{"phases": {"evaluate": "2h", "consult": "2h", "update": "1h", "signoff": "1h", "approve": "1h"}}`)
	cycleID := strings.TrimSpace(e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year, "--config", cfg))
	for _, u := range units {
		e.complete(e.taskID(review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", evaluation(u))
		e.complete(e.taskID(review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}
	e.complete(e.taskID(review.KindDraft, 1, ""), "p.editor", draft(1))
	for _, u := range units {
		id := e.taskID(review.KindSignOff, 1, u)
		e.complete(id, strings.ToLower(u)+".head", map[string]any{"decision": "approve", "version_hash": hashOf(e.waitTask(id))})
	}
	e.complete(e.taskID(review.KindApprove, 1, ""), "r.approver", map[string]any{"decision": "approve", "effective_from": "2026-08-01"})
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM cycles WHERE status = 'completed'`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cycle did not complete")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The cycle's row is written by its last activity; its workflow closes
	// just after.
	for {
		var hist []exportLine
		out := e.ok("cycle", "history", "--provider", e.provider, "--year", year, "--json")
		if err := json.Unmarshal([]byte(out), &hist); err != nil {
			t.Fatal(err)
		}
		if len(hist) > 0 && hist[0].Status == "Completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cycle's workflow did not close:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The export, to a file and to standard output: the same but for the
	// time in the header.
	file := filepath.Join(e.dir, "cycle.jsonl")
	before := time.Now().Add(-time.Second)
	if out := e.ok(export("--out", file)...); !strings.HasPrefix(out, "wrote "+file+": ") {
		t.Errorf("audit export --out printed %q", out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	stdout := e.ok(export()...)
	_, fileBody, _ := strings.Cut(string(b), "\n")
	_, stdoutBody, _ := strings.Cut(stdout, "\n")
	if fileBody != stdoutBody {
		t.Errorf("audit export to a file and to standard output differ after the header")
	}
	lines := parseExport(t, b)
	if len(lines) < 3 {
		t.Fatalf("export has %d lines", len(lines))
	}
	head, end := lines[0], lines[len(lines)-1]
	if head.Type != "export" || head.Provider != e.provider || head.Year != 2026 || head.CycleID != cycleID ||
		head.FormatVersion != 2 || head.ExportedAt.Before(before) || head.ExportedAt.After(time.Now()) {
		t.Errorf("export header: got %+v", head)
	}
	// Without payload keys Temporal holds every payload in plain text; the
	// header says they are written decoded, for the operator.
	if p := head.Payloads; p == nil || p.Written != "decrypted" || p.For != "operator" || p.Encrypted != 0 || p.Plain == 0 || len(p.KeyIDs) != 0 {
		t.Errorf("export header's payloads: got %+v, want decrypted for the operator, none encrypted", p)
	}
	if !strings.HasPrefix(string(b), `{"type":"export",`) || !strings.HasSuffix(string(b), "\n") {
		t.Errorf("export does not start with its type or end with a newline: %.40q…", b)
	}
	if end.Type != "end" {
		t.Fatalf("export's last line is %q, want end", end.Type)
	}

	// The body: audit events, then each workflow followed by its history.
	type wfHistory struct {
		line   exportLine
		events []historyEvent
	}
	auditSeen := map[int64]int{}
	var audit []exportLine
	var wfs []*wfHistory
	for i, l := range lines[1 : len(lines)-1] {
		switch l.Type {
		case "audit_event":
			if len(wfs) > 0 {
				t.Fatalf("line %d: an audit event after the workflows", i+2)
			}
			auditSeen[l.Seq]++
			audit = append(audit, l)
		case "workflow":
			wfs = append(wfs, &wfHistory{line: l})
		case "history_event":
			if len(wfs) == 0 {
				t.Fatalf("line %d: a history event before any workflow", i+2)
			}
			w := wfs[len(wfs)-1]
			if l.WorkflowID != w.line.WorkflowID || l.RunID != w.line.RunID {
				t.Fatalf("line %d: an event of %s %s under workflow %s %s", i+2, l.WorkflowID, l.RunID, w.line.WorkflowID, w.line.RunID)
			}
			var ev historyEvent
			if err := json.Unmarshal(l.Event, &ev); err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprint(len(w.events) + 1); ev.EventID != want {
				t.Fatalf("history of %s: event ID %s where %s was due", l.WorkflowID, ev.EventID, want)
			}
			w.events = append(w.events, ev)
		default:
			t.Errorf("line %d: unknown type %q", i+2, l.Type)
		}
	}

	// Every audit event of the cycle once, as the database holds it.
	var dbEvents []struct {
		Seq    int64  `db:"seq"`
		Action string `db:"action"`
		Hash   string `db:"hash"`
	}
	if err := e.db.Select(&dbEvents, `SELECT seq, action, hash FROM audit_events WHERE cycle_id = $1 ORDER BY seq`, cycleID); err != nil {
		t.Fatal(err)
	}
	for _, d := range dbEvents {
		if auditSeen[d.Seq] != 1 {
			t.Errorf("audit event seq %d (%s) appears %d times in the export, want once", d.Seq, d.Action, auditSeen[d.Seq])
		}
	}
	if len(audit) != len(dbEvents) || len(auditSeen) != len(dbEvents) {
		t.Errorf("export has %d audit events (%d distinct), the cycle has %d", len(audit), len(auditSeen), len(dbEvents))
	}
	for i := range min(len(audit), len(dbEvents)) {
		if a, d := audit[i], dbEvents[i]; a.Seq != d.Seq || a.Action != d.Action || a.Hash != d.Hash {
			t.Errorf("audit event %d: exported seq %d %s %s, database seq %d %s %s", i, a.Seq, a.Action, a.Hash, d.Seq, d.Action, d.Hash)
		}
	}

	// The cycle, then its units in code order, each unit's review followed
	// by its round's sign-off, each closed with its whole history.
	wantIDs := []string{cycleID}
	for _, u := range slices.Sorted(slices.Values(units)) {
		wantIDs = append(wantIDs, review.UnitReviewID(cycleID, u), review.SignOffWorkflowID(cycleID, u, 1))
	}
	workflowType := func(id string) string {
		switch {
		case id == cycleID:
			return "ReviewCycle"
		case strings.Contains(id, "/signoff/"):
			return "UnitSignOff"
		}
		return "UnitReview"
	}
	var gotIDs []string
	historyTotal := 0
	for _, w := range wfs {
		gotIDs = append(gotIDs, w.line.WorkflowID)
		historyTotal += len(w.events)
		l := w.line
		if l.Status != "Completed" || l.CloseTime.IsZero() || l.RunID == "" || l.HistoryLength != len(w.events) ||
			!strings.Contains(l.WebUI, url.PathEscape(l.WorkflowID)+"/"+l.RunID+"/history") {
			t.Errorf("workflow line %+v with %d history events", l, len(w.events))
		}
		if want := workflowType(l.WorkflowID); l.WorkflowType != want {
			t.Errorf("%s: workflow type %s, want %s", l.WorkflowID, l.WorkflowType, want)
		}
		if n := len(w.events); n < 2 || w.events[0].EventType != "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED" ||
			w.events[n-1].EventType != "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED" {
			t.Errorf("history of %s does not run from started to completed (%d events)", l.WorkflowID, n)
		}
	}
	if fmt.Sprint(gotIDs) != fmt.Sprint(wantIDs) {
		t.Errorf("export workflows: got %v, want %v", gotIDs, wantIDs)
	}
	if end.AuditEvents != len(dbEvents) || end.Workflows != len(wfs) || end.HistoryEvents != historyTotal {
		t.Errorf("end line %+v; the export holds %d audit events, %d workflows, %d history events", end, len(audit), len(wfs), historyTotal)
	}
	// The end line anchors the whole trail: the chain's head when exported,
	// the last event of every cycle's, this one's last event or later.
	var last struct {
		Seq  int64  `db:"seq"`
		Hash string `db:"hash"`
	}
	if err := e.db.Get(&last, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if end.ChainHead == nil || end.ChainHead.Seq < dbEvents[len(dbEvents)-1].Seq || end.ChainHead.Seq > last.Seq ||
		(end.ChainHead.Seq == last.Seq && end.ChainHead.Hash != last.Hash) {
		t.Errorf("end line's chain head %+v; the trail's last event is %+v", end.ChainHead, last)
	}

	// Each completion in the audit trail is a complete-task Update, accepted
	// and completed successfully, in the history of the workflow the task
	// row names.
	updates := map[string]map[string]string{} // workflow ID → task ID → update ID
	for _, w := range wfs {
		accepted, completed := map[string]string{}, map[string]bool{}
		for _, ev := range w.events {
			if a := ev.Accepted; a != nil && a.AcceptedRequest.Input.Name == workflows.UpdateCompleteTask {
				var req workflows.CompleteTaskRequest
				if p := a.AcceptedRequest.Input.Args.Payloads; len(p) != 1 || json.Unmarshal(p[0].Data, &req) != nil {
					t.Fatalf("%s: cannot read the complete-task request of Update %s", w.line.WorkflowID, a.AcceptedRequest.Meta.UpdateID)
				}
				accepted[req.TaskID] = a.AcceptedRequest.Meta.UpdateID
			}
			if c := ev.Completed; c != nil && c.Outcome.Success != nil && c.Outcome.Failure == nil {
				completed[c.Meta.UpdateID] = true
			}
		}
		updates[w.line.WorkflowID] = map[string]string{}
		for task, id := range accepted {
			if completed[id] {
				updates[w.line.WorkflowID][task] = id
			}
		}
	}
	completions := 0
	for _, a := range audit {
		if a.Action != "task.completed" {
			continue
		}
		completions++
		var taskWorkflow string
		if err := e.db.Get(&taskWorkflow, `SELECT workflow_id FROM tasks WHERE id = $1`, a.Subject); err != nil {
			t.Fatalf("task %s: %v", a.Subject, err)
		}
		if a.WorkflowID != taskWorkflow {
			t.Errorf("audit event seq %d names workflow %q, its task %s belongs to %s", a.Seq, a.WorkflowID, a.Subject, taskWorkflow)
		}
		if updates[taskWorkflow][a.Subject] == "" {
			t.Errorf("task.completed %s by %s: no completed complete-task Update for it in the history of %s", a.Subject, a.Actor, taskWorkflow)
		}
	}
	allUpdates := 0
	for _, u := range updates {
		allUpdates += len(u)
	}
	if want := 3 + 3 + 1 + 3 + 1; completions != want || allUpdates != want {
		t.Errorf("%d task.completed events and %d completed Updates, want %d of each", completions, allUpdates, want)
	}
	// Each completion was recorded by a local activity inside its Update (a
	// marker in its workflow's history), not by an activity task of the
	// server: each unit's tasks in its own workflows, the draft and the
	// approval one at a time in the cycle's.
	localActivities, completeTasks := 0, 0
	for _, w := range wfs {
		for _, ev := range w.events {
			if m := ev.Marker; m != nil && m.MarkerName == "LocalActivity" {
				localActivities++
			}
			if a := ev.ActivityScheduled; a != nil && a.ActivityType.Name == workflows.ActivityCompleteTask {
				completeTasks++
			}
		}
	}
	if localActivities != 3+3+1+3+1 || completeTasks != 0 {
		t.Errorf("%d local activities and %d CompleteTask activity tasks in the histories, want 11 and none", localActivities, completeTasks)
	}

	// cycle history: the same workflows and runs, with their addresses.
	var hist []exportLine
	if err := json.Unmarshal([]byte(e.ok("cycle", "history", "--provider", e.provider, "--year", year, "--json")), &hist); err != nil {
		t.Fatal(err)
	}
	table := e.ok("cycle", "history", "--provider", e.provider, "--year", year)
	if len(hist) != len(wfs) {
		t.Fatalf("cycle history lists %d workflows, the export %d", len(hist), len(wfs))
	}
	for i, h := range hist {
		w := wfs[i].line
		if h.WorkflowID != w.WorkflowID || h.RunID != w.RunID || h.Status != "Completed" || h.HistoryLength != w.HistoryLength || h.WebUI != w.WebUI {
			t.Errorf("cycle history %+v, export %+v", h, w)
		}
		if !strings.Contains(h.WebUI, "/workflows/"+url.PathEscape(h.WorkflowID)+"/") || !strings.Contains(table, h.WebUI) {
			t.Errorf("cycle history: %s has address %q; table:\n%s", h.WorkflowID, h.WebUI, table)
		}
	}
	if n := strings.Count(table, "\n"); n != 1+len(wfs) {
		t.Errorf("cycle history table has %d lines, want a header and %d rows:\n%s", n, len(wfs), table)
	}

	// Temporal out of reach: one line, exit 1, and the file from before is
	// left as it was.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	down := *e
	down.vars = append(slices.Clone(e.vars), "TEMPORAL_ADDRESS="+closed)
	down.refused(1, "cannot reach Temporal at "+closed, export("--out", file)...)
	down.refused(1, "cannot reach Temporal at "+closed, "cycle", "history", "--provider", e.provider, "--year", year)
	if after, err := os.ReadFile(file); err != nil || !bytes.Equal(after, b) {
		t.Errorf("a refused export changed %s (%v)", file, err)
	}
	if r := down.starter(export()...); r.stdout != "" || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("a refused export to standard output: %s", r)
	}
	e.refused(1, "cannot write "+filepath.Join(e.dir, "no-such-dir", "x.jsonl"), export("--out", filepath.Join(e.dir, "no-such-dir", "x.jsonl"))...)
	if left, _ := filepath.Glob(filepath.Join(e.dir, ".*")); len(left) != 0 {
		t.Errorf("a refused export left temporary files: %v", left)
	}
}
