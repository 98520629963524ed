package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// TestEveryValidMessageSaysItsProblem checks that each message of check's
// problems fills every placeholder in both languages (a message that lost
// one would show "<no value>").
func TestEveryValidMessageSaysItsProblem(t *testing.T) {
	for _, lang := range []render.Lang{render.Finnish, render.English} {
		w := wordsFor(lang)
		for _, key := range validMessages {
			got := w.T(key, "Field", "F", "Param", "P", "Other", "O", "Value", "V")
			if got == key || strings.Contains(got, "<no value>") || !strings.HasPrefix(got, "F") {
				t.Errorf("%s %s: got %q", lang, key, got)
			}
		}
	}
	for _, c := range []struct {
		p        check.Problem
		fi, en   string
		fallback bool
	}{
		{p: check.Problem{Field: "a", Tag: "required", Text: "a is required"}, fi: "Nimi: pakollinen tieto puuttuu", en: "Nimi is required"},
		{p: check.Problem{Tag: "oneof", Param: "info minor major", Value: "huge"},
			fi: "Nimi: ”huge” ei käy; sallitut arvot ovat info, minor, major", en: `Nimi must be one of info, minor, major (got "huge")`},
		{p: check.Problem{Tag: "max", Param: "4000", Counts: check.CountsCharacters}, fi: "Nimi: merkkejä saa olla enintään 4000",
			en: "Nimi must be at most 4000 characters"},
		{p: check.Problem{Tag: check.TagType, Param: "number", Value: "string"}, fi: "Nimi: arvon on oltava luku, ei teksti",
			en: "Nimi must be a number, not a string"},
		{p: check.Problem{Tag: "datetime", Param: "02.01.2006", Text: "English"}, fi: "English", en: "English", fallback: true},
		{p: check.Problem{Text: `findings[0].section "x" is not a section of the plan`}, fi: `findings[0].section "x" is not a section of the plan`,
			en: `findings[0].section "x" is not a section of the plan`, fallback: true},
	} {
		for lang, want := range map[render.Lang]string{render.Finnish: c.fi, render.English: c.en} {
			text, mark := sayProblem(wordsFor(lang), c.p, "Nimi")
			if text != want || (mark == serviceLang) != c.fallback {
				t.Errorf("%s %+v: got %q marked %q, want %q (in the service's words: %v)", lang, c.p, text, mark, want, c.fallback)
			}
		}
	}
}

