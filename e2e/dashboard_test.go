package e2e

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
)

// TestManagerDashboard steers a provider's cycles through the manager's
// dashboard, as a browser without JavaScript does, against the real server,
// worker, Temporal and PostgreSQL: two finished cycles with an indicator
// catalogue drawn as charts with their tables; a cycle started from the
// dashboard's form (refusals next to their fields with what was typed
// kept), its units' progress, an overdue task with its holder reassigned
// (refused without a reason), another extended, the cycle cancelled with a
// reason; the yearly schedule set (a date refused) and deleted. A person
// who is not a manager is refused the dashboard and every form, and a
// manager of another provider cannot act on this provider's cycle by
// changing the address.
func TestManagerDashboard(t *testing.T) {
	w := newWebWorld(t, webOptions{others: []map[string]any{personOf("x.manager", "Other Manager", "manager", "")}})
	e, other := w.env, w.other
	deleteScheduleAtEnd(t, dialTemporal(t), e.provider)
	// expect fails the test unless the page has the status.
	expect := func(p page, code int, what string) {
		t.Helper()
		if p.code != code {
			t.Fatalf("%s: got %d at %s, want %d:\n%s", what, p.code, p.url, code, p.body)
		}
		if inlineScriptOrStyle(p.body) {
			t.Errorf("%s: the page has inline style or script", what)
		}
	}

	// Two finished cycles with the indicator catalogue, through the command
	// line.
	startByHand := func(yr int) {
		e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", strconv.Itoa(yr),
			"--config", e.file("config.json", catalogueConfig("HARBOUR")))
	}
	startByHand(2026)
	e.catalogueCycle(2026, map[string][]map[string]any{
		"NORTH":   {measured("SAFE", 80), measured("ABSENT", 9)},
		"HARBOUR": {measured("SAFE", 88), measured("ABSENT", 9)},
		"FOREST":  {measured("SAFE", 86), {"code": "ABSENT", "not_measured": true, "reason": "The register changed systems in March."}},
	}, nil)
	startByHand(2027)
	e.catalogueCycle(2027, map[string][]map[string]any{
		"NORTH":   {measured("SAFE", 86), measured("ABSENT", 7)},
		"HARBOUR": {measured("SAFE", 84), measured("ABSENT", 11)},
		"FOREST":  {measured("SAFE", 90), measured("ABSENT", 6.5)},
	}, map[string][]map[string]any{
		"NORTH":   {{"change_id": "C1", "rating": "effective"}, {"change_id": "C2", "rating": "effective"}},
		"HARBOUR": {{"change_id": "C1", "rating": "partly"}, {"change_id": "C2", "rating": "effective"}},
		"FOREST":  {{"change_id": "C1", "rating": "effective"}, {"change_id": "C2", "rating": "effective"}},
	})

	// The manager: the dashboard in the nav, the cycles by year, and each
	// indicator as a chart followed by its table, both years.
	manager := w.login("m.manager")
	manager.get("/").says(t, "the manager's inbox", `<a href="/dashboard">Ohjausnäkymä</a>`)
	dash := manager.get("/dashboard")
	expect(dash, http.StatusOK, "the dashboard")
	dash.says(t, "the dashboard with two finished cycles", "<h1>Ohjausnäkymä: "+e.provider+"</h1>", `aria-current="page"`,
		`<th scope="row">2027</th>`, `<th scope="row">2026</th>`, "valmis", "julkaistu",
		`role="img" aria-labelledby="trend-1-title trend-1-desc"`, `<title id="trend-1-title">Poissaolot (ABSENT) yksiköittäin, 2026–2027</title>`,
		`<title id="trend-2-title">Koettu turvallisuus (SAFE) yksiköittäin, 2026–2027</title>`,
		"Poissaolot (ABSENT): arvot ja tavoitteet yksiköittäin ja vuosittain",
		`<tr><th scope="row">NORTH</th><td>2026</td><td>9 %</td><td>enintään 8 %</td><td>ei saavutettu</td></tr>`,
		`<tr><th scope="row">NORTH</th><td>2027</td><td>7 %</td><td>enintään 8 %</td><td>saavutettu</td></tr>`,
		`<tr><th scope="row">HARBOUR</th><td>2027</td><td>11 %</td><td>enintään 10 %</td><td>ei saavutettu</td></tr>`,
		`<tr><th scope="row">FOREST</th><td>2026</td><td>—</td><td>enintään 8 %</td><td>ei mitattu: The register changed systems in March.</td></tr>`,
		`<tr><th scope="row">FOREST</th><td>2027</td><td>6,5 %</td><td>enintään 8 %</td><td>saavutettu</td></tr>`,
		`<tr><th scope="row">NORTH</th><td>2026</td><td>80 %</td><td>vähintään 85 %</td><td>ei saavutettu</td></tr>`,
		"Yksikään tehtävä ei ole myöhässä.", "Järjestäjällä ei ole vuosiaikataulua", `value="2028"`)
	if n := strings.Count(dash.body, "<svg "); n != 2 {
		t.Errorf("the dashboard has %d charts, want one per indicator (2)", n)
	}

	// Starting a cycle: refusals shown next to their fields, what was typed
	// kept.
	startURL := "/dashboard/cycles/" + e.provider
	typed := url.Values{"year": {"1999"}, "evaluate": {"5s"}, "consult": {"1h"}, "update": {"1h"}, "signoff": {"1h"},
		"approve": {"1h"}, "before": {"2s"}, "every": {"1h"}, "max_rounds": {"2"}}
	refused := manager.post(startURL, typed)
	expect(refused, http.StatusUnprocessableEntity, "a cycle for 1999")
	refused.says(t, "the start refused for 1999", `id="start-year-error" lang="en">year 1999 is not a year between 2000 and 2999</span>`,
		`href="#start-year"`, `id="start-year" name="year" value="1999"`, `aria-invalid="true"`, `name="evaluate" value="5s"`,
		`name="max_rounds" value="2"`)
	typed.Set("year", "2028")
	typed.Set("evaluate", "pian")
	refused = manager.post(startURL, typed)
	expect(refused, http.StatusUnprocessableEntity, "a duration that is none")
	refused.says(t, "the start refused for its duration", `id="start-evaluate-error">pian ei ole kesto`)
	typed.Set("evaluate", "5s")
	typed.Set("config", `{"phases": {"evaluate": "2h"}, "colour": "blue"}`)
	refused = manager.post(startURL, typed)
	expect(refused, http.StatusUnprocessableEntity, "a configuration with an unknown field")
	refused.says(t, "the start refused for its JSON", `id="start-config-error">Asetukset (JSON): tuntematon kenttä ”colour” (vain ohjeissa kuvatut kentät hyväksytään)</span>`,
		`<a href="#start-config">Asetukset (JSON): tuntematon kenttä ”colour”`,
		`<details open>`, "colour")
	if n := e.count(`SELECT count(*) FROM cycles WHERE year = 2028`); n != 0 {
		t.Fatalf("refused starts recorded %d cycles", n)
	}
	typed.Del("config")
	started := manager.post(startURL, typed)
	expect(started, http.StatusOK, "the cycle started")
	if started.url != "/dashboard?done=started&year=2028" {
		t.Errorf("after starting: at %s, want the dashboard with a notice", started.url)
	}
	started.says(t, "the dashboard after starting", "Vuoden 2028 arviointikierros on aloitettu.")

	// Progress unit by unit: NORTH's students consulted, every evaluation
	// soon overdue (due in 5 s).
	task := func(kind review.TaskKind, unit string) string { return review.TaskID(e.provider, 2028, kind, 0, unit) }
	harbourEval, northEval := task(review.KindEvaluate, "HARBOUR"), task(review.KindEvaluate, "NORTH")
	for _, u := range units {
		e.waitTask(task(review.KindEvaluate, u))
		e.waitTask(task(review.KindConsult, u))
	}
	e.complete(task(review.KindConsult, "NORTH"), "north.rep", consultation())
	deadline := time.Now().Add(time.Minute)
	for {
		dash = manager.get("/dashboard")
		if strings.Count(dash.body, "MYÖHÄSSÄ") >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the evaluations were not shown overdue within a minute:\n%s", dash.body)
		}
		time.Sleep(500 * time.Millisecond)
	}
	harbourSteer := "/dashboard/tasks/" + url.PathEscape(harbourEval)
	northSteer := "/dashboard/tasks/" + url.PathEscape(northEval)
	dash.says(t, "the dashboard of the running cycle", "Vuoden 2028 arviointikierros on käynnissä",
		"arviointi ja opiskelijoiden kuuleminen", "Yksiköiden eteneminen vuonna 2028",
		`<th scope="row" id="unit-2028-2">NORTH</th>`, `max="2" value="1"`, "2 tehtävästä 1 tehty", "2 tehtävästä 0 tehty",
		"Myöhässä olevat tehtävät, aikaisin määräaika ensin", "kuka tahansa: welfare_staff@HARBOUR",
		`href="`+harbourSteer+`"`, "Siirrä tai jatka määräaikaa", "Peru vuoden 2028 arviointikierros")

	// The task's own page, where an escalation's mail leads, links here.
	manager.get("/tasks/"+url.PathEscape(harbourEval)).says(t, "the task page for a manager",
		`<a href="`+harbourSteer+`">Siirrä tai jatka määräaikaa</a>`)

	// Reassigning the overdue HARBOUR evaluation: the role's holders listed,
	// refused without a reason, then given to someone of another unit.
	steer := manager.get(harbourSteer)
	expect(steer, http.StatusOK, "the steering page")
	steer.says(t, "the steering page of HARBOUR's evaluation", "MYÖHÄSSÄ", "kuka tahansa: welfare_staff@HARBOUR",
		`<option value="harbour.staff">harbour.staff</option>`)
	noReason := manager.post(harbourSteer+"/reassign", url.Values{"to": {"harbour.staff"}, "reason": {" "}})
	expect(noReason, http.StatusUnprocessableEntity, "a reassignment without a reason")
	noReason.says(t, "the reassignment refused", `id="reassign-reason-error" lang="en">reassign needs a reason</span>`,
		`<option value="harbour.staff" selected>`, `href="#reassign-reason"`)
	if n := e.count(`SELECT count(*) FROM tasks WHERE id = $1 AND assignee = ''`, harbourEval); n != 1 {
		t.Fatal("a refused reassignment changed the task")
	}
	nobody := manager.post(harbourSteer+"/reassign", url.Values{"to_other": {"no.such"}, "reason": {"Leave"}})
	expect(nobody, http.StatusNotFound, "a reassignment to nobody")
	nobody.says(t, "the reassignment to nobody", `id="reassign-other-error" lang="en">there is no person &#34;no.such&#34;</span>`,
		`value="no.such"`)
	reassigned := manager.post(harbourSteer+"/reassign", url.Values{"to": {""}, "to_other": {"forest.staff"},
		"reason": {"Harbour's counsellor is on leave"}})
	expect(reassigned, http.StatusOK, "the reassignment")
	reassigned.says(t, "the dashboard after the reassignment", "Tehtävä "+harbourEval+" on siirretty henkilölle forest.staff.",
		"<td>forest.staff</td>")
	if n := e.count(`SELECT count(*) FROM tasks WHERE id = $1 AND assignee = 'forest.staff'`, harbourEval); n != 1 {
		t.Error("the reassignment is not recorded")
	}

	// Extending NORTH's evaluation by two days.
	badSpan := manager.post(northSteer+"/extend", url.Values{"by": {"pian"}, "reason": {"Inspection week"}})
	expect(badSpan, http.StatusUnprocessableEntity, "an extension by no duration")
	badSpan.says(t, "the extension refused", `id="extend-by-error">pian ei ole kesto`, `value="pian"`, "Inspection week")
	noReason = manager.post(northSteer+"/extend", url.Values{"by": {"2d"}})
	expect(noReason, http.StatusUnprocessableEntity, "an extension without a reason")
	noReason.says(t, "the extension refused without a reason", `id="extend-reason-error" lang="en">extend needs a reason</span>`, `value="2d"`)
	extended := manager.post(northSteer+"/extend", url.Values{"by": {"2d"}, "reason": {"Inspection week"}})
	expect(extended, http.StatusOK, "the extension")
	extended.says(t, "the dashboard after the extension", "Tehtävän "+northEval+" määräaika on nyt")
	if n := e.count(`SELECT count(*) FROM tasks WHERE id = $1 AND due_at > now() + interval '1 day'`, northEval); n != 1 {
		t.Error("the extension is not recorded")
	}

	// Someone who is not a manager: no dashboard in the nav, and the
	// dashboard and every form refused.
	staff := w.login("north.staff")
	if strings.Contains(staff.get("/").body, `href="/dashboard"`) {
		t.Error("north.staff's nav links to the dashboard")
	}
	if strings.Contains(staff.get("/tasks/"+url.PathEscape(northEval)).body, "/dashboard/tasks/") {
		t.Error("north.staff's task page links to the steering page")
	}
	cancelURL := "/dashboard/cycles/" + e.provider + "/2028/cancel"
	scheduleURL := "/dashboard/schedule/" + e.provider
	for _, who := range []*browser{staff, w.login("x.manager")} {
		for _, r := range []struct {
			method, path string
			form         url.Values
		}{
			{"GET", harbourSteer, nil},
			{"POST", startURL, url.Values{"year": {"2029"}}},
			{"POST", cancelURL, url.Values{"reason": {"Not mine to cancel"}}},
			{"POST", harbourSteer + "/reassign", url.Values{"to": {"north.staff"}, "reason": {"Mine now"}}},
			{"POST", northSteer + "/extend", url.Values{"by": {"30d"}, "reason": {"More time"}}},
			{"POST", scheduleURL, url.Values{"month": {"8"}, "day": {"15"}}},
			{"POST", scheduleURL + "/delete", url.Values{}},
		} {
			var p page
			if r.method == "GET" {
				p = who.get(r.path)
			} else {
				p = who.post(r.path, r.form)
			}
			if p.code != http.StatusForbidden {
				t.Errorf("%s %s %s: got %d, want 403:\n%s", who.name, r.method, r.path, p.code, p.body)
			}
			if strings.Contains(p.body, "forest.staff") || strings.Contains(p.body, "Poissaolot") {
				t.Errorf("%s %s %s: the refusal shows the provider's data", who.name, r.method, r.path)
			}
		}
	}
	p := staff.get("/dashboard")
	expect(p, http.StatusForbidden, "north.staff opening the dashboard")
	p.says(t, "north.staff refused the dashboard", "only the provider&#39;s managers may")
	// The other provider's manager sees their own provider's dashboard, and
	// nothing of this one.
	x := w.login("x.manager")
	p = x.get("/dashboard")
	expect(p, http.StatusOK, "x.manager's own dashboard")
	p.says(t, "x.manager's dashboard", "<h1>Ohjausnäkymä: "+other+"</h1>", "Yhtään arviointikierrosta ei ole vielä aloitettu.")
	if strings.Contains(p.body, e.provider+"/2028") || strings.Contains(p.body, "Poissaolot") {
		t.Error("x.manager's dashboard shows this provider's cycles or trends")
	}
	if n := e.count(`SELECT count(*) FROM tasks WHERE id = $1 AND due_at > now() + interval '20 days'`, northEval); n != 0 {
		t.Error("a refused extension was recorded")
	}
	if n := e.count(`SELECT count(*) FROM cycles WHERE year = 2029`); n != 0 {
		t.Error("a refused start was recorded")
	}

	// Cancelling the cycle: refused without a reason, then cancelled.
	noReason = manager.post(cancelURL, url.Values{"reason": {""}})
	expect(noReason, http.StatusUnprocessableEntity, "a cancellation without a reason")
	noReason.says(t, "the cancellation refused", `id="cancel-2028-reason-error" lang="en">cancel needs a reason</span>`, `href="#cancel-2028-reason"`)
	cancelled := manager.post(cancelURL, url.Values{"reason": {"Started with the wrong deadlines"}})
	expect(cancelled, http.StatusOK, "the cancellation")
	cancelled.says(t, "the dashboard after the cancellation", "Vuoden 2028 arviointikierros on peruttu.",
		"peruttu: Started with the wrong deadlines", "Yksikään tehtävä ei ole myöhässä.")
	if n := e.count(`SELECT count(*) FROM cycles WHERE year = 2028 AND status = 'cancelled'`); n != 1 {
		t.Error("the cancellation is not recorded")
	}

	// The cancelled year started again: refused without a reason (and to
	// someone who is not a manager), then a second attempt runs.
	restartURL := "/dashboard/cycles/" + e.provider + "/2028/restart"
	cancelled.says(t, "the dashboard offers the cancelled year's restart", `action="`+restartURL+`"`, "Aloita vuoden 2028 arviointikierros uudelleen")
	if p := staff.post(restartURL, url.Values{"reason": {"Mine"}}); p.code != http.StatusForbidden {
		t.Errorf("north.staff restarting the cycle: got %d, want 403", p.code)
	}
	noReason = manager.post(restartURL, url.Values{"reason": {" "}})
	expect(noReason, http.StatusUnprocessableEntity, "a restart without a reason")
	noReason.says(t, "the restart refused", `id="restart-2028-reason-error" lang="en">restart needs a reason</span>`, `href="#restart-2028-reason"`)
	restarted := manager.post(restartURL, url.Values{"reason": {"Deadlines corrected"}})
	expect(restarted, http.StatusOK, "the restart")
	restarted.says(t, "the dashboard after the restart", "Vuoden 2028 arviointikierros aloitettiin uudelleen.", "2028 <span class=\"hint\">(2. yritys)</span>")
	if strings.Contains(restarted.body, `action="`+restartURL+`"`) {
		t.Error("the dashboard still offers to restart a year whose new attempt runs")
	}
	if n := e.count(`SELECT count(*) FROM cycles WHERE year = 2028 AND attempt = 2 AND status = 'running' AND restarted_from IS NOT NULL`); n != 1 {
		t.Error("the restart is not recorded")
	}
	manager.post("/dashboard/cycles/"+e.provider+"/2028/cancel", url.Values{"reason": {"Started with the wrong deadlines"}})

	// The yearly schedule: a date that does not come every year refused,
	// then set, shown, and deleted.
	badDate := manager.post(scheduleURL, url.Values{"month": {"2"}, "day": {"29"}, "hour": {"6"}})
	expect(badDate, http.StatusUnprocessableEntity, "a schedule on 29 February")
	badDate.says(t, "the schedule refused", `id="sched-day-error" lang="en">day 29 of month 2 is refused`, `id="sched-month" name="month" value="2"`)
	set := manager.post(scheduleURL, url.Values{"month": {"8"}, "day": {"15"}, "hour": {"6"}, "max_rounds": {"2"}})
	expect(set, http.StatusOK, "the schedule set")
	set.says(t, "the dashboard with the schedule", "Vuosiaikataulu on asetettu.", "joka vuosi 15.8. klo 6.00 (Europe/Helsinki)",
		"Seuraavat aloitukset", "Poista vuosiaikataulu")
	if s := e.showSchedule(e.provider); s.Month != 8 || s.Day != 15 || s.Hour != 6 {
		t.Errorf("the schedule set from the dashboard: %+v", s)
	}
	deleted := manager.post(scheduleURL+"/delete", url.Values{})
	expect(deleted, http.StatusOK, "the schedule deleted")
	deleted.says(t, "the dashboard without the schedule", "Vuosiaikataulu on poistettu", "Järjestäjällä ei ole vuosiaikataulua")

	// In English.
	en := manager.post("/language", url.Values{"lang": {"en"}, "back": {"/dashboard"}})
	expect(en, http.StatusOK, "the dashboard in English")
	en.says(t, "the dashboard in English", `<html lang="en">`, "<h1>Manager&#39;s dashboard: "+e.provider+"</h1>",
		`<title id="trend-1-title">Absences (ABSENT) by unit, 2026–2027</title>`,
		`<tr><th scope="row">FOREST</th><td>2027</td><td>6.5 %</td><td>at most 8 %</td><td>met</td></tr>`,
		"cancelled: Started with the wrong deadlines")
}
