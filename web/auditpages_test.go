package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// auditFixture is a provider with two imported plan versions and a running
// cycle whose evaluations are done, beside another provider: what the
// auditor's pages read, without Temporal.
func auditFixture(t *testing.T) (*httptest.Server, *sqlx.DB, func(person string) *http.Client) {
	t.Helper()
	ctx := context.Background()
	db, _ := dbtest.New(t)
	st := store.New(db)
	for _, p := range []string{"ACME", "BETA"} {
		if _, err := st.ImportOrg(ctx, store.ActorOperator, dbtest.Org(p)); err != nil {
			t.Fatal(err)
		}
	}
	// Student representatives log in through MPASSid; here, with a local
	// account, which needs an address for the invitation.
	if _, err := db.Exec(`UPDATE people SET email = 'rep.north@acme.example' WHERE id = 'acme.rep.north'`); err != nil {
		t.Fatal(err)
	}
	v1 := review.PlanContent{}.Reshape(review.DefaultSections).Apply([]review.Change{
		{Section: "communal", Text: "Two supervisors at every break."},
		{Section: "individual", Text: "The nurse is in on weekdays."},
	})
	v2 := v1.Apply([]review.Change{{Section: "communal", Text: "Two supervisors at every break.\nThe rota is posted on Mondays."}})
	for i, c := range []review.PlanContent{v1, v2} {
		if _, err := st.ImportPlan(ctx, store.PlanImport{Provider: "ACME", Content: c, EffectiveFrom: "2026-08-0" + string(rune('1'+i)), ImportedBy: "acme.manager", Over: i}); err != nil {
			t.Fatal(err)
		}
	}
	id := review.CycleID("ACME", 2027)
	if _, err := st.SetupCycle(ctx, review.SetupCycleInput{CycleID: id, Provider: "ACME", Year: 2027}); err != nil {
		t.Fatal(err)
	}
	for _, unit := range []string{"NORTH", "SOUTH"} {
		task := review.TaskSpec{ID: review.TaskID("ACME", 2027, review.KindEvaluate, 0, unit), CycleID: id, WorkflowID: review.UnitReviewID(id, unit),
			Kind: review.KindEvaluate, Unit: unit, Role: review.RoleWelfareStaff, DueAt: time.Now().Add(time.Hour)}
		if _, err := st.OpenTasks(ctx, review.OpenTasksInput{CycleID: id, Phase: review.PhaseEvaluate, Tasks: []review.TaskSpec{task}}); err != nil {
			t.Fatal(err)
		}
		outcome := `{"findings": [{"id": "F1", "section": "communal", "severity": "major", "text": "Supervision <gaps> in ` + unit + `"}]}`
		if err := st.CompleteTask(ctx, review.CompleteTaskInput{Task: task, Actor: "acme.nurse." + strings.ToLower(unit), Outcome: json.RawMessage(outcome)}); err != nil {
			t.Fatal(err)
		}
	}
	svc := service.New(service.Config{Store: st})
	s, err := New(Config{Service: svc, DB: db.DB, BaseURL: "http://127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, db, func(person string) *http.Client { return loggedIn(t, ts, db, svc, person) }
}

// htmlPage is a page fetched in a test.
type htmlPage struct {
	code   int
	header http.Header
	body   string
}

func fetch(t *testing.T, c *http.Client, base, path string) htmlPage {
	t.Helper()
	resp, err := c.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return htmlPage{resp.StatusCode, resp.Header, string(b)}
}

func (p htmlPage) says(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Errorf("%s (%d) does not say %q", what, p.code, s)
		}
	}
	if inlineScriptOrStyle(p.body) {
		t.Errorf("%s has inline script or style", what)
	}
}

var pageLinks = regexp.MustCompile(`<a href="(/audit[^"]*)"[^>]*>([^<]+)</a>`)

