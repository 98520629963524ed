package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/oho-dev/oho/review"
)

// TestPlanSubstanceAcrossTwoYears runs what a provider adopting OHO does in
// its first two years, through the command line: it imports its current
// plan from Markdown (with North campus's annex), then runs two consecutive
// cycles with an indicator catalogue. In the first, drafts that do not say
// where the plan covers the legal-content checklist are refused, naming the
// item, and the editor defers a student feedback item of each unit. In the
// second, whose configuration lets an item be left uncovered with a reason,
// the deferred items come back and a draft that does not answer them is
// refused naming them; North finds something in its own annex and the draft
// changes the annex. The report of the second year shows the trend table
// across both years, each carried item's way through the cycles, and the
// checklist; the handbook shows the annex and the legal content.
func TestPlanSubstanceAcrossTwoYears(t *testing.T) {
	e := newEnv(t)
	addr := freeAddr(t)
	e.vars = append(e.vars, "OHO_BASE_URL=http://"+addr)
	e.startWorker()
	org := e.org()
	for _, p := range org["people"].([]map[string]any) {
		p["email"] = mailOf(p["id"].(string))
	}
	e.ok("org", "import", e.file("org.json", org))
	e.ok("plan", "import", "--provider", e.provider, "--as", "m.manager", "--effective", "2025-08-01", e.file("plan.md", currentPlan))
	id := func(year int, kind review.TaskKind, round int, unit string) string {
		return review.TaskID(e.provider, year, kind, round, unit)
	}
	values := map[int]map[string][]map[string]any{
		2026: {
			"NORTH":   {measured("SAFE", 80), measured("ABSENT", 9)},
			"HARBOUR": {measured("SAFE", 88), measured("ABSENT", 9)},
			"FOREST":  {measured("SAFE", 86), {"code": "ABSENT", "not_measured": true, "reason": "The register changed systems in March."}},
		},
		2027: {
			"NORTH":   {measured("SAFE", 86), measured("ABSENT", 7)},
			"HARBOUR": {measured("SAFE", 84), measured("ABSENT", 11)},
			"FOREST":  {measured("SAFE", 90), measured("ABSENT", 6)},
		},
	}
	annexFinding := map[string]any{"id": "F3", "section": "annex/NORTH", "severity": "major",
		"text": "North's welfare group has no contact list", "recommendation": "Post the contacts"}
	evaluateAndConsult := func(year int) {
		for _, u := range units {
			ev := evaluation(u)
			ev["indicators"] = values[year][u]
			if year == 2027 {
				ev["effectiveness"] = []map[string]any{{"change_id": "C1", "rating": "effective"}}
				if u == "NORTH" {
					ev["findings"] = append(ev["findings"].([]map[string]any), annexFinding)
				}
			}
			e.complete(id(year, review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", ev)
			e.complete(id(year, review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
		}
	}
	signAndApprove := func(year int) {
		for _, u := range units {
			sid := id(year, review.KindSignOff, 1, u)
			e.complete(sid, strings.ToLower(u)+".head", map[string]any{"decision": "approve", "version_hash": hashOf(e.waitTask(sid))})
		}
		e.complete(id(year, review.KindApprove, 1, ""), "r.approver", map[string]any{"decision": "approve", "effective_from": fmt.Sprintf("%d-08-01", year)})
		waitStatus(t, e, year, review.CycleCompleted)
	}

	// Year one, from the imported plan: the checklist must be covered,
	// every item.
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", "2026", "--config", e.file("c1.json", catalogueConfig("HARBOUR")))
	evaluateAndConsult(2026)
	draftID := id(2026, review.KindDraft, 1, "")
	task := e.waitTask(draftID)
	var in review.DraftInput
	if err := json.Unmarshal(task.Input, &in); err != nil || len(in.Checklist) != len(review.DefaultChecklist) {
		t.Fatalf("the draft task does not show the checklist: %v %s", err, task.Input)
	}
	deferring := draft(1)
	var dispositions []map[string]any
	for _, u := range units {
		dispositions = append(dispositions,
			map[string]any{"item": u + "/F1", "decision": "addressed", "change": "C1"},
			map[string]any{"item": u + "/S1", "decision": "deferred", "reason": "Counsellor hours are reorganised next year"})
	}
	deferring["dispositions"] = dispositions
	deferring["changes"] = deferring["changes"].([]map[string]any)[:1]

	uncovered := clone(deferring)
	delete(uncovered, "coverage")
	e.refusedOneLine("the legal-content checklist is not covered: say where the plan covers need_and_services", "task", "complete", draftID, "--as", "p.editor", "--outcome", e.file("d0.json", uncovered))
	partly := clone(deferring)
	partly["coverage"] = coverage(nil)[1:]
	e.refusedOneLine("say where the plan covers need_and_services (The overall need for student welfare and the student welfare services available)",
		"task", "complete", draftID, "--as", "p.editor", "--outcome", e.file("d1.json", partly))
	withReason := clone(deferring)
	cov := coverage(nil)
	cov[3] = map[string]any{"item": cov[3]["item"], "reason": "Crisis plans are in a separate document"}
	withReason["coverage"] = cov
	e.refusedOneLine(`"crises_threats" is left uncovered, but this provider's configuration requires every checklist item to be covered`,
		"task", "complete", draftID, "--as", "p.editor", "--outcome", e.file("d2.json", withReason))
	wrongSection := clone(deferring)
	cov = coverage(nil)
	cov[0] = map[string]any{"item": cov[0]["item"], "section": "canteen"}
	wrongSection["coverage"] = cov
	e.refused(1, `coverage[0].section "canteen" is not a section of the plan`, "task", "complete", draftID, "--as", "p.editor", "--outcome", e.file("d3.json", wrongSection))
	if n := e.count(`SELECT count(*) FROM plan_drafts`); n != 0 {
		t.Fatalf("refused drafts wrote %d drafts", n)
	}
	e.complete(draftID, "p.editor", deferring)

	// The sign-off shows where the checklist is covered.
	e.waitTask(id(2026, review.KindSignOff, 1, "NORTH"))
	show := e.ok("task", "show", id(2026, review.KindSignOff, 1, "NORTH"))
	if !strings.Contains(show, "legal-content checklist") || !strings.Contains(show, "violence_bullying") || !strings.Contains(show, "covered in communal") {
		t.Errorf("task show of a sign-off does not show the checklist:\n%s", show)
	}
	signAndApprove(2026)

	// Year two: the deferred items come back, and an item may be left
	// uncovered with a reason.
	c2 := strings.Replace(catalogueConfig("HARBOUR"), `{"phases"`, `{"checklist_reasons": true, "phases"`, 1)
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", "2027", "--config", e.file("c2.json", c2))
	evaluateAndConsult(2027)
	draftID = id(2027, review.KindDraft, 1, "")
	task = e.waitTask(draftID)
	in = review.DraftInput{}
	if err := json.Unmarshal(task.Input, &in); err != nil {
		t.Fatal(err)
	}
	var carried []string
	for _, it := range in.Items {
		if it.From != 0 {
			carried = append(carried, fmt.Sprintf("%s from %d deferred in %d (%s): %s", it.Ref, it.From, it.DeferredIn, it.Reason, it.Text))
		}
	}
	want := []string{}
	for _, u := range []string{"FOREST", "HARBOUR", "NORTH"} {
		want = append(want, "2026/"+u+"/S1 from 2026 deferred in 2026 (Counsellor hours are reorganised next year): Counsellor hours are hard to find")
	}
	if strings.Join(carried, "\n") != strings.Join(want, "\n") {
		t.Errorf("the year-two draft carries\n%s\nwant\n%s", strings.Join(carried, "\n"), strings.Join(want, "\n"))
	}
	// North's finding in its own annex is answered by a change of the annex.
	year2 := draft(1)
	annexText := "North's welfare group meets monthly.\nThe contact list is on the notice board by room 12."
	year2["changes"] = append(year2["changes"].([]map[string]any), map[string]any{"id": "C3", "section": "annex/NORTH", "text": annexText,
		"rationale": "North had no contact list", "addresses": []string{"NORTH/F3"}})
	year2["dispositions"] = append(year2["dispositions"].([]map[string]any), map[string]any{"item": "NORTH/F3", "decision": "addressed", "change": "C3"})
	e.refusedOneLine("these need a disposition (every major finding and every feedback item): 2026/FOREST/S1, 2026/HARBOUR/S1, 2026/NORTH/S1",
		"task", "complete", draftID, "--as", "p.editor", "--outcome", e.file("y2-0.json", year2))
	disp := year2["dispositions"].([]map[string]any)
	for _, u := range units {
		disp = append(disp, map[string]any{"item": "2026/" + u + "/S1", "decision": "addressed", "change": "C2"})
	}
	year2["dispositions"] = disp
	cov = coverage(nil)
	cov[3] = map[string]any{"item": cov[3]["item"], "reason": "Crisis plans are in a separate document"}
	year2["coverage"] = cov
	e.complete(draftID, "p.editor", year2)
	e.waitTask(id(2027, review.KindSignOff, 1, "NORTH"))
	show = e.ok("task", "show", id(2027, review.KindSignOff, 1, "NORTH"))
	if !strings.Contains(show, "NOT COVERED: Crisis plans are in a separate document") || !strings.Contains(show, "[annex/NORTH] North campus arrangements\n    "+annexText) {
		t.Errorf("task show of North's sign-off does not show the item left uncovered and North's changed annex:\n%s", show)
	}
	signAndApprove(2027)
	if n := e.count(`SELECT count(*) FROM dispositions d JOIN cycles c ON c.id = d.cycle_id
WHERE c.year = 2027 AND d.item_ref LIKE '2026/%' AND d.decision = 'addressed'`); n != 3 {
		t.Errorf("year two's dispositions of the carried items: got %d, want 3", n)
	}

	// The report of the second year: the trends of both years, each
	// carried item from the year that found it, and the checklist.
	report := e.ok("report", "--provider", e.provider, "--year", "2027")
	for _, want := range []string{
		"| Indicator | Unit | Target reached when the value is | 2026 | 2027 |",
		"| Koettu turvallisuus / Feels safe at school (SAFE) | `NORTH` | at or above the target | 80 % (target 85 %): not met | 86 % (target 85 %): met |",
		"| Poissaolot / Absences (ABSENT) | `FOREST` | at or below the target | not measured: The register changed systems in March. | 6 % (target 8 %): met |",
		"## 10. Items carried from earlier cycles",
		"| `2026/NORTH/S1` | student feedback | individual | Counsellor hours are hard to find | 2026 | 2026: deferred (Counsellor hours are reorganised next year) | addressed (round 1) by change C2 |",
		"## 11. The legal-content checklist",
		"| `violence_bullying` |",
		"| `crises_threats` | Acting in sudden crises and threatening situations | Toiminta äkillisissä kriisi- ja uhkatilanteissa | NOT COVERED: Crisis plans are in a separate document |",
		"| `NORTH/F3` | major finding | annex/NORTH | North's welfare group has no contact list |",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report of 2027 does not say %q", want)
		}
	}
	// Nothing came into the first year, whose draft covered every item.
	first := e.ok("report", "--provider", e.provider, "--year", "2026")
	if !strings.Contains(first, "## 10. Items carried from earlier cycles\n\nNone:") || !strings.Contains(first, "| `crises_threats` |") || strings.Contains(first, "NOT COVERED") {
		t.Errorf("the report of 2026 does not show that nothing was carried into it, and its checklist:\n%s", first[strings.Index(first, "## 10."):])
	}

	// The handbook of the second year's version (3: the import was 1):
	// North's annex after the common part, and the legal content.
	handbook := e.dir + "/handbook.md"
	e.ok("plan", "export", "--provider", e.provider, "--version", "3", "--format", "md", "--out", handbook)
	b, err := os.ReadFile(handbook)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Legal content", "NOT COVERED: Crisis plans are in a separate document", "### Annex NORTH: North campus arrangements", annexText} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the handbook of version 3 lacks %q", want)
		}
	}

	// The students' view: Forest's representative follows the item Forest
	// deferred in 2026 to its answer in 2027; North's sees North's only;
	// staff see every unit's.
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Shutdown() })
	srv := e.startServer(addr, "--oidc", e.file("idps.json", map[string]any{"identity_providers": []map[string]any{
		{"id": "staff", "provider": e.provider, "name": "Staff login", "issuer": idp.Issuer(), "client_id": idp.ClientID,
			"client_secret": idp.ClientSecret, "match": "email"}}}))
	login := func(person string) *browser {
		c := srv.client(t, person)
		c.loginOIDC(idp, &mockoidc.MockUser{Subject: "entra-" + person, Email: mailOf(person), EmailVerified: true}, "staff")
		return c
	}
	forest := login("forest.rep").get("/students")
	forest.says(t, "Forest's students' view", "<h1>Sanoitte, teimme</h1>", "2027, FOREST: sanoitte", "2026, FOREST: sanoitte",
		"Counsellor hours are hard to find", "asia siirrettiin seuraavan vuoden arviointiin, koska Counsellor hours are reorganised next year",
		"Vuonna 2027:", "suunnitelman osaa individual muutettiin sen vuoksi.", "Muutos on julkaistussa suunnitelmassa, versio 3:")
	if strings.Contains(forest.body, "NORTH") {
		t.Error("Forest's representative sees North's feedback")
	}
	if p := login("north.rep").get("/students"); !strings.Contains(p.body, "2027, NORTH: sanoitte") || strings.Contains(p.body, "FOREST") {
		t.Errorf("North's representative's view (%d) does not show North's feedback only", p.code)
	}
	if p := login("north.staff").get("/students"); p.code != http.StatusOK || !strings.Contains(p.body, "2026, FOREST") || !strings.Contains(p.body, "2026, NORTH") {
		t.Errorf("north.staff on the students' view: got %d, want every unit's feedback", p.code)
	}
}

// clone copies an outcome one level deep, so that a variant can drop or
// replace a field.
func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// waitStatus waits until the cycle of the year has the status.
func waitStatus(t *testing.T, e *env, year int, status string) {
	t.Helper()
	for i := 0; i < 300; i++ {
		var p review.Progress
		if err := json.Unmarshal([]byte(e.ok("cycle", "status", "--provider", e.provider, "--year", strconv.Itoa(year), "--json")), &p); err != nil {
			t.Fatal(err)
		}
		if p.Status == status {
			return
		}
		sleepBriefly()
	}
	t.Fatalf("the %d cycle did not become %s", year, status)
}

func sleepBriefly() { time.Sleep(100 * time.Millisecond) }