// TestProblemsNamedByTheirLabels checks that a problem is named by the
// form's label of its field, a row's field with its row, and the other
// field a rule depends on by its label too; a field the form has no label
// for by its path.
func TestProblemsNamedByTheirLabels(t *testing.T) {
	fi := wordsFor(render.Finnish)
	approval := &signingForm{Approve: true}
	got := saidProblems(fi, []check.Problem{
		{Field: "outcome.effective_from", Tag: "required_if", Other: "decision", Param: "approve"},
		{Field: "outcome.comment", Tag: "max", Param: "4000", Counts: check.CountsCharacters},
		{Field: "outcome.version_hash", Tag: "len", Param: "64", Counts: check.CountsCharacters},
	}, approval.formField, namedBy(fi, approval.label, "outcome."))
	want := []problem{
		{Field: "effective_from", Text: "Voimaantulopäivä: pakollinen tieto puuttuu, kun päätös on ”approve”"},
		{Field: "comment", Text: "Kommentti: merkkejä saa olla enintään 4000"},
		{Text: "version_hash: merkkejä on oltava tasan 64"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	eval := &evalForm{Findings: make([]findingRow, 3), usedFindings: []int{2}}
	got = saidProblems(fi, []check.Problem{{Field: "outcome.findings[0].severity", Tag: "oneof", Param: "info minor major", Value: "huge"}},
		eval.formField, namedBy(fi, eval.label, "outcome."))
	want = []problem{{Field: "f-2-severity", Text: "Vakavuus (havainto F3): ”huge” ei käy; sallitut arvot ovat info, minor, major"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestConsultationRefusedInTheReadersWords sends a consultation without its
// method, dated 10.3.2026 as Finns write it, and with a feedback item
// without its text, through the page and through the API: the page says
// each problem next to its field in the reader's language, named by its
// label, while the API's JSON error is the service's English, unchanged.
func TestConsultationRefusedInTheReadersWords(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t)
	st := store.New(db)
	if _, err := st.ImportOrg(ctx, store.ActorOperator, dbtest.Org("ACME")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE people SET email = 'rep.north@acme.example' WHERE id = 'acme.rep.north'`); err != nil {
		t.Fatal(err)
	}
	cycle := review.CycleID("ACME", 2027)
	if _, err := st.SetupCycle(ctx, review.SetupCycleInput{CycleID: cycle, Provider: "ACME", Year: 2027}); err != nil {
		t.Fatal(err)
	}
	id := review.TaskID("ACME", 2027, review.KindConsult, 0, "NORTH")
	input, _ := json.Marshal(review.ConsultInput{Unit: "NORTH", Sections: review.DefaultSections, Methods: []string{"council", "survey"}})
	task := review.TaskSpec{ID: id, CycleID: cycle, WorkflowID: review.UnitReviewID(cycle, "NORTH"), Kind: review.KindConsult,
		Unit: "NORTH", Role: review.RoleStudentRep, DueAt: time.Now().Add(time.Hour), Input: input}
	if _, err := st.OpenTasks(ctx, review.OpenTasksInput{CycleID: cycle, Phase: review.PhaseEvaluate, Tasks: []review.TaskSpec{task}}); err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Config{Store: st})
	s, err := New(Config{Service: svc, DB: db.DB, BaseURL: "http://127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	rep := loggedIn(t, ts, db, svc, "acme.rep.north")
	section := review.DefaultSections[1].Key

	post := func(lang string) htmlPage {
		t.Helper()
		form := url.Values{"action": {"complete"}, "feedback": {"1"}, "method": {""}, "participants": {"12"}, "held_on": {"10.3.2026"},
			"s-0-section": {section}, "s-0-text": {""}}
		req, err := http.NewRequest("POST", ts.URL+"/tasks/"+url.PathEscape(id), strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept-Language", lang)
		resp, err := rep.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("the refused consultation in %s: got %d, want 422:\n%s", lang, resp.StatusCode, b)
		}
		return htmlPage{resp.StatusCode, resp.Header, string(b)}
	}
	fi := post("fi")
	fi.says(t, "the refused consultation in Finnish", `<html lang="fi">`,
		`<span class="field-error" id="method-error">Menetelmä: pakollinen tieto puuttuu</span>`,
		`<span class="field-error" id="held_on-error">Päivämäärä: anna päivämäärä muodossa VVVV-KK-PP, esimerkiksi 2026-03-10 (annettu ”10.3.2026”)</span>`,
		`<span class="field-error" id="s-0-text-error">Mitä sanottiin (palaute S1): pakollinen tieto puuttuu</span>`,
		`<li><a href="#method">Menetelmä: pakollinen tieto puuttuu</a></li>`,
		`<li><a href="#held_on">Päivämäärä: anna päivämäärä`, `<li><a href="#s-0-text">Mitä sanottiin (palaute S1)`,
		`id="held_on" name="held_on" type="date" value="10.3.2026" aria-invalid="true" aria-describedby="held_on-error"`,
		`id="method" name="method" aria-invalid="true" aria-describedby="method-error"`)
	if strings.Contains(fi.body, `<li lang="en">`) || strings.Contains(fi.body, `-error" lang="en">`) || strings.Contains(fi.body, "is required") {
		t.Errorf("the Finnish page shows the service's English words:\n%s", fi.body)
	}
	en := post("en")
	en.says(t, "the refused consultation in English", `<html lang="en">`,
		`<span class="field-error" id="method-error">Method is required</span>`,
		`<span class="field-error" id="held_on-error">Date must be a date written as YYYY-MM-DD (got &#34;10.3.2026&#34;)</span>`,
		`<span class="field-error" id="s-0-text-error">What was said (feedback S1) is required</span>`)

	// The API, asked in Finnish, answers as the command line does.
	outcome := `{"outcome": {"method": "", "participants": 12, "held_on": "10.3.2026", "feedback": [{"id": "S1", "section": "` + section + `", "text": ""}]}}`
	req, err := http.NewRequest("POST", ts.URL+"/api/v1/tasks/"+url.PathEscape(id)+"/complete", strings.NewReader(outcome))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Language", "fi")
	resp, err := rep.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("the API: got %d, want 422", resp.StatusCode)
	}
	got := errorOfBody(t, resp)
	want := errorBody{
		Error: "outcome of task " + id + `: method is required; held_on must be a date written as YYYY-MM-DD (got "10.3.2026"); feedback[0].text is required`,
		Fields: map[string]string{
			"outcome.method":           "method is required",
			"outcome.held_on":          `held_on must be a date written as YYYY-MM-DD (got "10.3.2026")`,
			"outcome.feedback[0].text": "feedback[0].text is required",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the API's error: got %+v, want %+v", got, want)
	}
	if n := func() (n int) { _ = db.Get(&n, `SELECT count(*) FROM consultations`); return }(); n != 0 {
		t.Errorf("refused consultations recorded %d", n)
	}
}

// TestTextProblemsSaid: a NUL character or bytes that are not UTF-8 are
// said in both languages.
func TestTextProblemsSaid(t *testing.T) {
	for _, param := range []string{"nul", "utf8"} {
		p := check.Problem{Field: "findings[0].text", Tag: check.TagText, Param: param, Text: "English"}
		for lang, want := range map[render.Lang]string{render.Finnish: "teksti", render.English: "text"} {
			text, marked := sayProblem(wordsFor(lang), p, "What was found")
			if marked != "" || !strings.HasPrefix(text, "What was found") || !strings.Contains(text, want) {
				t.Errorf("%s in %s: got %q (lang %q)", param, lang, text, marked)
			}
		}
	}
}
