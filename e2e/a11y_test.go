package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oho-dev/oho/review"
)

// reader is one browser asking for one language, logged in as one person
// at a time.
type reader struct {
	lang   string
	ctx    context.Context
	person string
}

// TestEveryPageAccessible opens every page of the web front end, in
// Finnish and in English, as the person it is for, with the forms open and
// in their refused states, and the error pages: axe-core finds no WCAG 2.1
// A or AA violation and the console no error on any of them. A cycle is
// driven through the command line from one stage to the next, each task's
// page checked while its form is open.
func TestEveryPageAccessible(t *testing.T) {
	w := newWebWorld(t, webOptions{people: []map[string]any{personOf("a.auditor", "Aino Auditor", "auditor", "")}})
	e, srv := w.env, w.srv
	e.ok("plan", "import", "--provider", e.provider, "--as", "m.manager", "--effective", "2025-08-01", e.file("plan.md", currentPlan))

	readers := []*reader{{lang: "fi", ctx: newBrowser(t)}, {lang: "en", ctx: newBrowserIn(t, "en-GB,en")}}
	as := func(r *reader, person string) {
		t.Helper()
		if r.person == person {
			return
		}
		if r.person != "" {
			submit(t, r.ctx, "logging out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
		}
		w.loginIn(r.ctx, person)
		r.person = person
	}
	checked := 0
	check := func(r *reader, name string, wantCode int) {
		t.Helper()
		if lang := pageLang(t, r.ctx); lang != r.lang {
			t.Errorf("%s: <html lang=%q>, want %s", name, lang, r.lang)
		}
		checkAccessible(t, r.ctx, name+"-"+r.lang)
		screenshot(t, r.ctx, "a11y-"+name+"-"+r.lang)
		checked++
	}
	// visit opens a page as the person in both languages and checks it.
	visit := func(person, path, name string, wantCode int) {
		t.Helper()
		for _, r := range readers {
			as(r, person)
			if code := openPage(t, r.ctx, srv.base+path); code != wantCode {
				t.Errorf("%s as %s (%s): got %d, want %d", path, person, r.lang, code, wantCode)
			}
			check(r, name, wantCode)
		}
	}
	// refuse opens a form as the person, fills it and sends it, expecting
	// it refused, in both languages.
	refuse := func(person, path, name string, fill ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		for _, r := range readers {
			as(r, person)
			openPage(t, r.ctx, srv.base+path)
			if code := submit(t, r.ctx, "sending "+name, fill...); code < 400 {
				t.Errorf("%s as %s (%s): the form was not refused (%d)", name, person, r.lang, code)
			}
			check(r, name, 0)
		}
	}
	task := func(kind review.TaskKind, round int, unit string) string {
		return "/tasks/" + url.PathEscape(review.TaskID(e.provider, 2026, kind, round, unit))
	}
	send := `button[name="action"][value="complete"]`

	// Pages anyone may open.
	for _, r := range readers {
		openPage(t, r.ctx, srv.base+"/login")
		check(r, "login", 200)
		openPage(t, r.ctx, srv.base+"/accessibility")
		check(r, "accessibility", 200)
	}

	// The manager starts the cycle; the dashboard, its refusal, the inbox.
	visit("m.manager", "/dashboard", "dashboard", 200)
	refuse("m.manager", "/dashboard", "dashboard-refused",
		chromedp.SetValue(chromedp.ID("start-year"), "1999"), chromedp.Click(chromedp.CSS(`form[action="/dashboard/cycles/`+e.provider+`"] button[type="submit"]`)))
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", "2026", "--config", e.file("c.json", catalogueConfig("HARBOUR")))
	evalNorth := review.TaskID(e.provider, 2026, review.KindEvaluate, 0, "NORTH")
	e.waitTask(evalNorth)
	visit("m.manager", "/dashboard", "dashboard-running", 200)
	visit("m.manager", "/dashboard/tasks/"+url.PathEscape(evalNorth), "steer-task", 200)

	// The evaluation and the consultation, open and refused.
	visit("north.staff", "/", "inbox", 200)
	visit("north.staff", task(review.KindEvaluate, 0, "NORTH"), "evaluate", 200)
	refuse("north.staff", task(review.KindEvaluate, 0, "NORTH"), "evaluate-refused",
		chromedp.SetValue(chromedp.ID("ind-0-value"), "paljon"), chromedp.Click(chromedp.CSS(send)))
	e.waitTask(review.TaskID(e.provider, 2026, review.KindConsult, 0, "NORTH"))
	visit("north.rep", task(review.KindConsult, 0, "NORTH"), "consult", 200)
	refuse("north.rep", task(review.KindConsult, 0, "NORTH"), "consult-refused", chromedp.Click(chromedp.CSS(send)))
	for _, u := range units {
		ev := evaluation(u)
		ev["indicators"] = []map[string]any{measured("SAFE", 80), measured("ABSENT", 9)}
		e.complete(review.TaskID(e.provider, 2026, review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", ev)
		e.complete(review.TaskID(e.provider, 2026, review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}

	// The draft, open and refused.
	draftID := review.TaskID(e.provider, 2026, review.KindDraft, 1, "")
	e.waitTask(draftID)
	visit("p.editor", task(review.KindDraft, 1, ""), "draft", 200)
	refuse("p.editor", task(review.KindDraft, 1, ""), "draft-refused", chromedp.Click(chromedp.CSS(send)))
	e.complete(draftID, "p.editor", draft(1))

	// A sign-off, open and refused; then the others.
	signNorth := review.TaskID(e.provider, 2026, review.KindSignOff, 1, "NORTH")
	e.waitTask(signNorth)
	visit("north.head", task(review.KindSignOff, 1, "NORTH"), "signoff", 200)
	refuse("north.head", task(review.KindSignOff, 1, "NORTH"), "signoff-refused",
		chromedp.Click(chromedp.CSS(`input[name="decision"][value="request_changes"]`)), chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)))
	for _, u := range units {
		sid := review.TaskID(e.provider, 2026, review.KindSignOff, 1, u)
		e.complete(sid, strings.ToLower(u)+".head", map[string]any{"decision": "approve", "version_hash": hashOf(e.waitTask(sid))})
	}

	// The approval, open and refused; then published.
	approveID := review.TaskID(e.provider, 2026, review.KindApprove, 1, "")
	e.waitTask(approveID)
	visit("r.approver", task(review.KindApprove, 1, ""), "approve", 200)
	// No decision chosen: refused.
	refuse("r.approver", task(review.KindApprove, 1, ""), "approve-refused", chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)))
	e.complete(approveID, "r.approver", map[string]any{"decision": "approve", "effective_from": "2026-08-01"})
	waitStatus(t, e, 2026, review.CycleCompleted)

	// After publication: a done task, the students' view, the auditor's
	// pages, refusals and errors.
	visit("north.staff", task(review.KindEvaluate, 0, "NORTH"), "task-done", 200)
	visit("north.rep", "/students", "students", 200)
	visit("m.manager", "/dashboard", "dashboard-done", 200)
	visit("a.auditor", "/audit", "audit", 200)
	visit("a.auditor", "/audit?year=twenty", "audit-refused", http.StatusUnprocessableEntity)
	visit("a.auditor", "/cycles", "cycles", 200)
	visit("a.auditor", fmt.Sprintf("/cycles/%s/2026/report", e.provider), "report", 200)
	visit("a.auditor", fmt.Sprintf("/cycles/%s/2026/workflows", e.provider), "workflows", 200)
	visit("a.auditor", "/plans/"+e.provider, "plans", 200)
	visit("a.auditor", "/plans/"+e.provider+"/diff?from=1&to=2", "plan-diff", 200)
	visit("a.auditor", "/people", "people", 200)
	visit("north.staff", "/people", "people-own", 200)
	visit("north.rep", "/audit", "forbidden", http.StatusForbidden)
	visit("north.staff", "/tasks/"+url.PathEscape(e.provider+"/2026/evaluate/WEST"), "not-found", http.StatusNotFound)
	if checked < 58 {
		t.Errorf("checked %d pages, want every page in both languages", checked)
	}
}

// TestDashboardProgressLive: the dashboard's progress of a running cycle
// refreshes in place (htmx, every 10 s) as tasks are done, without the
// page being loaded again, and with no error on the console (the htmx file
// and its use allowed by the Content-Security-Policy).
func TestDashboardProgressLive(t *testing.T) {
	w := newWebWorld(t, webOptions{})
	e, srv := w.env, w.srv
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", "2026", "--config",
		e.file("c.json", `{"phases": {"evaluate": "2h", "consult": "2h", "update": "1h", "signoff": "1h", "approve": "1h"}}`))
	evalNorth := review.TaskID(e.provider, 2026, review.KindEvaluate, 0, "NORTH")
	e.waitTask(evalNorth)

	ctx := newBrowser(t)
	w.loginIn(ctx, "m.manager")
	openPage(t, ctx, srv.base+"/dashboard")
	// Read in one script, as htmx may be swapping the element meanwhile.
	progress := func() string {
		return run(t, ctx, "reading the progress", chromedp.Evaluate[string](`(document.getElementById("progress-2026") || {}).innerText || ""`))
	}
	before := progress()
	if before == "" {
		t.Fatal("the dashboard shows no progress of the 2026 cycle")
	}
	// A mark on the page that a reload would lose.
	do(t, ctx, "marking the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	e.complete(evalNorth, "north.staff", evaluation("NORTH"))
	deadline := time.Now().Add(25 * time.Second)
	for now := progress(); now == before || now == ""; now = progress() {
		if time.Now().After(deadline) {
			t.Fatalf("the progress did not change within 25 s of a task being done:\n%s", before)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !run(t, ctx, "reading the mark", chromedp.Evaluate[bool](`window.notReloaded === true`)) {
		t.Error("the page was loaded again instead of refreshing its progress in place")
	}
	checkConsole(t, ctx, "dashboard-live")
	checkAccessible(t, ctx, "dashboard-live")
}
