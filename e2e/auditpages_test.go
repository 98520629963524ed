package e2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/oho-dev/oho/review"
)

// linkTo returns the address of the page's link whose text is text, with
// its query unescaped as a browser would follow it.
func (p page) linkTo(text string) string {
	re := regexp.MustCompile(`<a href="([^"]+)"[^>]*>` + regexp.QuoteMeta(text) + `</a>`)
	m := re.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// eventSeqs lists the chain positions of the events a page of the trail
// shows.
func eventSeqs(p page) string {
	var out []string
	for _, m := range regexp.MustCompile(`<th scope="row">(\d+)</th>`).FindAllStringSubmatch(p.body, -1) {
		out = append(out, m[1])
	}
	return strings.Join(out, " ")
}

// TestAuditorPagesOfFinishedCycle runs a cycle to completion through the
// command line from an imported plan (version 1 imported, version 2
// published), then reads it as an auditor logged in through OpenID Connect
// would, over HTTP: the audit trail with the chain verified, a filter and
// its pages, the traceability report, the difference between the versions,
// the handbook, the audit export and the workflow histories' addresses in
// the Temporal Web UI. A person of another provider is refused each of
// these addresses with a page, and a student representative the trail.
func TestAuditorPagesOfFinishedCycle(t *testing.T) {
	w := newWebWorld(t, webOptions{
		people: []map[string]any{personOf("a.auditor", "Aino Auditor", "auditor", "")},
		others: []map[string]any{personOf("x.auditor", "Other Auditor", "auditor", "")}})
	e, srv, other := w.env, w.srv, w.other

	// Version 1 imported, version 2 published by a cycle of one round.
	e.ok("plan", "import", "--provider", e.provider, "--as", "m.manager", "--effective", "2025-08-01", e.file("plan.md", currentPlan))
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year,
		"--config", e.file("config.json", `{"phases": {"evaluate": "2h", "consult": "2h", "update": "1h", "signoff": "1h", "approve": "1h"}}`))
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
	waitStatus(t, e, 2026, review.CycleCompleted)
	_, hash2 := e.storedPlan(2)

	auditor := w.login("a.auditor")
	cycle := fmt.Sprintf("/cycles/%s/%s", e.provider, year)

	// The trail: verified, in the nav, with the cycle's events.
	trail := auditor.get("/audit")
	trail.says(t, "the audit trail", `<html lang="fi">`, "<h1>Tapahtumaloki</h1>", "<strong>Ehjä.</strong>", "tarkistettiin juuri nyt",
		`<a href="/audit" aria-current="page">Tapahtumaloki</a>`, `href="/cycles"`, `href="/plans/`+e.provider+`"`, "org.imported", "plan.imported")
	if trail.code != http.StatusOK || strings.Contains(trail.body, "provider/"+other) {
		t.Errorf("the trail (%d) shows the other provider's events", trail.code)
	}

	// A filter: the completions only, kept in the form.
	done := auditor.get("/audit?action=task.completed&year=" + year)
	completions := strings.Count(done.body, "<code>task.completed</code>")
	if want := e.count(`SELECT count(*) FROM audit_events WHERE action = 'task.completed' AND cycle_id = $1`, review.CycleID(e.provider, 2026)); completions != want || want == 0 {
		t.Errorf("?action=task.completed shows %d completions, the database has %d", completions, want)
	}
	if regexp.MustCompile(`<code>(task\.opened|finding\.recorded|org\.imported)</code>`).MatchString(done.body) {
		t.Error("?action=task.completed shows other actions")
	}
	done.says(t, "the filtered trail", `<option value="task.completed" selected>`, `value="`+year+`"`)

	// Pages of 20: page 2 differs from page 1, keeps the filter, and
	// "previous" returns to page 1.
	first := auditor.get("/audit?per=20")
	next := first.linkTo("Seuraava sivu")
	if next == "" || !strings.Contains(next, "per=20") {
		t.Fatalf("page 1 of 20 has no next page that keeps the size (%q)", next)
	}
	second := auditor.get(next)
	if eventSeqs(second) == "" || eventSeqs(second) == eventSeqs(first) {
		t.Errorf("page 2 shows %q, page 1 %q", eventSeqs(second), eventSeqs(first))
	}
	if back := auditor.get(second.linkTo("Edellinen sivu")); eventSeqs(back) != eventSeqs(first) {
		t.Errorf("previous from page 2 shows %q, want page 1's %q", eventSeqs(back), eventSeqs(first))
	}
	filteredNext := auditor.get("/audit?per=5&action=task.completed").linkTo("Seuraava sivu")
	if !strings.Contains(filteredNext, "action=task.completed") {
		t.Errorf("the next page of a filter does not keep it: %q", filteredNext)
	}
	if p := auditor.get(filteredNext); regexp.MustCompile(`<code>task\.opened</code>`).MatchString(p.body) || !strings.Contains(p.body, "<code>task.completed</code>") {
		t.Error("page 2 of the completions shows other actions, or none")
	}

	// The cycles and the report.
	auditor.get("/cycles").says(t, "the cycles", "<h1>Arviointikierrokset</h1>", e.provider+" "+year, "valmis",
		`href="`+cycle+`/report"`, `href="`+cycle+`/workflows"`, `href="`+cycle+`/audit-export"`)
	report := auditor.get(cycle + "/report")
	report.says(t, "the report", "<h1>Jäljitettävyysraportti: "+e.provider+" "+year+"</h1>", `lang="en"`,
		"<code>"+review.CycleID(e.provider, 2026)+"</code>", "Supervision gaps in NORTH", "<code>"+hash2+"</code>")

	// The versions, their difference and the handbook.
	auditor.get("/plans/"+e.provider).says(t, "the plan versions", `<th scope="row">2</th>`, `<th scope="row">1</th>`,
		"tuotu, ei käsitelty OHOssa", "vahvisti Rita Approver (r.approver)", hash2, `<label for="diff-from">`)
	diff := auditor.get("/plans/" + e.provider + "/diff?from=1&to=2")
	diff.says(t, "the diff of versions 1 and 2", "Versio 1 → versio 2", "<code>communal</code>: <span class=\"change change-changed\">muutettu</span>",
		"Two supervisors at every break (round 1).")
	handbook := auditor.get("/plans/" + e.provider + "/handbook?version=2")
	if handbook.code != http.StatusOK || !strings.Contains(handbook.body, hash2) {
		t.Errorf("the handbook of version 2 (%d) does not show its hash %s", handbook.code, hash2)
	}

	// The audit export: JSON Lines from a header to an end line, downloaded.
	resp, err := auditor.http.Get(srv.base + cycle + "/audit-export")
	if err != nil {
		t.Fatal(err)
	}
	exported, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/jsonl") {
		t.Errorf("the export: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	lines := parseExport(t, exported)
	if len(lines) < 3 || lines[0].Type != "export" || lines[0].Provider != e.provider || lines[len(lines)-1].Type != "end" ||
		lines[len(lines)-1].AuditEvents == 0 || lines[len(lines)-1].Workflows != 1+2*len(units) {
		t.Errorf("the export is not a header, the events and workflows, and an end line: %d lines, first %+v, last %+v", len(lines), lines[0], lines[len(lines)-1])
	}

	// The workflow histories, each linked to the Temporal Web UI.
	workflows := auditor.get(cycle + "/workflows")
	workflows.says(t, "the workflows", "ReviewCycle", "UnitReview", "UnitSignOff", "valmis", "Avaa historia Temporalin käyttöliittymässä")
	// The cycle's, and each unit's review and round 1 sign-off.
	if n := len(regexp.MustCompile(`<a href="http://localhost:8233/namespaces/[^"/]+/workflows/review-cycle%2[fF]`+e.provider+`%2[fF]2026[^"]*/history"`).
		FindAllString(workflows.body, -1)); n != 1+2*len(units) {
		t.Errorf("the workflows page links %d histories in the Temporal Web UI, want %d:\n%s", n, 1+2*len(units), workflows.body)
	}

	// Another provider's auditor is refused each address with a page.
	stranger := w.login("x.auditor")
	for _, path := range []string{"/audit?provider=" + e.provider, cycle + "/report", cycle + "/report?format=md", cycle + "/workflows",
		cycle + "/audit-export", "/plans/" + e.provider, "/plans/" + e.provider + "/diff?from=1&to=2", "/plans/" + e.provider + "/handbook?version=2"} {
		p := stranger.get(path)
		if p.code != http.StatusForbidden || !strings.Contains(p.body, "<h1>Tätä ei voitu tehdä</h1>") || !strings.Contains(p.body, e.provider) ||
			strings.Contains(p.body, "Supervision gaps") || strings.Contains(p.body, hash2) {
			t.Errorf("x.auditor GET %s: got %d, want a refusal page naming %s:\n%s", path, p.code, e.provider, p.body)
		}
	}
	// A student representative may not read the trail, and is not offered it.
	rep := w.login("north.rep")
	if p := rep.get("/audit"); p.code != http.StatusForbidden || !strings.Contains(p.body, "only the provider&#39;s auditors and managers may") {
		t.Errorf("north.rep GET /audit: got %d:\n%s", p.code, p.body)
	}
	if p := rep.get("/"); strings.Contains(p.body, `href="/audit"`) {
		t.Error("the student representative's nav links to the audit trail")
	}
}
