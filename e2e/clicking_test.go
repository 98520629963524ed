package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/smtptest"
)

// The steps a person takes in a tab, for TestWholeCycleByClicking: each
// fails the test, naming the step, when the page does not let it happen.

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// follow clicks the link or button the CSS selector finds, waits for the
// page it leads to and fails the test unless that page answers want.
func follow(t *testing.T, ctx context.Context, what, selector string, want int) {
	t.Helper()
	if code := submit(t, ctx, what, chromedp.Click(chromedp.CSS(selector))); code != want {
		t.Fatalf("%s: got %d at %s, want %d:\n%s", what, code, pagePath(t, ctx), want, textOf(t, ctx, "main"))
	}
}

// typeInto types the text into the empty field, key by key.
func typeInto(t *testing.T, ctx context.Context, id, text string) {
	t.Helper()
	do(t, ctx, "typing into #"+id, chromedp.SendKeys(chromedp.ID(id), text))
	if got := run(t, ctx, "reading #"+id, chromedp.Value(chromedp.ID(id))); got != text {
		t.Fatalf("#%s holds %q after typing %q", id, got, text)
	}
}

// retype replaces what the field holds with the text: Ctrl+A, then typing.
func retype(t *testing.T, ctx context.Context, id, text string) {
	t.Helper()
	do(t, ctx, "selecting what #"+id+" holds", chromedp.Focus(chromedp.ID(id)), keyPress("a", "KeyA", 65, "", "selectAll"))
	typeInto(t, ctx, id, text)
}

// choose picks the option of the <select> whose value is value, as a
// person at the keyboard does: focus the list and move to the option with
// the arrow keys (a list opened with the mouse is drawn by the system,
// outside the page, and typing an option's first letters picks "200" for
// "20").
func choose(t *testing.T, ctx context.Context, id, value string) {
	t.Helper()
	at := run(t, ctx, "reading the options of #"+id, chromedp.Evaluate[[2]int](`(() => {
  const s = document.getElementById(`+jsString(id)+`);
  return [s.selectedIndex, [...s.options].findIndex(o => o.value === `+jsString(value)+`)];
})()`))
	if at[1] < 0 {
		t.Fatalf("#%s has no option %q", id, value)
	}
	key, n := kb.ArrowDown, at[1]-at[0]
	if n < 0 {
		key, n = kb.ArrowUp, -n
	}
	do(t, ctx, fmt.Sprintf("choosing %q in #%s", value, id), chromedp.Focus(chromedp.ID(id)), chromedp.KeyEvent(strings.Repeat(key, n)))
	if got := run(t, ctx, "reading #"+id, chromedp.Value(chromedp.ID(id))); got != value {
		t.Fatalf("#%s: the arrow keys chose %q, want %q", id, got, value)
	}
}

// fieldKeys lists, for each field whose id matches the CSS selector, the
// <code> of its fieldset's legend: the plan section of a row of the draft,
// or the item a row answers.
func fieldKeys(t *testing.T, ctx context.Context, selector string) []string {
	t.Helper()
	return run(t, ctx, "reading the rows of "+selector, chromedp.Evaluate[[]string](`[...document.querySelectorAll(`+jsString(selector)+`)]
  .map(f => f.closest("fieldset").querySelector("legend code").textContent)`))
}

