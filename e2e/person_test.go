package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// personExport is the part of a person export (starter person export, GET
// /api/v1/people/{id}/export) the test reads.
type personExport struct {
	Type          string `json:"type"`
	FormatVersion int    `json:"format_version"`
	ExportedBy    string `json:"exported_by"`
	Person        struct {
		ID, Name, Email, Provider, Status string
	} `json:"person"`
	Roles []struct {
		Role, Unit string
	} `json:"roles"`
	Sessions []struct {
		Ref string `json:"ref"`
	} `json:"sessions"`
	Tasks []struct {
		ID          string          `json:"id"`
		Status      string          `json:"status"`
		CompletedBy string          `json:"completed_by"`
		Relation    []string        `json:"relation"`
		Outcome     json.RawMessage `json:"outcome"`
	} `json:"tasks"`
	Records struct {
		Findings []struct {
			Unit, Text string
		} `json:"findings"`
	} `json:"records"`
	Audit struct {
		Events []struct {
			store.Event
			PayloadText string   `json:"payload_text"`
			NamedAs     []string `json:"named_as"`
		} `json:"events"`
		ChainHead store.ChainHead `json:"chain_head"`
	} `json:"audit"`
	Elsewhere []struct {
		Where     string   `json:"where"`
		Workflows []string `json:"workflows"`
	} `json:"elsewhere"`
}

