package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
)

// postedHash reads the hash a sign-off page's form posts back.
var postedHash = regexp.MustCompile(`name="version_hash" value="([0-9a-f]{64})"`)

// TestSignOffAndApprovalThroughPages runs a cycle to the sign-off through
// the command line, from an imported plan, and signs it through the pages'
// plain HTML forms: a unit head reads the draft as a diff against the
// version in force (a changed section, North's changed annex, a finding's
// markup escaped), the hash and the legal-content checklist; another unit's
// head is refused North's sign-off; a request for changes without a comment
// is refused next to the field, a stale hash in the summary, and one with a
// comment sends the draft back, superseding the other sign-offs; in round 2
// every unit head approves through the page; the approver reads the
// round's sign-offs, is refused a date written "1.8.2026" next to the date
// field, approves with a good one, and the plan is published with that
// date and the signed hash.
func TestSignOffAndApprovalThroughPages(t *testing.T) {
	w := newWebWorld(t, webOptions{})
	e := w.env
	e.ok("plan", "import", "--provider", e.provider, "--as", "m.manager", "--effective", "2025-08-01", e.file("plan.md", currentPlan))

	// To the sign-off through the command line, with a finding whose text
	// holds markup, and a draft that also rewrites North's annex.
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year)
	for _, u := range units {
		ev := evaluation(u)
		if u == "NORTH" {
			ev["findings"].([]map[string]any)[0]["text"] = "<script>alert(1)</script> Supervision gaps in NORTH"
		}
		e.complete(e.taskID(review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", ev)
		e.complete(e.taskID(review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}
	withAnnex := func(round int) map[string]any {
		d := draft(round)
		d["changes"] = append(d["changes"].([]map[string]any), map[string]any{"id": "C3", "section": "annex/NORTH",
			"text": "North's welfare group meets weekly.", "rationale": "North's head asked for it", "addresses": []string{}})
		return d
	}
	e.complete(e.taskID(review.KindDraft, 1, ""), "p.editor", withAnnex(1))
	north1 := e.taskID(review.KindSignOff, 1, "NORTH")
	hash1 := hashOf(e.waitTask(north1))
	north1URL := "/tasks/" + url.PathEscape(north1)

	// North's head reads what they sign.
	head := w.login("north.head")
	pg := head.get(north1URL)
	if pg.code != http.StatusOK {
		t.Fatalf("north.head opening %s: got %d:\n%s", north1URL, pg.code, pg.body)
	}
	pg.says(t, "North's round 1 sign-off page", "<h1>Hyväksyntä yksikössä: NORTH</h1>", hash1,
		`name="version_hash" value="`+hash1+`"`, "Luonnosta verrataan suunnitelman versioon 1, joka on voimassa 1.8.2025 alkaen.",
		"Muuttuneita osia: 3", "Ennallaan olevia osia: 4",
		"Communal welfare <span class=\"change-word change-changed\">(muuttunut)</span>",
		"North campus arrangements <span class=\"change-word change-changed\">(muuttunut)</span>",
		"<span class=\"mark\" aria-hidden=\"true\">−</span>Two supervisors at every break.</del>",
		"<span class=\"mark\" aria-hidden=\"true\">+</span>Two supervisors at every break (round 1).</ins>",
		"<strong>Muutos C1</strong> (osa communal)", "Perustelu: Supervision findings",
		"<strong>NORTH/F1</strong> — havainto, vakava: &lt;script&gt;alert(1)&lt;/script&gt; Supervision gaps in NORTH",
		"<strong>Muutos C3</strong> (osa annex/NORTH)", "Vastaat suunnitelman yhteisestä osasta ja yksikön NORTH liitteestä",
		"<th scope=\"row\">Yhteisöllinen opiskeluhuolto ja sen toimintatavat</th>", "Communal welfare: See the section.",
		`<label class="inline" for="decision-request_changes">`)
	if strings.Contains(pg.body, "<script>alert(1)") {
		t.Error("the sign-off page shows the finding's text unescaped")
	}
	if strings.Contains(pg.body, "Yksiköiden hyväksynnät") {
		t.Error("a sign-off page shows the round's sign-offs, which only the approval shows")
	}

	// Harbour's head may read North's sign-off but not sign it.
	harbourHead := w.login("harbour.head")
	refused := harbourHead.post(north1URL, url.Values{"decision": {"approve"}, "version_hash": {hash1}})
	if refused.code != http.StatusForbidden {
		t.Fatalf("harbour.head signing North's sign-off: got %d, want a 403 page:\n%s", refused.code, refused.body)
	}
	refused.says(t, "the refusal of harbour.head", "Tätä ei voitu tehdä", `&#34;harbour.head&#34; may not complete task `+north1)

	// A request for changes without a comment: refused next to the field,
	// with what was chosen kept.
	bad := head.post(north1URL, url.Values{"decision": {"request_changes"}, "comment": {"  "}, "version_hash": {hash1}})
	if bad.code != http.StatusUnprocessableEntity {
		t.Fatalf("a request for changes without a comment: got %d, want 422:\n%s", bad.code, bad.body)
	}
	bad.says(t, "the refused request for changes", `href="#comment"`,
		`<span class="field-error" id="comment-error" lang="en">request_changes needs a comment saying what should change</span>`,
		`aria-describedby="comment-hint comment-error" aria-invalid="true"`, `value="request_changes" id="decision-request_changes" checked`)
	// A hash other than the draft's: refused, and the page says why.
	stale := head.post(north1URL, url.Values{"decision": {"approve"}, "version_hash": {strings.Repeat("ab", 32)}})
	if stale.code != http.StatusUnprocessableEntity {
		t.Fatalf("a sign-off of another hash: got %d, want 422:\n%s", stale.code, stale.body)
	}
	stale.says(t, "the refused stale sign-off", "is not the current draft&#39;s", "Lomake ei vastannut tämän tehtävän luonnosta",
		`name="version_hash" value="`+hash1+`"`)
	if n := e.count(`SELECT count(*) FROM signoffs`); n != 0 {
		t.Fatalf("refused sign-offs recorded %d signatures", n)
	}

	// With a comment: the draft goes back, the other sign-offs are closed.
	done := head.post(north1URL, url.Values{"decision": {"request_changes"}, "comment": {"Name the rota owner"}, "version_hash": {hash1}})
	if done.code != http.StatusOK || done.url != "/?done="+url.QueryEscape(north1) {
		t.Fatalf("the request for changes: got %d at %s, want the inbox:\n%s", done.code, done.url, done.body)
	}
	done.says(t, "the inbox after the request", "Tehtävä "+north1+" on tehty ja kirjattu.")
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM tasks WHERE id = ANY($1) AND status = 'superseded'`,
		"{"+e.taskID(review.KindSignOff, 1, "HARBOUR")+","+e.taskID(review.KindSignOff, 1, "FOREST")+"}") != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the other round 1 sign-offs were not superseded after the request for changes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	head.get(north1URL).says(t, "the done sign-off's page", "Kirjattu päätös", "muutoksia pyydetty", "Name the rota owner")

	// Round 2: every unit head approves through the page.
	e.complete(e.taskID(review.KindDraft, 2, ""), "p.editor", withAnnex(2))
	var hash2 string
	for _, u := range units {
		id := e.taskID(review.KindSignOff, 2, u)
		e.waitTask(id)
		c := head
		if u != "NORTH" {
			c = w.login(strings.ToLower(u) + ".head")
		}
		p := c.get("/tasks/" + url.PathEscape(id))
		m := postedHash.FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("%s's round 2 sign-off page has no hash to post:\n%s", u, p.body)
		}
		hash2 = m[1]
		p.says(t, u+"'s round 2 sign-off page", "Two supervisors at every break (round 2).")
		ok := c.post("/tasks/"+url.PathEscape(id), url.Values{"decision": {"approve"}, "version_hash": {hash2}})
		if ok.code != http.StatusOK || ok.url != "/?done="+url.QueryEscape(id) {
			t.Fatalf("%s's head approving round 2: got %d at %s:\n%s", u, ok.code, ok.url, ok.body)
		}
	}
	if hash2 == hash1 {
		t.Fatal("round 2's draft has round 1's hash")
	}

	// The approver reads the round's sign-offs, gets a date wrong, approves.
	approveID := e.taskID(review.KindApprove, 2, "")
	e.waitTask(approveID)
	approveURL := "/tasks/" + url.PathEscape(approveID)
	approver := w.login("r.approver")
	ap := approver.get(approveURL)
	ap.says(t, "the approval page", "<h1>Vahvistaminen</h1>", hash2, "Yksikönjohtajien allekirjoitukset, kierros 2",
		"Head of NORTH (north.head)", "Head of HARBOUR (harbour.head)", "Head of FOREST (forest.head)",
		`<span lang="en">approved for unit NORTH: the common part and NORTH&#39;s annex</span>`,
		`<span lang="en">approved for unit HARBOUR: the common part (HARBOUR has no annex)</span>`,
		`id="effective_from" name="effective_from" type="date"`, "Lakisääteinen sisältö")
	if strings.Contains(ap.body, `name="version_hash"`) {
		t.Error("the approval's form posts a hash, which an approval does not take")
	}
	badDate := approver.post(approveURL, url.Values{"decision": {"approve"}, "effective_from": {"1.8.2026"}, "comment": {"For the board"}})
	if badDate.code != http.StatusUnprocessableEntity {
		t.Fatalf("an approval dated 1.8.2026: got %d, want 422:\n%s", badDate.code, badDate.body)
	}
	badDate.says(t, "the refused approval", `href="#effective_from"`,
		`<span class="field-error" id="effective_from-error">Voimaantulopäivä: anna päivämäärä muodossa VVVV-KK-PP, esimerkiksi 2026-03-10 (annettu ”1.8.2026”)</span>`,
		`<li><a href="#effective_from">Voimaantulopäivä: anna päivämäärä muodossa VVVV-KK-PP`,
		`aria-describedby="effective_from-hint effective_from-error" aria-invalid="true"`, "For the board")
	approved := approver.post(approveURL, url.Values{"decision": {"approve"}, "effective_from": {"2026-08-01"}, "comment": {"For the board"}})
	if approved.code != http.StatusOK || approved.url != "/?done="+url.QueryEscape(approveID) {
		t.Fatalf("the approval: got %d at %s:\n%s", approved.code, approved.url, approved.body)
	}

	// Published: version 2, with the signed hash and the date given.
	deadline = time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM plan_versions WHERE version = 2 AND content_hash = $1 AND effective_from = '2026-08-01' AND source = 'cycle'`, hash2) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the approved draft was not published as version 2 effective from 2026-08-01")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := e.count(`SELECT count(*) FROM signoffs WHERE round = 2 AND decision = 'approve' AND version_hash = $1`, hash2); n != 3 {
		t.Errorf("round 2 has %d sign-offs of its hash, want 3", n)
	}
	approver.get(approveURL).says(t, "the done approval's page", "Kirjattu päätös", "hyväksytty", "1.8.2026",
		// After publication the draft is still compared with the version it changed.
		"Luonnosta verrataan suunnitelman versioon 1")
}
