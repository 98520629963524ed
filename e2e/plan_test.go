package e2e

import (
	"encoding/json"
	"fmt"
	"html"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
)

// checkPlanDocuments reads the plan the cycle published through 'plan show',
// 'plan diff' and 'plan export', and checks them against the database.
func checkPlanDocuments(t *testing.T, e *env, version int, hash string) {
	t.Helper()
	var content []byte
	if err := e.db.QueryRow(`SELECT content FROM plan_versions WHERE version = $1`, version).Scan(&content); err != nil {
		t.Fatal(err)
	}
	var plan review.PlanContent
	if err := json.Unmarshal(content, &plan); err != nil {
		t.Fatal(err)
	}
	if plan.Hash() != hash {
		t.Fatalf("the stored content hashes to %s, the version records %s", plan.Hash(), hash)
	}
	var signers []string
	if err := e.db.Select(&signers, `SELECT signer || ' ' || meaning FROM signoffs WHERE version_hash = $1
UNION ALL SELECT approver || ' ' || meaning FROM approvals WHERE version_hash = $1 AND decision = 'approve'`, hash); err != nil {
		t.Fatal(err)
	}
	if len(signers) != len(units)+1 {
		t.Fatalf("the database has signatures %v of the published hash, want every unit head's and the approval", signers)
	}
	// When each was signed, as the report and the handbook must both show
	// it: in the provider's time zone, written the same way.
	var signedAt []time.Time
	if err := e.db.Select(&signedAt, `SELECT signed_at FROM signoffs WHERE version_hash = $1
UNION ALL SELECT signed_at FROM approvals WHERE version_hash = $1 AND decision = 'approve'`, hash); err != nil {
		t.Fatal(err)
	}
	var zone string
	if err := e.db.Get(&zone, `SELECT time_zone FROM providers WHERE code = $1`, e.provider); err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	var signedShown []string
	for _, at := range signedAt {
		signedShown = append(signedShown, render.When(at, loc, render.English))
	}
	var year int
	if err := e.db.Get(&year, `SELECT c.year FROM plan_versions pv JOIN cycles c ON c.id = pv.cycle_id WHERE pv.content_hash = $1`, hash); err != nil {
		t.Fatal(err)
	}
	report := e.ok("report", "--provider", e.provider, "--year", strconv.Itoa(year))
	for _, s := range append(signedShown, "Times are given in the time zone "+zone+".") {
		if !strings.Contains(report, s) {
			t.Errorf("report: got no %q, the time of a signature of the published version in %s", s, zone)
		}
	}

	var shown struct {
		Version    int                `json:"version"`
		Hash       string             `json:"hash"`
		Content    review.PlanContent `json:"content"`
		Signatures []struct {
			Signer  string `json:"signer"`
			Meaning string `json:"meaning"`
			Hash    string `json:"hash"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal([]byte(e.ok("plan", "show", "--provider", e.provider, "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Version != version || shown.Hash != hash || shown.Content.Hash() != hash || len(shown.Signatures) != len(signers) {
		t.Errorf("plan show: got version %d hash %s with %d signatures", shown.Version, shown.Hash, len(shown.Signatures))
	}
	for _, sig := range shown.Signatures {
		if sig.Hash != hash {
			t.Errorf("plan show: the signature of %s names hash %s, not the version's", sig.Signer, sig.Hash)
		}
	}
	if out := e.ok("plan", "show", "--provider", e.provider); !strings.Contains(out, "content SHA-256  "+hash) {
		t.Errorf("plan show: got\n%s", out)
	}

	for _, format := range []string{"md", "html"} {
		file := e.dir + "/plan." + format
		e.ok("plan", "export", "--provider", e.provider, "--version", "1", "--format", format, "--out", file)
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(b)
		front := doc[:strings.Index(doc, "Contents")]
		wants := append([]string{"Version", "1 Aug 2026", hash, zone}, signedShown...)
		for _, sig := range signers {
			wants = append(wants, strings.SplitN(sig, " ", 2)...) // the signer and the meaning
		}
		for _, want := range wants {
			if !strings.Contains(front, want) {
				t.Errorf("plan export --format %s: the first page lacks %q", format, want)
			}
		}
		for _, s := range plan.Sections {
			text := s.Text
			if format == "html" {
				text = html.EscapeString(text)
			}
			if !strings.Contains(doc, s.Title) || !strings.Contains(doc, text) {
				t.Errorf("plan export --format %s lacks section %s or its text", format, s.Key)
			}
		}
	}
	if out := e.ok("plan", "diff", "--provider", e.provider, "--from", "1", "--to", "1"); !strings.Contains(out, "the two versions have the same sections and text") {
		t.Errorf("plan diff of a version with itself: got\n%s", out)
	}
	e.refused(1, "has no plan version 2", "plan", "show", "--provider", e.provider, "--version", "2")
	e.refused(1, "has no plan version 7", "plan", "diff", "--provider", e.provider, "--from", "1", "--to", "7")
	e.refused(1, `provider "NOPLAN" has not been imported`, "plan", "show", "--provider", "NOPLAN")
	e.refused(2, "plan export needs --format md or --format html", "plan", "export", "--provider", e.provider, "--format", "pdf", "--out", e.dir+"/x")
	e.refused(2, "plan export needs --out FILE", "plan", "export", "--provider", e.provider, "--format", "md")
	e.refused(2, "plan diff needs --from VERSION and --to VERSION", "plan", "diff", "--provider", e.provider, "--from", "1")
	e.refused(2, "plan show needs --provider", "plan", "show")
}

// planCycle runs a cycle of the test provider through the command line in one
// round: every unit evaluates (rating the previous cycle's changes, if any)
// and consults, the editor drafts, every unit head signs off, the approver
// approves from effective.
func (e *env) planCycle(yr int, config any, rated []string, changes []map[string]any, dispositions []map[string]any, effective string) {
	e.t.Helper()
	id := func(kind review.TaskKind, round int, unit string) string {
		return review.TaskID(e.provider, yr, kind, round, unit)
	}
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", strconv.Itoa(yr), "--config", e.file(fmt.Sprintf("config-%d.json", yr), config))
	for _, u := range units {
		eval := evaluation(u)
		var ratings []map[string]any
		for _, c := range rated {
			ratings = append(ratings, map[string]any{"change_id": c, "rating": "partly", "note": "Seen in " + u})
		}
		eval["effectiveness"] = ratings
		e.complete(id(review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", eval)
		e.complete(id(review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}
	e.complete(id(review.KindDraft, 1, ""), "p.editor", map[string]any{"changes": changes, "dispositions": dispositions, "coverage": coverage(sectionKeys(config))})
	for _, u := range units {
		sid := id(review.KindSignOff, 1, u)
		e.complete(sid, strings.ToLower(u)+".head", map[string]any{"decision": "approve", "version_hash": hashOf(e.waitTask(sid))})
	}
	e.complete(id(review.KindApprove, 1, ""), "r.approver", map[string]any{"decision": "approve", "effective_from": effective})
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM plan_versions WHERE cycle_id = $1`, review.CycleID(e.provider, yr)) == 0 {
		if time.Now().After(deadline) {
			e.t.Fatalf("the %d cycle did not publish within 30s", yr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// storedPlan reads a published version's content and hash from the database.
func (e *env) storedPlan(version int) (review.PlanContent, string) {
	e.t.Helper()
	var raw []byte
	var hash string
	if err := e.db.QueryRow(`SELECT content, content_hash FROM plan_versions WHERE version = $1`, version).Scan(&raw, &hash); err != nil {
		e.t.Fatal(err)
	}
	var c review.PlanContent
	if err := json.Unmarshal(raw, &c); err != nil {
		e.t.Fatal(err)
	}
	if c.Hash() != hash {
		e.t.Fatalf("version %d: the stored content hashes to %s, the version records %s", version, c.Hash(), hash)
	}
	return c, hash
}

// TestPlanVersionsThroughCommandLine publishes two versions through the
// command line, the second on sections the cycle's config renames, drops and
// adds, and reads them back with plan show, diff and export.
func TestPlanVersionsThroughCommandLine(t *testing.T) {
	e := newEnv(t)
	e.startWorker()
	e.ok("org", "import", e.file("org.json", e.org()))
	e.refused(1, "has no published plan", "plan", "show", "--provider", e.provider)
	e.refused(1, "has no published plan", "plan", "export", "--provider", e.provider, "--format", "md", "--out", e.dir+"/none.md")

	phases := map[string]string{"evaluate": "2h", "consult": "2h", "update": "1h", "signoff": "1h", "approve": "1h"}
	var disp1, disp2 []map[string]any
	for _, u := range units {
		disp1 = append(disp1, map[string]any{"item": u + "/F1", "decision": "addressed", "change": "C1"},
			map[string]any{"item": u + "/S1", "decision": "addressed", "change": "C2"})
		disp2 = append(disp2, map[string]any{"item": u + "/F1", "decision": "addressed", "change": "C3"},
			map[string]any{"item": u + "/S1", "decision": "deferred", "reason": "Counsellor hours are reviewed with the new intranet."})
	}
	e.planCycle(2026, map[string]any{"phases": phases}, nil, []map[string]any{
		{"id": "C1", "section": "communal", "text": "Two supervisors at every break.\nThe rota is posted on Mondays.", "rationale": "Supervision gaps"},
		{"id": "C2", "section": "individual", "text": "Counsellor hours are posted weekly.", "rationale": "Students cannot find the hours"},
	}, disp1, "2026-08-01")

	// The second cycle renames cooperation, drops common_practices and adds digital.
	sections := []map[string]string{
		{"key": "welfare_need", "title": "Overall welfare need and services"},
		{"key": "communal", "title": "Communal welfare"},
		{"key": "individual", "title": "Individual welfare"},
		{"key": "cooperation", "title": "Cooperation with students, guardians and partners"},
		{"key": "digital", "title": "Digital welfare services"},
		{"key": "monitoring", "title": "Implementation and monitoring"},
	}
	e.planCycle(2027, map[string]any{"phases": phases, "sections": sections}, []string{"C1", "C2"}, []map[string]any{
		{"id": "C3", "section": "communal", "text": "Two supervisors at every break.\nThe campus head owns the rota.\nThe rota is posted on Mondays.", "rationale": "The rota had no owner"},
		{"id": "C4", "section": "digital", "text": "Counselling can be booked online <24/7> & by phone.", "rationale": "Students asked for online booking"},
	}, disp2, "2027-08-01")

	v1, hash1 := e.storedPlan(1)
	v2, hash2 := e.storedPlan(2)

	// plan show: the latest by default, any version on request.
	if out := e.ok("plan", "show", "--provider", e.provider); !strings.Contains(out, "version 2\n") || !strings.Contains(out, "content SHA-256  "+hash2) ||
		!strings.Contains(out, "effective from   2027-08-01") || !strings.Contains(out, "5. Digital welfare services\nCounselling can be booked online <24/7> & by phone.\n") {
		t.Errorf("plan show: got\n%s", out)
	}
	if out := e.ok("plan", "show", "--provider", e.provider, "--version", "1"); !strings.Contains(out, "content SHA-256  "+hash1) ||
		!strings.Contains(out, "2. Communal welfare\n"+v1.Sections[1].Text+"\n") {
		t.Errorf("plan show --version 1: got\n%s", out)
	}

	// plan diff --json: section by section, and the line diff leads from one text to the other.
	var diff struct {
		Sections []struct {
			Key      string `json:"key"`
			Change   string `json:"change"`
			OldTitle string `json:"old_title"`
			NewTitle string `json:"new_title"`
			Lines    []struct{ Op, Text string }
		} `json:"sections"`
		Changes []struct {
			Version   int    `json:"version"`
			ChangeID  string `json:"change_id"`
			Rationale string `json:"rationale"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(e.ok("plan", "diff", "--provider", e.provider, "--from", "1", "--to", "2", "--json")), &diff); err != nil {
		t.Fatal(err)
	}
	texts := func(c review.PlanContent) map[string]string {
		m := map[string]string{}
		for _, s := range c.Sections {
			m[s.Key] = s.Text
		}
		return m
	}
	old, cur := texts(v1), texts(v2)
	var got []string
	for _, d := range diff.Sections {
		got = append(got, d.Key+" "+d.Change)
		var before, after []string
		for _, l := range d.Lines {
			if l.Op != "+" {
				before = append(before, l.Text)
			}
			if l.Op != "-" {
				after = append(after, l.Text)
			}
		}
		if len(d.Lines) > 0 && (strings.Join(before, "\n") != old[d.Key] || strings.Join(after, "\n") != cur[d.Key]) {
			t.Errorf("the line diff of %s does not lead from the stored text %q to %q: %+v", d.Key, old[d.Key], cur[d.Key], d.Lines)
		}
		if d.Change == "unchanged" && old[d.Key] != cur[d.Key] {
			t.Errorf("%s is called unchanged, but its text is %q in version 1 and %q in version 2", d.Key, old[d.Key], cur[d.Key])
		}
	}
	want := "[welfare_need unchanged communal changed individual unchanged cooperation renamed digital added monitoring unchanged common_practices removed]"
	if fmt.Sprint(got) != want {
		t.Errorf("plan diff: got %v, want %s", got, want)
	}
	var rationales []string
	if err := e.db.Select(&rationales, `SELECT change_id || ' ' || rationale FROM plan_changes pc JOIN plan_versions pv
ON pv.cycle_id = pc.cycle_id AND pv.round = pc.round WHERE pv.version = 2 ORDER BY change_id`); err != nil {
		t.Fatal(err)
	}
	var shownChanges []string
	for _, c := range diff.Changes {
		shownChanges = append(shownChanges, c.ChangeID+" "+c.Rationale)
	}
	if len(rationales) != 2 || fmt.Sprint(shownChanges) != fmt.Sprint(rationales) {
		t.Errorf("plan diff names changes %v, the database %v", shownChanges, rationales)
	}
	out := e.ok("plan", "diff", "--provider", e.provider, "--from", "1", "--to", "2")
	for _, want := range []string{
		"version 1 (" + hash1[:12] + "…) → version 2 (" + hash2[:12] + "…)",
		"communal (Communal welfare): changed\n      Two supervisors at every break.\n    + The campus head owns the rota.\n      The rota is posted on Mondays.\n",
		`cooperation: renamed "Cooperation with students and guardians" → "Cooperation with students, guardians and partners"`,
		"digital (Digital welfare services): added\n    + Counselling can be booked online <24/7> & by phone.\n",
		"common_practices (Common practices across units): removed",
		"welfare_need: unchanged",
		"version 2, C3 (communal): The rota had no owner",
		"version 2, C4 (digital): Students asked for online booking",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan diff does not say %q:\n%s", want, out)
		}
	}

	// plan export of each version: its own hash and signatures, every section.
	for _, v := range []struct {
		n       int
		content review.PlanContent
		hash    string
		other   string
	}{{1, v1, hash1, hash2}, {2, v2, hash2, hash1}} {
		for _, format := range []string{"md", "html"} {
			file := fmt.Sprintf("%s/plan-v%d.%s", e.dir, v.n, format)
			e.ok("plan", "export", "--provider", e.provider, "--version", strconv.Itoa(v.n), "--format", format, "--out", file)
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			doc := string(b)
			if strings.Contains(doc, v.other) || strings.Count(doc, v.hash) != 2+len(units) {
				t.Errorf("export of version %d (%s): want its hash on the first page and in each of the %d signatures, and never the other version's", v.n, format, len(units)+1)
			}
			for _, s := range v.content.Sections {
				text := s.Text
				switch format {
				case "html":
					text = html.EscapeString(text)
				case "md":
					text = strings.NewReplacer("<", `\<`, ">", `\>`, "&", `\&`).Replace(text)
				}
				if !strings.Contains(doc, s.Title) || !strings.Contains(doc, text) {
					t.Errorf("export of version %d (%s) lacks section %s or its text %q", v.n, format, s.Key, text)
				}
			}
		}
	}
	e.refused(1, "has no plan version 3", "plan", "diff", "--provider", e.provider, "--from", "2", "--to", "3")
	e.refused(1, `provider "NOSUCH" has not been imported`, "plan", "diff", "--provider", "NOSUCH", "--from", "1", "--to", "2")
	e.refused(1, `provider "NOSUCH" has not been imported`, "plan", "export", "--provider", "NOSUCH", "--format", "html", "--out", e.dir+"/x.html")
}

// sectionKeys are the keys of the sections a cycle config names, or nil
// when it names none (the plan's own are kept).
func sectionKeys(config any) []string {
	m, ok := config.(map[string]any)
	if !ok {
		return nil
	}
	sections, _ := m["sections"].([]map[string]string)
	var keys []string
	for _, s := range sections {
		keys = append(keys, s["key"])
	}
	return keys
}