// TestPersonExport runs a cycle in which NORTH's counsellor evaluates their
// unit and, reassigned by the manager, HARBOUR's; then exports what OHO holds
// about the counsellor (GDPR article 15) through the command line, the API
// and the page: their record, both tasks with what they wrote, the
// reassignment that names them, their login, each audit event checkable
// against its hash, and nothing of what the other units' people wrote. A
// colleague and another college's auditor are refused on every front end.
func TestPersonExport(t *testing.T) {
	w := newWebWorld(t, webOptions{
		people: []map[string]any{personOf("a.auditor", "Aino Auditor", "auditor", "")},
		others: []map[string]any{personOf("x.auditor", "Auditor of the other college", "auditor", "")},
	})
	e := w.env
	const me = "north.staff"

	// The counsellor logs in, so that the export has a live session.
	staff := w.login(me)

	cfg := e.file("config.json", `{"phases": {"evaluate": "2h", "consult": "2h", "update": "1h", "signoff": "1h", "approve": "1h"}}`)
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year, "--config", cfg)
	harbour := e.taskID(review.KindEvaluate, 0, "HARBOUR")
	e.waitTask(harbour)
	e.ok("task", "reassign", harbour, "--to", me, "--as", "m.manager", "--reason", "Harbour's counsellor is away in March")
	for _, u := range units {
		who := strings.ToLower(u) + ".staff"
		if u == "HARBOUR" {
			who = me
		}
		e.complete(e.taskID(review.KindEvaluate, 0, u), who, evaluation(u))
		e.complete(e.taskID(review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}
	e.complete(e.taskID(review.KindDraft, 1, ""), "p.editor", draft(1))
	for _, u := range units {
		id := e.taskID(review.KindSignOff, 1, u)
		e.complete(id, strings.ToLower(u)+".head", map[string]any{"decision": "approve", "comment": "Fine for " + u + " campus", "version_hash": hashOf(e.waitTask(id))})
	}
	e.complete(e.taskID(review.KindApprove, 1, ""), "r.approver", map[string]any{"decision": "approve", "effective_from": "2026-08-01"})
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM cycles WHERE status = 'completed'`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cycle did not complete")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The command line: the counsellor's own, to a file only they may read.
	file := filepath.Join(e.dir, "me.json")
	if out := e.ok("person", "export", me, "--as", me, "--out", file); !strings.HasPrefix(out, "wrote "+file+": person "+me+", 2 tasks, ") {
		t.Errorf("person export --out printed %q", out)
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("the export's file has mode %v, want 0600", info.Mode().Perm())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	mine := checkPersonExport(t, "the counsellor's own export", b, me)
	if len(mine.Sessions) != 1 || !strings.HasPrefix(mine.Sessions[0].Ref, "s_") {
		t.Errorf("the export shows sessions %+v, want the counsellor's one web session", mine.Sessions)
	}

	// The operator's, on standard output; a manager's and the auditor's.
	if ex := checkPersonExport(t, "the operator's export", []byte(e.ok("person", "export", me)), me); ex.ExportedBy != "operator" {
		t.Errorf("the operator's export says it was made by %q", ex.ExportedBy)
	}
	checkPersonExport(t, "the manager's export", []byte(e.ok("person", "export", me, "--as", "m.manager")), me)
	checkPersonExport(t, "the auditor's export", []byte(e.ok("person", "export", me, "--as", "a.auditor")), me)

	// Refusals, each in one line.
	e.refused(1, `"forest.staff" may not export the personal data of north.staff: only the person themselves and the auditors and managers of their provider may`,
		"person", "export", me, "--as", "forest.staff")
	e.refused(1, `"x.auditor" may not export the personal data of north.staff`, "person", "export", me, "--as", "x.auditor")
	e.refused(1, `there is no person "nobody.here"`, "person", "export", "nobody.here")
	e.refused(1, `person "North Staff" is not a person ID`, "person", "export", "North Staff")
	e.refused(2, "person export needs PERSON", "person", "export")
	e.refused(2, "person export: --out is empty", "person", "export", me, "--out", "")
	e.refused(1, "there is no folder", "person", "export", me, "--out", filepath.Join(e.dir, "no", "such", "folder.json"))

	// HTTP: the counsellor's session, the API and the page's download.
	var api personExport
	staff.ok(http.StatusOK, "GET", "/api/v1/people/"+me+"/export", nil, &api)
	checkPersonExport(t, "the API's export", mustJSON(t, api), me)
	if api.ExportedBy != me || len(api.Sessions) != 1 {
		t.Errorf("the API's export: by %q with sessions %+v, want the counsellor's own with their session", api.ExportedBy, api.Sessions)
	}
	page := staff.do("GET", "/people/"+me+"/export", nil)
	if page.code != http.StatusOK || page.header.Get("Content-Disposition") != `attachment; filename="oho-person-north.staff.json"` {
		t.Errorf("the page's download: %d %v", page.code, page.header)
	}
	checkPersonExport(t, "the page's download", page.body, me)
	if p := staff.do("GET", "/people", nil); p.code != http.StatusOK || !strings.Contains(string(p.body), `href="/people/north.staff/export"`) ||
		strings.Contains(string(p.body), `href="/people/forest.staff/export"`) {
		t.Errorf("the counsellor's page of personal data (%d) does not offer their own download alone", p.code)
	}
	staff.refused(http.StatusForbidden, `"north.staff" may not export the personal data of forest.staff`, "GET", "/api/v1/people/forest.staff/export", nil)
	if p := staff.do("GET", "/people/forest.staff/export", nil); p.code != http.StatusForbidden || strings.Contains(string(p.body), "Supervision gaps in FOREST") {
		t.Errorf("the counsellor downloading a colleague's data: got %d", p.code)
	}
	outsider := w.login("x.auditor")
	outsider.refused(http.StatusForbidden, `"x.auditor" may not export the personal data of north.staff`, "GET", "/api/v1/people/"+me+"/export", nil)
	auditor := w.login("a.auditor")
	if p := auditor.do("GET", "/people", nil); p.code != http.StatusOK || !strings.Contains(string(p.body), `href="/people/forest.staff/export"`) {
		t.Errorf("the auditor's page of personal data (%d) does not list the provider's people", p.code)
	}
	checkPersonExport(t, "the auditor's download", auditor.do("GET", "/people/"+me+"/export", nil).body, me)

	// Every export is in the audit trail, which still verifies; the
	// refused ones are not.
	if n := e.count(`SELECT count(*) FROM audit_events WHERE action = 'person.exported' AND subject = $1`, "person/"+me); n != 7 {
		t.Errorf("got %d person.exported events of the counsellor, want 7 (4 at the command line, 3 in web sessions)", n)
	}
	var by []string
	if err := e.db.Select(&by, `SELECT actor || ' ' || channel FROM audit_events WHERE action = 'person.exported' ORDER BY seq`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(by, ", ") != "north.staff cli, operator cli, m.manager cli, a.auditor cli, north.staff web, north.staff web, a.auditor web" {
		t.Errorf("the exports were recorded as made by %v", by)
	}
	e.checkAuditVerify()
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkPersonExport reads an export of the counsellor who evaluated NORTH
// and HARBOUR and checks what it must hold and must not.
func checkPersonExport(t *testing.T, what string, b []byte, me string) personExport {
	t.Helper()
	var ex personExport
	if err := json.Unmarshal(b, &ex); err != nil {
		t.Fatalf("%s: %v\n%.300s", what, err, b)
	}
	if ex.Type != "person_export" || ex.FormatVersion != 1 || ex.Person.ID != me || ex.Person.Name != "Counsellor of NORTH" ||
		ex.Person.Email != mailOf(me) || ex.Person.Status != "active" || len(ex.Roles) != 1 || ex.Roles[0].Role != "welfare_staff" || ex.Roles[0].Unit != "NORTH" {
		t.Errorf("%s: the person is %+v with roles %+v, want NORTH's counsellor", what, ex.Person, ex.Roles)
	}
	// Both evaluations, completed, with what the counsellor wrote.
	done := map[string]string{}
	for _, task := range ex.Tasks {
		if task.CompletedBy == me && slices.Contains(task.Relation, "completed") {
			done[task.ID] = string(task.Outcome)
		}
	}
	var wrote []string
	for id, outcome := range done {
		for _, u := range []string{"NORTH", "HARBOUR"} {
			if strings.HasSuffix(id, "/evaluate/"+u) && strings.Contains(outcome, "Supervision gaps in "+u) {
				wrote = append(wrote, u)
			}
		}
	}
	slices.Sort(wrote)
	if len(ex.Tasks) != 2 || strings.Join(wrote, " ") != "HARBOUR NORTH" {
		t.Errorf("%s: got tasks %+v, want NORTH's and HARBOUR's evaluations completed with their outcomes", what, ex.Tasks)
	}
	if len(ex.Records.Findings) != 4 {
		t.Errorf("%s: got findings %+v, want NORTH's and HARBOUR's two each", what, ex.Records.Findings)
	}

	// The audit events: each names the counsellor and hashes as the chain
	// says; the completions, the reassignment and the login are there.
	actions := map[string]int{}
	for _, ev := range ex.Audit.Events {
		actions[ev.Action+" "+strings.Join(ev.NamedAs, "+")]++
		check := ev.Event
		check.Payload = json.RawMessage(ev.PayloadText)
		if got := store.AuditHash(check); got != ev.Hash {
			t.Errorf("%s: event seq %d (%s) hashes to %s, not to its hash %s", what, ev.Seq, ev.Action, got, ev.Hash)
		}
		if ev.Seq > ex.Audit.ChainHead.Seq {
			t.Errorf("%s: event seq %d is past the chain's head %d", what, ev.Seq, ex.Audit.ChainHead.Seq)
		}
		if ev.Actor != me && ev.Subject != "person/"+me && !strings.Contains(ev.PayloadText, me) {
			t.Errorf("%s: event seq %d (%s by %s) does not name %s", what, ev.Seq, ev.Action, ev.Actor, me)
		}
	}
	for _, want := range []string{"task.completed actor", "task.reassigned payload", "login.succeeded actor+subject", "org.imported payload", "finding.recorded actor"} {
		if actions[want] == 0 {
			t.Errorf("%s: no %s event; got %v", what, want, actions)
		}
	}
	if actions["task.completed actor"] != 2 {
		t.Errorf("%s: got %d completions by the counsellor, want 2", what, actions["task.completed actor"])
	}

	// Temporal's histories of both units are named, not copied.
	var workflows []string
	for _, el := range ex.Elsewhere {
		if el.Where == "temporal" {
			workflows = el.Workflows
		}
	}
	for _, u := range []string{"NORTH", "HARBOUR"} {
		if !slices.ContainsFunc(workflows, func(w string) bool { return strings.HasSuffix(w, "/2026/unit/"+u) }) {
			t.Errorf("%s: the Temporal histories named are %v, want %s's unit workflow", what, workflows, u)
		}
	}

	// Nothing of what the other units' people and the editor wrote.
	for _, never := range []string{"Supervision gaps in FOREST", "Counsellor hours are hard to find", "Two supervisors at every break",
		"Counsellor hours are posted weekly", "Fine for NORTH campus", "password_hash", "secret_hash"} {
		if strings.Contains(string(b), never) {
			t.Errorf("%s holds %q", what, never)
		}
	}
	return ex
}