// link returns the address of the page's link with the text, unescaped.
func (p htmlPage) link(text string) string {
	for _, m := range pageLinks.FindAllStringSubmatch(p.body, -1) {
		if m[2] == text {
			return strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	return ""
}

var seqCells = regexp.MustCompile(`<th scope="row">(\d+)</th>`)

// TestAuditorPages reads the auditor's pages over HTTP in both languages:
// the trail with the chain verified, its filters and pages; the cycles; a
// report in a page of ours and as documents; the plan versions, a diff and
// a handbook; and the refusals of people of another provider and of a
// student representative, as pages.
func TestAuditorPages(t *testing.T) {
	ts, db, login := auditFixture(t)
	auditor := login("acme.auditor")
	get := func(path string) htmlPage { return fetch(t, auditor, ts.URL, path) }

	trail := get("/audit")
	trail.says(t, "the audit trail", `<html lang="fi">`, "<h1>Tapahtumaloki</h1>", "<strong>Ehjä.</strong>", `href="/audit"`, "org.imported", "provider/ACME",
		`<label for="audit-action">`, `<option value="task.completed">`, "verkkoistunto")
	if trail.code != 200 || strings.Contains(trail.body, "provider/BETA") {
		t.Errorf("the trail (%d) shows BETA's events", trail.code)
	}

	// Filters: only the completions, and those of a time span.
	done := get("/audit?action=task.completed")
	if n := strings.Count(done.body, "<code>task.completed</code>"); n != 2 || strings.Contains(done.body, "<code>task.opened</code>") {
		t.Errorf("?action=task.completed shows %d completions, or other actions:\n%s", n, done.body)
	}
	done.says(t, "the filtered trail", `<option value="task.completed" selected>`)
	if p := get("/audit?action=task.completed&to=2020-01-01"); strings.Contains(p.body, "<code>task.completed</code>") || !strings.Contains(p.body, "Yksikään tapahtuma ei vastaa rajauksia.") {
		t.Error("a span that ended in 2020 shows today's events")
	}
	today := time.Now().In(time.UTC)
	if p := get("/audit?action=task.completed&from=" + today.AddDate(0, 0, -1).Format("2.1.2006") + "&to=" + today.AddDate(0, 0, 1).Format("2006-01-02")); strings.Count(p.body, "<code>task.completed</code>") != 2 {
		t.Errorf("a span around today does not show today's two completions:\n%s", p.body)
	}

	// Pages of five: page 2 differs from page 1, and "previous" leads back.
	first := get("/audit?per=5")
	next := first.link("Seuraava sivu")
	if next == "" || !strings.Contains(next, "per=5") {
		t.Fatalf("the first page of five has no next page keeping the size: %q\n%s", next, first.body)
	}
	second := get(next)
	seqs := func(p htmlPage) string {
		return regexp.MustCompile(`\s+`).ReplaceAllString(strings.Join(flatten(seqCells.FindAllStringSubmatch(p.body, -1)), " "), " ")
	}
	if seqs(second) == seqs(first) || len(seqCells.FindAllString(second.body, -1)) == 0 {
		t.Errorf("page 2 (%s) is page 1 (%s)", seqs(second), seqs(first))
	}
	prev := second.link("Edellinen sivu")
	if second.link("Ensimmäinen sivu") == "" || first.link("Edellinen sivu") != "" {
		t.Error("page 2 has no link to the first, or page 1 has a previous page")
	}
	if back := get(prev); prev == "" || seqs(back) != seqs(first) {
		t.Errorf("previous from page 2 (%q) gave %s, want page 1 %s", prev, seqs(back), seqs(first))
	}
	last := get(first.link("Viimeinen sivu"))
	if last.link("Seuraava sivu") != "" || last.link("Edellinen sivu") == "" {
		t.Errorf("the last page has a next page or no previous one")
	}

	// Bad filters: shown next to their fields, nothing else read.
	bad := get("/audit?year=twenty&from=31.2.2027&actor=Bad+Actor")
	if bad.code != http.StatusUnprocessableEntity {
		t.Errorf("bad filters: got %d, want 422", bad.code)
	}
	bad.says(t, "the trail with bad filters", `id="audit-year-error">twenty ei ole vuosiluku`, `href="#audit-from"`, `value="twenty"`, `aria-invalid="true"`)
	for _, tt := range []struct{ query, says string }{
		{"actor=Bad+Actor", `id="audit-actor-error" lang="en">actor &#34;Bad Actor&#34; is not a person ID`},
		{"action=DROP+TABLE", `id="audit-action-error" lang="en">action &#34;DROP TABLE&#34; is not the name of an action`},
		{"from=2027-03-02&to=2027-03-01", `id="audit-to-error" lang="en">the end of the time span must be after its start`},
		{"after=x", "x ei ole kohta lokissa"},
		{"per=5000", `id="audit-per-error">5000 ei ole tapahtumien määrä väliltä 1–500`},
	} {
		p := get("/audit?" + tt.query)
		if p.code != http.StatusUnprocessableEntity || strings.Contains(p.body, "<code>org.imported</code>") {
			t.Errorf("?%s: got %d, want 422 and no events", tt.query, p.code)
		}
		p.says(t, "?"+tt.query, tt.says)
	}

	// The CSV of the filter.
	csv := get("/audit.csv?action=task.completed")
	if csv.code != 200 || !strings.HasPrefix(csv.header.Get("Content-Disposition"), "attachment") || strings.Count(csv.body, "task.completed") != 2 {
		t.Errorf("the CSV of the completions: %d %q\n%s", csv.code, csv.header.Get("Content-Disposition"), csv.body)
	}

	// The cycles and the report.
	cycles := get("/cycles")
	cycles.says(t, "the cycles", "<h1>Arviointikierrokset</h1>", "ACME 2027", "käynnissä: arviointi ja kuuleminen",
		`href="/cycles/ACME/2027/report"`, `href="/cycles/ACME/2027/workflows"`, `href="/cycles/ACME/2027/audit-export"`)
	report := get("/cycles/ACME/2027/report")
	report.says(t, "the report page", "<h1>Jäljitettävyysraportti: ACME 2027</h1>", `<article class="report" lang="en"`,
		"IN PROGRESS", "Supervision &lt;gaps&gt; in NORTH", `<th scope="col">Item</th>`, "<caption class=\"visually-hidden\">3. From finding and feedback to the published plan</caption>",
		`href="/cycles/ACME/2027/report?format=md"`)
	md := get("/cycles/ACME/2027/report?format=md")
	if md.code != 200 || md.header.Get("Content-Disposition") != `attachment; filename="report-ACME-2027.md"` || !strings.HasPrefix(md.body, "# Traceability report") {
		t.Errorf("the report's Markdown: %d %q", md.code, md.header.Get("Content-Disposition"))
	}
	doc := get("/cycles/ACME/2027/report?format=html")
	if doc.code != 200 || doc.header.Get("Content-Security-Policy") != documentPolicy || !strings.Contains(doc.body, "<style>") {
		t.Errorf("the report's document: %d, policy %q", doc.code, doc.header.Get("Content-Security-Policy"))
	}
	// The workflows and the export need Temporal, which this server has not.
	if p := get("/cycles/ACME/2027/workflows"); p.code != http.StatusServiceUnavailable || !strings.Contains(p.body, "no Temporal connection") {
		t.Errorf("the workflows without Temporal: got %d\n%s", p.code, p.body)
	}

	// The plan's versions, a diff and a handbook.
	plans := get("/plans/ACME")
	plans.says(t, "the plan versions", "<h1>Suunnitelman versiot: ACME</h1>", "1.8.2026", `<th scope="row">2</th>`, `<th scope="row">1</th>`,
		"toi Quality Manager (acme.manager)", `<label for="diff-from">`, `<option value="1" selected>`, `href="/plans/ACME/handbook?version=1"`)
	diff := get("/plans/ACME/diff?from=1&to=2")
	diff.says(t, "the diff", "Versio 1 → versio 2", "<code>communal</code>: <span class=\"change change-changed\">muutettu</span>",
		"lisätty rivi:", "The rota is posted on Mondays.", "ennallaan")
	badDiff := get("/plans/ACME/diff?from=1&to=9")
	if badDiff.code != http.StatusNotFound || !strings.Contains(badDiff.body, "has no plan version 9") || !strings.Contains(badDiff.body, `<label for="diff-to">`) {
		t.Errorf("a diff with a version that does not exist: %d\n%s", badDiff.code, badDiff.body)
	}
	hb := get("/plans/ACME/handbook?version=2")
	if hb.code != 200 || hb.header.Get("Content-Security-Policy") != documentPolicy || !strings.Contains(hb.body, "The rota is posted on Mondays.") {
		t.Errorf("the handbook of version 2: %d %q", hb.code, hb.header.Get("Content-Security-Policy"))
	}

	// In English, the choice remembered with the account.
	resp, err := auditor.PostForm(ts.URL+"/language", url.Values{"lang": {"en"}, "back": {"/audit?action=task.completed"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	en := htmlPage{resp.StatusCode, resp.Header, string(b)}
	en.says(t, "the trail in English", `<html lang="en">`, "<h1>Audit trail</h1>", "<strong>Intact.</strong>", "every hash was recomputed and matches",
		`<label for="audit-actor">Who</label>`, `<option value="task.completed" selected>`, "Download every event that matches the filters as CSV")
	fetch(t, auditor, ts.URL, "/plans/ACME").says(t, "the plan versions in English", "1 Aug 2026", "imported by Quality Manager (acme.manager)")

	// Refusals, as pages in the service's words.
	stranger := login("beta.auditor")
	for _, path := range []string{"/audit?provider=ACME", "/cycles/ACME/2027/report", "/cycles/ACME/2027/report?format=md", "/cycles/ACME/2027/workflows",
		"/cycles/ACME/2027/audit-export", "/plans/ACME", "/plans/ACME/diff?from=1&to=2", "/plans/ACME/handbook?version=1", "/audit.csv?provider=ACME"} {
		p := fetch(t, stranger, ts.URL, path)
		if p.code != http.StatusForbidden || !strings.Contains(p.body, "<h1>Tätä ei voitu tehdä</h1>") || !strings.Contains(p.body, "ACME") ||
			strings.Contains(p.body, "Supervision") || strings.Contains(p.body, "Quality Manager") {
			t.Errorf("beta.auditor GET %s: got %d, want a refusal page naming ACME:\n%s", path, p.code, p.body)
		}
	}
	if p := fetch(t, stranger, ts.URL, "/cycles"); p.code != 200 || strings.Contains(p.body, "ACME 2027") {
		t.Errorf("beta.auditor's cycles (%d) show ACME's", p.code)
	}
	rep := login("acme.rep.north")
	for _, path := range []string{"/audit", "/cycles", "/cycles/ACME/2027/report"} {
		if p := fetch(t, rep, ts.URL, path); p.code != http.StatusForbidden {
			t.Errorf("a student representative GET %s: got %d, want 403", path, p.code)
		}
	}
	repInbox := fetch(t, rep, ts.URL, "/")
	if strings.Contains(repInbox.body, `href="/audit"`) {
		t.Error("a student representative's nav links to the audit trail")
	}
	if !strings.Contains(trail.body, `<a href="/audit" aria-current="page">Tapahtumaloki</a>`) {
		t.Error("the auditor's nav does not link to the audit trail")
	}

	// An event altered around the database's refusals, as a superuser
	// could: the trail says where the chain breaks, in words.
	for _, q := range []string{`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete`,
		`UPDATE audit_events SET subject = 'provider/TAMPERED' WHERE seq = 3`,
		`ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	broken := fetch(t, login("acme.manager"), ts.URL, "/audit")
	broken.says(t, "the trail of a broken chain", `<p class="error" role="alert"><strong>RIKKI.</strong>`, "Ketju katkeaa tapahtuman 3 kohdalla",
		`<span lang="en">its fields hash to`, "(the event was altered)")
	if strings.Contains(broken.body, "Ehjä.") {
		t.Error("a broken chain is called intact")
	}
}

func flatten(ms [][]string) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m[1]
	}
	return out
}