// screenshotTop writes a PNG of the top of the page the tab shows, down to
// the last element the CSS selector finds but at most height pixels, to
// out/screens/readme/<name>.png, for the README (a whole page can be long,
// and heavy).
func screenshotTop(t *testing.T, ctx context.Context, name, selector string, height float64) {
	t.Helper()
	size := run(t, ctx, "measuring the page", chromedp.Evaluate[[2]float64](`[document.documentElement.clientWidth,
  Math.max(...[...document.querySelectorAll(`+jsString(selector)+`)].map(e => e.getBoundingClientRect().bottom + window.scrollY + 16))]`))
	if size[1] <= 16 {
		t.Fatalf("%s: no %s on the page", name, selector)
	}
	png := run(t, ctx, "taking a screenshot of the top of "+name, chromedp.Action[[]byte](func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
		r, err := cdp.Call(ctx, tg, cdppage.CaptureScreenshot, cdppage.CaptureScreenshotParams{
			Clip: &cdppage.Viewport{Width: size[0], Height: min(size[1], height), Scale: 1}, CaptureBeyondViewport: new(true)})
		return r.Data, err
	}))
	dir, err := filepath.Abs(filepath.Join("..", "out", "screens", "readme"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("creating %s: %v", dir, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("writing the screenshot: %v", err)
	}
	t.Logf("%s: screenshot of the top %s", name, path)
}

// TestWholeCycleByClicking runs a whole review cycle in Debian's Chromium by
// clicking and typing, as its participants would, against the real server,
// worker, Temporal and PostgreSQL: the manager starts it on the dashboard
// with an indicator catalogue typed into the configuration; staff log in
// through an OpenID Connect provider with their e-mail, student
// representatives through another with their subject, and the approver with
// a local account whose password they set from a mailed invitation. Every
// unit evaluates (a value that is not a number and a finding without a
// section refused next to their fields, corrected, sent; an indicator not
// measured with a reason) and consults its students; the manager follows the
// units' progress; the plan editor drafts; one unit head requests changes,
// which supersedes the other sign-offs; the editor drafts round 2 answering
// the comment; every head approves it; the approver publishes it with an
// effective date; the auditor finds the audit chain intact, pages through
// the cycle's events and the approver's, reads the report and downloads
// the audit export.
// Every page passes axe-core with no console error, and its screenshot goes
// to out/screens/, numbered in the cycle's order; the tops of four of them
// go to out/screens/readme/ for the README ('make screens').
func TestWholeCycleByClicking(t *testing.T) {
	began := time.Now()
	mail := smtptest.Start(t)
	staffIdP, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { staffIdP.Shutdown() })
	studentIdP, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { studentIdP.Shutdown() })

	e := newEnv(t)
	addr := freeAddr(t)
	e.vars = append(e.vars, "SMTP_URL="+mail.URL()+"?from=oho@example.fi", "OHO_NOTIFY_POLL=100ms", "OHO_BASE_URL=http://"+addr)
	e.startWorker()
	org := e.org()
	org["people"] = append(org["people"].([]map[string]any),
		map[string]any{"id": "a.auditor", "name": "Aino Auditor", "roles": []map[string]string{{"role": "auditor", "unit": ""}}})
	for _, p := range org["people"].([]map[string]any) {
		id := p["id"].(string)
		p["email"] = mailOf(id)
		if strings.HasSuffix(id, ".rep") {
			p["oidc_subject"] = "mpass-" + id
		}
	}
	e.ok("org", "import", e.file("org.json", org))
	// The plan in force, so that the draft is written against its text and
	// the sign-offs read the difference.
	e.ok("plan", "import", "--provider", e.provider, "--as", "m.manager", "--effective", "2025-08-01", e.file("plan.md", currentPlan))
	srv := e.startServer(addr, "--oidc", e.file("idps.json", map[string]any{"identity_providers": []map[string]any{
		{"id": "staff", "provider": e.provider, "name": "Microsoft (henkilöstö / staff)", "issuer": staffIdP.Issuer(),
			"client_id": staffIdP.ClientID, "client_secret": staffIdP.ClientSecret, "match": "email"},
		{"id": "students", "provider": e.provider, "name": "MPASSid (opiskelijat / students)", "issuer": studentIdP.Issuer(),
			"client_id": studentIdP.ClientID, "client_secret": studentIdP.ClientSecret, "match": "subject"},
	}}))
	const yr = 2026
	task := func(kind review.TaskKind, round int, unit string) string {
		return review.TaskID(e.provider, yr, kind, round, unit)
	}
	taskLink := func(id string) string { return "/tasks/" + url.PathEscape(id) }

	// look checks each page the test comes to and writes its screenshot,
	// numbered in the cycle's order.
	shots := 0
	look := func(ctx context.Context, name string) {
		t.Helper()
		shots++
		name = fmt.Sprintf("%02d-%s", shots, name)
		checkAccessible(t, ctx, name)
		screenshot(t, ctx, name)
	}

	// Staff and students work in one tab in English, one after another,
	// logging out in between; the approver in another, in Finnish.
	en := newBrowserIn(t, "en-GB,en")
	fi := newBrowser(t)

	// login logs the person in with their identity provider's button on the
	// login page, which the tab shows after a logout, to their inbox.
	login := func(person string) {
		t.Helper()
		if p := pagePath(t, en); p != "/login" {
			t.Fatalf("logging %s in: the tab shows %s, not the login page", person, p)
		}
		look(en, "login")
		idp, user := staffIdP, &mockoidc.MockUser{Subject: "entra-" + person, Email: mailOf(person), EmailVerified: true}
		button := `a[href="/auth/oidc/staff"]`
		if strings.HasSuffix(person, ".rep") {
			idp, user = studentIdP, &mockoidc.MockUser{Subject: "mpass-" + person}
			button = `a[href="/auth/oidc/students"]`
		}
		idp.QueueUser(user)
		follow(t, en, "logging "+person+" in", button, http.StatusOK)
		if p := pagePath(t, en); p != "/" {
			t.Fatalf("logging %s in ended at %s", person, p)
		}
		if got := textOf(t, en, "form.who p"); !strings.Contains(got, "("+person+")") {
			t.Fatalf("logged in as %s, the page says %q", person, got)
		}
		look(en, "inbox-"+person)
	}
	logout := func(ctx context.Context) {
		t.Helper()
		follow(t, ctx, "logging out", `form[action="/logout"] button`, http.StatusOK)
		if p := pagePath(t, ctx); p != "/login" {
			t.Fatalf("logging out ended at %s", p)
		}
	}
	// openTask follows the task's link in the inbox the tab shows.
	openTask := func(ctx context.Context, id, name string) {
		t.Helper()
		follow(t, ctx, "opening "+id, `main a[href="`+taskLink(id)+`"]`, http.StatusOK)
		if p := pagePath(t, ctx); p != taskLink(id) {
			t.Fatalf("opening %s ended at %s", id, p)
		}
		look(ctx, name)
	}
	// work waits until the worker has opened the task, logs the person in
	// and opens the task from their inbox.
	work := func(person, id, name string) {
		t.Helper()
		e.waitTask(id)
		login(person)
		openTask(en, id, name)
	}
	// send presses the button that sends the task's form, which leads to
	// the inbox saying the task is done, and logs out.
	send := func(ctx context.Context, id, button string) {
		t.Helper()
		follow(t, ctx, "sending "+id, button, http.StatusOK)
		if p := pagePath(t, ctx); p != "/?done="+url.QueryEscape(id) {
			t.Fatalf("after sending %s the tab shows %s:\n%s", id, p, textOf(t, ctx, "main"))
		}
		if got := textOf(t, ctx, ".notice"); !strings.Contains(got, id) {
			t.Errorf("the inbox after sending %s says %q", id, got)
		}
		look(ctx, "inbox-done")
		logout(ctx)
	}
	const complete = `main button[name="action"][value="complete"]`
	const decide = `main form[aria-labelledby="form-title"] button[type="submit"]`

	// The approver's local account: the invitation's link, mailed by the
	// worker, opens the page to set a password; the login page it leads to
	// stays open in the Finnish tab until the plan is to be approved.
	const password = "correct horse battery"
	if code := openPage(t, fi, e.invite(mail, "r.approver")); code != http.StatusOK {
		t.Fatalf("the invitation's link: got %d", code)
	}
	look(fi, "password")
	typeInto(t, fi, "password", password)
	typeInto(t, fi, "again", password)
	follow(t, fi, "setting the password", `form[action="/password"] button[type="submit"]`, http.StatusOK)
	if p := pagePath(t, fi); p != "/login?password=set" {
		t.Fatalf("setting the password ended at %s", p)
	}
	look(fi, "login-password-set")

	// The manager starts the cycle on the dashboard, with the indicator
	// catalogue in the configuration's JSON.
	openPage(t, en, srv.base+"/")
	login("m.manager")
	follow(t, en, "opening the dashboard", `nav a[href="/dashboard"]`, http.StatusOK)
	look(en, "dashboard-empty")
	startForm := `form[action="/dashboard/cycles/` + e.provider + `"]`
	retype(t, en, "start-year", fmt.Sprint(yr))
	do(t, en, "opening the configuration's JSON", chromedp.Click(chromedp.CSS(startForm+" details summary")))
	typeInto(t, en, "start-config", strings.Join(strings.Fields(catalogueConfig("HARBOUR")), " "))
	follow(t, en, "starting the cycle", startForm+` button[type="submit"]`, http.StatusOK)
	if p := pagePath(t, en); p != fmt.Sprintf("/dashboard?done=started&year=%d", yr) {
		t.Fatalf("starting the cycle ended at %s:\n%s", p, textOf(t, en, "main"))
	}
	if got := textOf(t, en, ".notice"); got != fmt.Sprintf("The %d cycle has started.", yr) {
		t.Errorf("the dashboard after starting says %q", got)
	}
	look(en, "dashboard-started")
	logout(en)

	// Every unit's evaluation and consultation.
	type evaluation struct {
		safe, absent  string // the catalogue's values; no absences: not measured
		section, text string // a finding
		annex         string // a finding on the unit's annex
	}
	evaluations := map[string]evaluation{
		"NORTH":   {safe: "80", absent: "9.5", section: "communal", text: "Supervision gaps in the workshop halls", annex: "The welfare group meets too rarely"},
		"HARBOUR": {safe: "88", absent: "11", section: "communal", text: "Supervision gaps at the harbour gate"},
		"FOREST":  {safe: "90", section: "communal", text: "Supervision gaps in the forest yard"},
	}
	feedback := map[string]struct{ method, participants, said string }{
		"NORTH":   {"survey", "48", "Counsellor hours are hard to find"},
		"HARBOUR": {"council", "9", "The nurse's hours are not posted"},
		"FOREST":  {"workshop", "21", "We want a quiet room"},
	}
	for _, u := range units {
		lower := strings.ToLower(u)
		ev := evaluations[u]
		evalID := task(review.KindEvaluate, 0, u)
		e.waitTask(evalID)
		login(lower + ".staff")
		if u == "NORTH" {
			// The task is offered to the unit's welfare staff: take it.
			follow(t, en, "taking the evaluation", `main form[action="`+taskLink(evalID)+`/claim"] button`, http.StatusOK)
			if got := textOf(t, en, "main table caption"); got != "Tasks assigned to me" {
				t.Errorf("after taking the evaluation the inbox's first table is %q", got)
			}
			look(en, "inbox-taken")
			screenshotTop(t, en, "inbox", "footer", 900)
		}
		openTask(en, evalID, "evaluate-"+lower)
		if got := textOf(t, en, "h1"); got != "Evaluation: "+u {
			t.Errorf("the evaluation's heading is %q", got)
		}
		typeInto(t, en, "ind-0-value", ev.safe)
		switch u {
		case "NORTH":
			// A value that is not a number: refused, shown next to its
			// field, what was typed kept.
			typeInto(t, en, "ind-1-value", "lots")
		case "FOREST":
			do(t, en, "marking absences not measured", chromedp.Click(chromedp.ID("ind-1-nm")))
			typeInto(t, en, "ind-1-reason", "The register changed systems in March.")
		default:
			typeInto(t, en, "ind-1-value", ev.absent)
		}
		if u != "HARBOUR" {
			// HARBOUR's finding goes without its section, and is refused.
			choose(t, en, "f-0-section", ev.section)
		}
		typeInto(t, en, "f-0-text", ev.text)
		typeInto(t, en, "f-0-rec", "Extend the rota")
		if ev.annex != "" {
			choose(t, en, "f-1-section", "annex/"+u)
			choose(t, en, "f-1-severity", "minor")
			typeInto(t, en, "f-1-text", ev.annex)
		}
		switch u {
		case "NORTH":
			follow(t, en, "sending a value that is not a number", complete, http.StatusUnprocessableEntity)
			if got := textOf(t, en, "#ind-1-value-error"); got != "lots is not a number" {
				t.Errorf("the refused value's error says %q", got)
			}
			if got := run(t, en, "reading the finding kept", chromedp.Value(chromedp.ID("f-0-text"))); got != ev.text {
				t.Errorf("the refused form kept the finding as %q", got)
			}
			look(en, "evaluate-refused-"+lower)
			screenshotTop(t, en, "evaluate", "main form fieldset:first-of-type", 1400)
			// The summary's link takes the focus to the field.
			do(t, en, "following the summary's link", chromedp.Click(chromedp.CSS(`#problems a[href="#ind-1-value"]`)))
			if f := focusNow(t, en); f.ID != "ind-1-value" {
				t.Errorf("the summary's link moved the focus to %+v", f)
			}
			retype(t, en, "ind-1-value", ev.absent)
		case "HARBOUR":
			follow(t, en, "sending a finding without a section", complete, http.StatusUnprocessableEntity)
			if got := textOf(t, en, "#f-0-section-error"); !strings.Contains(got, "Section of the plan (finding F1) is required") {
				t.Errorf("the finding without a section: the error says %q", got)
			}
			look(en, "evaluate-refused-"+lower)
			do(t, en, "following the summary's link", chromedp.Click(chromedp.CSS(`#problems a[href="#f-0-section"]`)))
			choose(t, en, "f-0-section", ev.section)
		}
		send(en, evalID, complete)

		consultID := task(review.KindConsult, 0, u)
		fb := feedback[u]
		work(lower+".rep", consultID, "consult-"+lower)
		choose(t, en, "method", fb.method)
		typeInto(t, en, "participants", fb.participants)
		// A date field's parts follow the operating system's locale, not the
		// page's, so the date is set, not typed.
		do(t, en, "setting the date", chromedp.SetValue(chromedp.ID("held_on"), "2026-03-10"))
		choose(t, en, "s-0-section", "individual")
		typeInto(t, en, "s-0-text", fb.said)
		send(en, consultID, complete)

		if u == "HARBOUR" {
			// Half way: the manager follows the units' progress.
			e.waitTask(task(review.KindEvaluate, 0, "FOREST"))
			e.waitTask(task(review.KindConsult, 0, "FOREST"))
			login("m.manager")
			follow(t, en, "opening the dashboard", `nav a[href="/dashboard"]`, http.StatusOK)
			progress := textOf(t, en, fmt.Sprintf(`section[aria-labelledby="running-%d"] table`, yr))
			for _, want := range []string{"NORTH", "HARBOUR", "2 of 2 tasks done", "FOREST", "0 of 2 tasks done"} {
				if !strings.Contains(progress, want) {
					t.Errorf("the units' progress does not say %q:\n%s", want, progress)
				}
			}
			look(en, "dashboard-progress")
			screenshotTop(t, en, "dashboard", "#tasks ~ table", 1500)
			logout(en)
		}
	}
	if n := e.count(`SELECT count(*) FROM indicators WHERE (unit_code, code, value) IN (('NORTH', 'ABSENT', 9.5), ('HARBOUR', 'ABSENT', 11), ('FOREST', 'SAFE', 90))`); n != 3 {
		t.Errorf("recorded %d of three values typed", n)
	}
	if n := e.count(`SELECT count(*) FROM indicators WHERE unit_code = 'FOREST' AND code = 'ABSENT' AND value IS NULL AND not_measured_reason = 'The register changed systems in March.'`); n != 1 {
		t.Error("FOREST's absences are not recorded as not measured with the reason")
	}
	if n := e.count(`SELECT count(*) FROM consultations WHERE held_on = '2026-03-10'`); n != len(units) {
		t.Errorf("recorded %d consultations held on the date set, want %d", n, len(units))
	}

	// The plan editor drafts: the sections the findings and feedback call
	// for rewritten, every item answered, the checklist marked.
	const round1Text = "Two supervisors at every break, also in the workshop halls."
	writeDraft := func(round int, communal string) {
		t.Helper()
		draftID := task(review.KindDraft, round, "")
		work("p.editor", draftID, fmt.Sprintf("draft-round-%d", round))
		if round > 1 {
			// A later round's form holds the draft that was sent back:
			// only the communal section changes, to answer the comment.
			for i, key := range fieldKeys(t, en, `textarea[id^="sec-"][id$="-text"]`) {
				if key == "communal" {
					if got := run(t, en, "reading the communal text", chromedp.Value(chromedp.ID(fmt.Sprintf("sec-%d-text", i)))); got != round1Text {
						t.Errorf("round %d's form holds the communal text %q, want round %d's %q", round, got, round-1, round1Text)
					}
					retype(t, en, fmt.Sprintf("sec-%d-text", i), communal)
				}
			}
			send(en, draftID, complete)
			return
		}
		texts := map[string][2]string{
			"communal":    {communal, "Supervision gaps in every unit"},
			"individual":  {"The nurse is in on weekdays. Counsellor and nurse hours are posted weekly.", "Students could not find the hours"},
			"annex/NORTH": {"North's welfare group meets every two weeks.", "North's finding on its annex"},
		}
		for i, key := range fieldKeys(t, en, `textarea[id^="sec-"][id$="-text"]`) {
			if text, ok := texts[key]; ok {
				retype(t, en, fmt.Sprintf("sec-%d-text", i), text[0])
				typeInto(t, en, fmt.Sprintf("sec-%d-why", i), text[1])
				delete(texts, key)
			}
		}
		if len(texts) > 0 {
			t.Fatalf("the draft form has no row for the sections %v", texts)
		}
		items := fieldKeys(t, en, `select[id^="it-"][id$="-decision"]`)
		if len(items) != 7 {
			t.Errorf("the draft lists the items %v, want 7", items)
		}
		for i, ref := range items {
			decision, change, reason := review.DecisionAddressed, "", ""
			switch {
			case strings.HasSuffix(ref, "/F1"):
				change = "communal"
			case ref == "NORTH/F2":
				change = "annex/NORTH"
			case ref == "FOREST/S1":
				decision, reason = review.DecisionDeferred, "A quiet room needs next year's budget"
			case strings.HasSuffix(ref, "/S1"):
				change = "individual"
			default:
				t.Fatalf("the draft lists an item %s the test did not make", ref)
			}
			choose(t, en, fmt.Sprintf("it-%d-decision", i), decision)
			if change != "" {
				choose(t, en, fmt.Sprintf("it-%d-change", i), change)
			}
			if reason != "" {
				typeInto(t, en, fmt.Sprintf("it-%d-reason", i), reason)
			}
		}
		for i, c := range review.DefaultChecklist {
			choose(t, en, fmt.Sprintf("ck-%d-section", i), c.Section)
			typeInto(t, en, fmt.Sprintf("ck-%d-note", i), "See the section.")
		}
		send(en, draftID, complete)
	}
	const round1 = round1Text
	writeDraft(1, round1)
	if n := e.count(`SELECT count(*) FROM plan_changes WHERE round = 1`); n != 3 {
		t.Errorf("round 1's draft recorded %d changes, want 3", n)
	}

	// Round 1's sign-off: NORTH's head requests changes, which closes the
	// other units' sign-offs.
	const comment = "Name who owns the rota."
	north1 := task(review.KindSignOff, 1, "NORTH")
	work("north.head", north1, "signoff-round-1-north")
	if got := textOf(t, en, "main"); !strings.Contains(got, round1) {
		t.Errorf("NORTH's sign-off page does not show the drafted text %q", round1)
	}
	do(t, en, "choosing to request changes", chromedp.Click(chromedp.ID("decision-request_changes")))
	typeInto(t, en, "comment", comment)
	send(en, north1, decide)
	deadline := time.Now().Add(stepTimeout)
	for e.count(`SELECT count(*) FROM tasks WHERE id = ANY($1) AND status = 'superseded'`,
		"{"+task(review.KindSignOff, 1, "HARBOUR")+","+task(review.KindSignOff, 1, "FOREST")+"}") != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the other round 1 sign-offs were not superseded after the request for changes")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Round 2: the editor reads the comment and answers it.
	const round2 = round1 + " The deputy head owns the rota."
	e.waitTask(task(review.KindDraft, 2, ""))
	writeDraft(2, round2)
	if n := e.count(`SELECT count(*) FROM plan_changes WHERE round = 2 AND section = 'communal' AND text = $1`, round2); n != 1 {
		t.Error("round 2's draft did not record the communal section as typed")
	}

	// Every unit head approves round 2.
	for _, u := range units {
		id := task(review.KindSignOff, 2, u)
		work(strings.ToLower(u)+".head", id, "signoff-round-2-"+strings.ToLower(u))
		if got := textOf(t, en, "main"); !strings.Contains(got, "The deputy head owns the rota.") {
			t.Errorf("%s's round 2 sign-off does not show the answer to the comment", u)
		}
		do(t, en, "choosing to approve", chromedp.Click(chromedp.ID("decision")))
		send(en, id, decide)
	}

	// The approver, back at the Finnish tab, logs in with the local account
	// by typing, and publishes the plan.
	approveID := task(review.KindApprove, 2, "")
	e.waitTask(approveID)
	typeInto(t, fi, "person", "r.approver")
	typeInto(t, fi, "password", password)
	follow(t, fi, "logging in with the password", `form[action="/login"] button`, http.StatusOK)
	if p := pagePath(t, fi); p != "/" {
		t.Fatalf("logging in with the password ended at %s", p)
	}
	look(fi, "inbox-r.approver")
	openTask(fi, approveID, "approve")
	if got := textOf(t, fi, "h1"); got != "Vahvistaminen" {
		t.Errorf("the approval's heading is %q", got)
	}
	do(t, fi, "choosing to approve", chromedp.Click(chromedp.ID("decision")))
	do(t, fi, "setting the effective date", chromedp.SetValue(chromedp.ID("effective_from"), "2026-08-01"))
	typeInto(t, fi, "comment", "Hallituksen kokous 12.5.2026")
	send(fi, approveID, decide)
	deadline = time.Now().Add(stepTimeout)
	for e.count(`SELECT count(*) FROM plan_versions WHERE version = 2 AND source = 'cycle' AND round = 2 AND effective_from = '2026-08-01' AND cycle_id = $1`,
		review.CycleID(e.provider, yr)) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the approved draft was not published as version 2 effective from 2026-08-01")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := e.count(`SELECT count(*) FROM plan_versions v JOIN signoffs s ON s.version_hash = v.content_hash WHERE v.version = 2 AND s.round = 2 AND s.decision = 'approve'`); n != len(units) {
		t.Errorf("the published version has %d sign-offs of its hash, want %d", n, len(units))
	}
	waitStatus(t, e, yr, review.CycleCompleted)

	// The auditor: the chain intact, the cycle's last events, the report,
	// the export downloaded.
	login("a.auditor")
	follow(t, en, "opening the audit trail", `nav a[href="/audit"]`, http.StatusOK)
	if got := textOf(t, en, "section[aria-labelledby=chain-title] .notice"); !strings.HasPrefix(got, "Intact.") ||
		!strings.Contains(got, "every hash was recomputed and matches") {
		t.Errorf("the audit trail's verification says %q", got)
	}
	look(en, "audit-trail")
	typeInto(t, en, "audit-year", fmt.Sprint(yr))
	choose(t, en, "audit-per", "20")
	follow(t, en, "showing the cycle's events", `form.filters button[type="submit"]`, http.StatusOK)
	look(en, "audit-trail-cycle")
	follow(t, en, "going to the last page", `nav.pages li:last-child a`, http.StatusOK)
	if got := textOf(t, en, "table.events"); !strings.Contains(got, "plan.published") || !strings.Contains(got, "r.approver") {
		t.Errorf("the last page of the cycle's events does not show the publication and r.approver:\n%s", got)
	}
	look(en, "audit-trail-cycle-last")
	// What the approver did in the cycle.
	typeInto(t, en, "audit-actor", "r.approver")
	follow(t, en, "showing the approver's events", `form.filters button[type="submit"]`, http.StatusOK)
	if got := textOf(t, en, "table.events"); !strings.Contains(got, "approval.recorded") || !strings.Contains(got, "plan.published") ||
		strings.Contains(got, "p.editor") {
		t.Errorf("the approver's events of the cycle:\n%s", got)
	}
	look(en, "audit-trail-approver")
	screenshotTop(t, en, "audit-trail", "table.events", 1300)
	follow(t, en, "opening the cycles", `nav a[href="/cycles"]`, http.StatusOK)
	look(en, "cycles")
	cycle := fmt.Sprintf("/cycles/%s/%d", e.provider, yr)
	follow(t, en, "opening the report", `main a[href="`+cycle+`/report"]`, http.StatusOK)
	if got := textOf(t, en, "article.report"); !strings.Contains(got, "Supervision gaps in the workshop halls") || !strings.Contains(got, comment) {
		t.Error("the report does not trace NORTH's finding and the request for changes")
	}
	look(en, "report")

	// The export, downloaded into a folder of the test's.
	downloads := t.TempDir()
	dctx, cancel := context.WithTimeout(en, stepTimeout)
	defer cancel()
	progress := chromedp.Events(dctx, cdpbrowser.DownloadProgress)
	do(t, en, "downloading the audit export",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: new(true)})
			return err
		}),
		chromedp.Click(chromedp.CSS(`main a[href="`+cycle+`/audit-export"]`)))
	var file string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the export to download: %v", err)
		}
		if ev.State == cdpbrowser.DownloadProgressStateCanceled {
			t.Fatal("the export's download was cancelled")
		}
		if ev.State == cdpbrowser.DownloadProgressStateCompleted {
			file = filepath.Join(downloads, ev.GUID)
			break
		}
	}
	exported, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading the downloaded export: %v", err)
	}
	lines := parseExport(t, exported)
	if len(lines) < 3 || lines[0].Type != "export" || lines[0].Provider != e.provider || lines[0].Year != yr ||
		// The cycle, and each unit's review and its sign-offs of rounds 1 and 2.
		lines[len(lines)-1].Type != "end" || lines[len(lines)-1].AuditEvents == 0 || lines[len(lines)-1].Workflows != 1+3*len(units) {
		t.Errorf("the downloaded export is not a header, the events and workflows, and an end line: %d lines, first %+v, last %+v",
			len(lines), lines[0], lines[len(lines)-1])
	}
	checkConsole(t, en, "the report after the download")
	logout(en)
	t.Logf("the whole cycle by clicking took %s", time.Since(began).Round(time.Second))
}
