package e2e

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/oho-dev/oho/review"
)

// page is an HTML answer.
type page struct {
	code int
	url  string
	body string
}

// get fetches a page, following redirects.
func (c *browser) get(path string) page {
	c.t.Helper()
	resp, err := c.http.Get(c.base + path)
	if err != nil {
		c.t.Fatalf("%s GET %s: %v", c.name, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Request.URL.RequestURI(), string(b)}
}

// post submits a form as a browser does, following the redirect after it.
func (c *browser) post(path string, form url.Values) page {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s POST %s: %v", c.name, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Request.URL.RequestURI(), string(b)}
}

// says fails the test unless the page has each text.
func (p page) says(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Errorf("%s (%d, %s) does not say %q", what, p.code, p.url, s)
		}
	}
}

// TestTaskFormsThroughPages completes a unit's evaluation and consultation
// through the pages' plain HTML forms, as a browser without JavaScript
// does: the inbox in Finnish, the language switch remembered with the
// account, a refused evaluation shown again with what was typed and each
// problem next to its field in the service's words, a row added, the
// accepted evaluation recorded; a person of another provider refused the
// task's page.
func TestTaskFormsThroughPages(t *testing.T) {
	w := newWebWorld(t, webOptions{
		people: []map[string]any{personOf("north.rep2", "Second rep, NORTH", "student_rep", "NORTH")},
		others: []map[string]any{personOf("x.staff", "Other Staff", "welfare_staff", "MAIN")}})
	e, srv := w.env, w.srv
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", "2026", "--config", e.file("config.json", catalogueConfig("HARBOUR")))
	evalID := review.TaskID(e.provider, 2026, review.KindEvaluate, 0, "NORTH")
	e.waitTask(evalID)
	taskURL := "/tasks/" + url.PathEscape(evalID)

	// Nobody logged in: to the login page, in Finnish unless the browser
	// asks for English.
	anon := srv.client(t, "anonymous")
	anon.get("/healthz").says(t, "/healthz", "ok")
	if r := anon.get("/readyz"); r.code != http.StatusOK {
		t.Errorf("/readyz with the database and Temporal up: %d %s", r.code, r.body)
	} else {
		r.says(t, "/readyz", `"ready":true`, `"name":"database","ready":true`, `"name":"temporal","ready":true`)
	}
	anon.get("/").says(t, "the inbox without a session", `<html lang="fi">`, "<h1>Kirjaudu</h1>", "Login of "+e.provider)

	staff := w.login("north.staff")
	inbox := staff.get("/")
	inbox.says(t, "north.staff's inbox", `<html lang="fi">`, "<h1>Tehtäväni</h1>", `href="`+taskURL+`"`, "Arviointi", "Siirry sisältöön")

	// The evaluation form: the catalogue with this unit's targets.
	form := staff.get(taskURL)
	form.says(t, "the evaluate task's page", "Koettu turvallisuus", "tavoite vähintään 85 %", "Poissaolot", "tavoite enintään 8 %",
		`name="f-2-text"`, "Lähetä arviointi")

	// Refused: a value that is no number, and a finding without a section;
	// what was typed comes back, escaped.
	typed := url.Values{"findings": {"3"}, "action": {"complete"},
		"ind-0-value": {"80"}, "ind-1-value": {"paljon"},
		"f-0-severity": {"major"}, "f-0-text": {"<script>alert(1)</script> Supervision gaps"}}
	refused := staff.post(taskURL, typed)
	if refused.code != http.StatusUnprocessableEntity {
		t.Fatalf("a form with a value that is no number: got %d, want 422:\n%s", refused.code, refused.body)
	}
	refused.says(t, "the refused form", `id="ind-1-value-error">paljon ei ole luku`, `href="#ind-1-value"`, `value="paljon"`,
		"&lt;script&gt;alert(1)&lt;/script&gt; Supervision gaps", `aria-invalid="true"`)
	if strings.Contains(refused.body, "<script>alert(1)") {
		t.Error("the refused form shows the typed text unescaped")
	}
	typed.Set("ind-1-value", "9,5")
	refused = staff.post(taskURL, typed)
	if refused.code != http.StatusUnprocessableEntity {
		t.Fatalf("a finding without a section: got %d, want 422:\n%s", refused.code, refused.body)
	}
	// A missing section breaks a validation tag: said in Finnish, next to
	// the field, named by its label.
	refused.says(t, "the form refused by the validation", `id="f-0-section-error">Suunnitelman osa (havainto F1): pakollinen tieto puuttuu</span>`,
		`<li><a href="#f-0-section">Suunnitelman osa (havainto F1): pakollinen tieto puuttuu</a></li>`, `value="9,5"`)
	// A section the plan does not have breaks a rule of the cycle's: the
	// rule's sentence is the service's English, marked so, next to the field.
	typed.Set("f-0-section", "no_such_section")
	refused = staff.post(taskURL, typed)
	if refused.code != http.StatusUnprocessableEntity {
		t.Fatalf("a finding about a section the plan does not have: got %d, want 422:\n%s", refused.code, refused.body)
	}
	refused.says(t, "the form refused by the rules", `id="f-0-section-error" lang="en">findings[0].section`, `<li lang="en"><a href="#f-0-section">findings[0].section`,
		`value="9,5"`)
	typed.Set("f-0-section", "")
	if n := e.count(`SELECT count(*) FROM findings`); n != 0 {
		t.Fatalf("refused forms recorded %d findings", n)
	}

	// Add a row: the form again with four finding rows and what was typed.
	typed.Set("action", "more")
	more := staff.post(taskURL, typed)
	more.says(t, "the form with a row added", `name="f-3-text"`, "Supervision gaps")

	// Accepted.
	typed.Set("action", "complete")
	typed.Set("findings", "4")
	typed.Set("f-0-section", "communal")
	typed.Set("f-0-text", "Supervision gaps in the workshop halls")
	typed.Set("f-0-rec", "Extend the rota")
	done := staff.post(taskURL, typed)
	if done.code != http.StatusOK || done.url != "/?done="+url.QueryEscape(evalID) {
		t.Fatalf("the accepted evaluation: got %d at %s, want the inbox:\n%s", done.code, done.url, done.body)
	}
	done.says(t, "the inbox after the evaluation", "Tehtävä "+evalID+" on tehty ja kirjattu.")
	var stored struct {
		Section, Severity, Text string
	}
	if err := e.db.Get(&stored, `SELECT section, severity, text FROM findings WHERE unit_code = 'NORTH'`); err != nil ||
		stored.Section != "communal" || stored.Severity != "major" || stored.Text != "Supervision gaps in the workshop halls" {
		t.Errorf("the recorded finding: %+v (%v)", stored, err)
	}
	if n := e.count(`SELECT count(*) FROM indicators WHERE unit_code = 'NORTH' AND (code, value) IN (('SAFE', 80), ('ABSENT', 9.5))`); n != 2 {
		t.Errorf("recorded %d of NORTH's two catalogue values", n)
	}
	staff.get(taskURL).says(t, "the done task's page", "tehty", "north.staff")

	// The language switch, remembered with the account.
	en := staff.post("/language", url.Values{"lang": {"en"}, "back": {"/"}})
	en.says(t, "the inbox after switching to English", `<html lang="en">`, "<h1>My tasks</h1>")
	if n := e.count(`SELECT count(*) FROM accounts WHERE person_id = 'north.staff' AND language = 'en'`); n != 1 {
		t.Error("the language chosen is not remembered with the account")
	}
	again := w.login("north.staff")
	again.get("/").says(t, "a new session of north.staff", `<html lang="en">`)

	// The consultation by its form, with a feedback item.
	// The consultation: taken from the pool, passed to another unit's rep
	// (refused, in the inbox), then to the unit's other rep, who sends it.
	first := w.login("north.rep")
	consultURL := "/tasks/" + url.PathEscape(review.TaskID(e.provider, 2026, review.KindConsult, 0, "NORTH"))
	first.get("/").says(t, "north.rep's inbox", "Tehtävät, jotka voit ottaa", `action="`+consultURL+`/claim"`)
	first.post(consultURL+"/claim", url.Values{}).says(t, "the inbox after taking the consultation", `action="`+consultURL+`/delegate"`, "Minulle osoitetut tehtävät")
	wrong := first.post(consultURL+"/delegate", url.Values{"to": {"harbour.rep"}})
	if wrong.code < 400 {
		t.Errorf("passing NORTH's consultation to harbour.rep: got %d, want a refusal", wrong.code)
	}
	wrong.says(t, "the refused delegation", `<p class="error" role="alert" lang="en">`, "harbour.rep", `value="harbour.rep"`)
	first.post(consultURL+"/delegate", url.Values{"to": {"north.rep2"}}).says(t, "the inbox after passing it on", "Sinulla ei ole avoimia tehtäviä.")
	rep := w.login("north.rep2")
	rep.get("/").says(t, "north.rep2's inbox", `href="`+consultURL+`"`)
	rep.get(consultURL).says(t, "the consult task's page", "Älä nimeä ketään opiskelijaa", "north.rep2")
	bad := rep.post(consultURL, url.Values{"feedback": {"2"}, "action": {"complete"}, "method": {"survey"}, "participants": {"many"},
		"held_on": {"2026-03-10"}, "s-0-section": {"individual"}, "s-0-text": {"Counsellor hours are hard to find"}})
	bad.says(t, "the refused consultation", `id="participants-error">many ei ole luku`)
	ok := rep.post(consultURL, url.Values{"feedback": {"2"}, "action": {"complete"}, "method": {"survey"}, "participants": {"48"},
		"held_on": {"2026-03-10"}, "s-0-section": {"individual"}, "s-0-text": {"Counsellor hours are hard to find"}})
	ok.says(t, "the inbox after the consultation", "on tehty ja kirjattu")
	if n := e.count(`SELECT count(*) FROM feedback_items WHERE unit_code = 'NORTH'`); n != 1 {
		t.Errorf("the consultation recorded %d feedback items, want 1", n)
	}

	// A person of another provider: no task of this provider by changing
	// the address.
	stranger := w.login("x.staff")
	p := stranger.get(taskURL)
	if p.code != http.StatusForbidden || !regexp.MustCompile(`<html lang="(fi|en)">`).MatchString(p.body) {
		t.Errorf("x.staff opening %s: got %d, want a 403 page:\n%s", taskURL, p.code, p.body)
	}
	if strings.Contains(p.body, "Supervision gaps") {
		t.Error("the refusal page shows the other provider's evaluation")
	}

	// A form from another site is refused.
	req, _ := http.NewRequest("POST", srv.base+taskURL, strings.NewReader("action=complete"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := staff.http.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site form post: got %v %v, want 403", resp.StatusCode, err)
	}
}

// TestDraftFormThroughPages has the plan editor draft through the page: the
// plan in force beside the editor, every item that needs an answer and the
// checklist listed as still missing, an empty draft refused with the
// service's words, an item "addressed" by a section left unchanged refused
// next to it, and a whole draft accepted; the sign-off task then has the
// changed text.
func TestDraftFormThroughPages(t *testing.T) {
	w := newWebWorld(t, webOptions{})
	e := w.env
	e.ok("plan", "import", "--provider", e.provider, "--as", "m.manager", "--effective", "2025-08-01", e.file("plan.md", currentPlan))
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", "2026", "--config",
		e.file("config.json", `{"phases": {"evaluate": "2h", "consult": "2h", "update": "1h", "signoff": "1h", "approve": "1h"}}`))
	for _, u := range units {
		e.complete(review.TaskID(e.provider, 2026, review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", evaluation(u))
		e.complete(review.TaskID(e.provider, 2026, review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}
	draftID := review.TaskID(e.provider, 2026, review.KindDraft, 1, "")
	e.waitTask(draftID)
	draftURL := "/tasks/" + url.PathEscape(draftID)

	editor := w.login("p.editor")
	form := editor.get(draftURL)
	form.says(t, "the draft page", "Suunnitelman luonnos", "Nyt voimassa", "Two supervisors at every break.", "North&#39;s welfare group meets monthly.",
		"Vielä puuttuu", "<code>NORTH/F1</code>", "<code>FOREST/S1</code>", "<code>violence_bullying</code>", "vaatii vastauksen",
		`name="sec-0-text"`, `name="ck-6-section"`)
	// Which row is which: the plan's parts in order, the items as the task
	// lists them.
	var in review.DraftInput
	if err := json.Unmarshal(e.waitTask(draftID).Input, &in); err != nil {
		t.Fatal(err)
	}
	parts := in.Plan.Parts()
	row := func(key string) int {
		for i, p := range parts {
			if p.Key == key {
				return i
			}
		}
		t.Fatalf("no section %s in the plan", key)
		return -1
	}
	values := url.Values{"action": {"complete"}}
	for i, p := range parts {
		values.Set(fmt.Sprintf("sec-%d-text", i), strings.ReplaceAll(p.Text, "\n", "\r\n"))
	}
	// Nothing answered: refused in the service's words.
	empty := editor.post(draftURL, values)
	if empty.code != http.StatusUnprocessableEntity {
		t.Fatalf("an empty draft: got %d, want 422", empty.code)
	}
	empty.says(t, "the empty draft refused", "Korjaa nämä ja lähetä uudelleen", "need a disposition")

	// Answers: each F1 by a change of communal, each S1 by a change of
	// individual; first with individual left unchanged, refused next to it.
	for i, it := range in.Items {
		switch {
		case strings.HasSuffix(it.Ref, "/F1"):
			values.Set(fmt.Sprintf("it-%d-decision", i), "addressed")
			values.Set(fmt.Sprintf("it-%d-change", i), "communal")
		case strings.HasSuffix(it.Ref, "/S1"):
			values.Set(fmt.Sprintf("it-%d-decision", i), "addressed")
			values.Set(fmt.Sprintf("it-%d-change", i), "individual")
		}
	}
	for i, c := range in.Checklist {
		values.Set(fmt.Sprintf("ck-%d-section", i), c.Section)
		values.Set(fmt.Sprintf("ck-%d-note", i), "See the section.")
	}
	values.Set(fmt.Sprintf("sec-%d-text", row("communal")), "Two supervisors at every break,\r\nalso in the workshop halls.")
	values.Set(fmt.Sprintf("sec-%d-why", row("communal")), "Supervision findings")
	unchanged := editor.post(draftURL, values)
	if unchanged.code != http.StatusUnprocessableEntity {
		t.Fatalf("an item addressed by an unchanged section: got %d, want 422", unchanged.code)
	}
	unchanged.says(t, "the draft with an unchanged section", "on merkitty korjatuksi osan individual muutoksella", "also in the workshop halls.")
	values.Set(fmt.Sprintf("sec-%d-text", row("individual")), "The nurse is in on weekdays.\r\n\r\nCounsellor hours are posted weekly.")
	values.Set(fmt.Sprintf("sec-%d-why", row("individual")), "Student feedback")
	done := editor.post(draftURL, values)
	if done.code != http.StatusOK || !strings.Contains(done.body, "on tehty ja kirjattu") {
		t.Fatalf("the whole draft: got %d at %s:\n%s", done.code, done.url, done.body)
	}
	sign := e.waitTask(review.TaskID(e.provider, 2026, review.KindSignOff, 1, "NORTH"))
	if sign.Draft == nil {
		t.Fatal("the sign-off task has no draft")
	}
	if text, _ := sign.Draft.Content.Text("communal"); text != "Two supervisors at every break,\nalso in the workshop halls." {
		t.Errorf("the drafted communal section is %q", text)
	}
	if n := e.count(`SELECT count(*) FROM plan_changes`); n != 2 {
		t.Errorf("the draft recorded %d changes, want 2", n)
	}

	// North's head sends it back: round 2's form starts from round 1's
	// draft, texts, answers and checklist, with the request above it; sent
	// as it is, with one section changed, it is accepted.
	e.complete(review.TaskID(e.provider, 2026, review.KindSignOff, 1, "NORTH"), "north.head",
		map[string]any{"decision": "request_changes", "version_hash": hashOf(sign), "comment": "Name who owns the rota."})
	round2 := review.TaskID(e.provider, 2026, review.KindDraft, 2, "")
	e.waitTask(round2)
	round2URL := "/tasks/" + url.PathEscape(round2)
	again := editor.get(round2URL)
	again.says(t, "round 2's draft page", "Lomakkeella on valmiina kierroksen 1 luonnos", "Name who owns the rota.",
		">Two supervisors at every break,\nalso in the workshop halls.</textarea>", `<option value="addressed" selected>`, `value="See the section."`)
	if strings.Contains(again.body, "Vielä puuttuu") {
		t.Error("round 2's form, filled from round 1's draft, still lists something missing")
	}
	values = url.Values{"action": {"complete"}}
	for _, m := range regexp.MustCompile(`(?s)<textarea id="(sec-\d+-text)"[^>]*>(.*?)</textarea>`).FindAllStringSubmatch(again.body, -1) {
		values.Set(m[1], html.UnescapeString(m[2]))
	}
	for _, m := range regexp.MustCompile(`<input id="((?:sec|it|ck)-\d+-(?:why|reason|note))" name="[^"]+" value="([^"]*)"`).FindAllStringSubmatch(again.body, -1) {
		values.Set(m[1], html.UnescapeString(m[2]))
	}
	for _, m := range regexp.MustCompile(`(?s)<select id="((?:it|ck)-\d+-(?:decision|change|section))".*?</select>`).FindAllStringSubmatch(again.body, -1) {
		if sel := regexp.MustCompile(`<option value="([^"]*)" selected>`).FindStringSubmatch(m[0]); sel != nil {
			values.Set(m[1], sel[1])
		}
	}
	values.Set(fmt.Sprintf("sec-%d-text", row("communal")), "Two supervisors at every break,\r\nalso in the workshop halls.\r\nEach campus head names the rota's owner.")
	if done := editor.post(round2URL, values); done.code != http.StatusOK || !strings.Contains(done.body, "on tehty ja kirjattu") {
		t.Fatalf("round 2's draft, sent from the form as it opened: got %d at %s:\n%s", done.code, done.url, done.body)
	}
	if n := e.count(`SELECT count(*) FROM plan_changes WHERE round = 2`); n != 2 {
		t.Errorf("round 2 recorded %d changes, want the 2 of round 1 again", n)
	}
}

// inlineScriptOrStyle says whether a page has script or style the
// Content-Security-Policy would refuse: a <script> without src, a <style>
// element or a style attribute. Scripts from the site's own files are fine.
func inlineScriptOrStyle(body string) bool {
	if strings.Contains(body, "<style") || strings.Contains(body, "style=") {
		return true
	}
	for rest := body; ; {
		i := strings.Index(rest, "<script")
		if i < 0 {
			return false
		}
		tag, _, _ := strings.Cut(rest[i:], ">")
		if !strings.Contains(tag, " src=") {
			return true
		}
		rest = rest[i+len("<script"):]
	}
}
