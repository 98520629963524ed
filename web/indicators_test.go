package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// loggedIn invites the person, sets their password through the service as
// the invitation link would, and returns a client holding their session.
func loggedIn(t *testing.T, ts *httptest.Server, db *sqlx.DB, svc *service.Service, person string) *http.Client {
	t.Helper()
	ctx := context.Background()
	if _, err := svc.InvitePerson(ctx, service.Operator(review.Via{Channel: review.ChannelCLI, Ref: "test"}), person); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	if err := db.Get(&raw, `SELECT facts FROM notifications WHERE kind = 'invitation' AND person_id = $1`, person); err != nil {
		t.Fatal(err)
	}
	var f review.NoticeFacts
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	const password = "correct horse battery staple"
	if _, err := svc.SetPassword(ctx, f.Secret, password, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar}
	body, _ := json.Marshal(map[string]string{"person": person, "password": password})
	resp, err := c.Post(ts.URL+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logging in as %s: got %d", person, resp.StatusCode)
	}
	return c
}

// TestIndicatorTrendsAPI reads a provider's trends through the API as JSON
// and as CSV, and the refusals: another provider's manager and another
// provider's trends, and a format the route does not write. Who may read
// them is the service's to decide, tested there.
func TestIndicatorTrendsAPI(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t)
	st := store.New(db)
	for _, p := range []string{"ACME", "BETA"} {
		if _, err := st.ImportOrg(ctx, store.ActorOperator, dbtest.Org(p)); err != nil {
			t.Fatal(err)
		}
	}
	target := 85.0
	id := review.CycleID("ACME", 2026)
	cfg := review.Config{Indicators: review.Catalogue{{Code: "SAFE", NameFI: "Koettu turvallisuus", NameEN: "Feels safe", UnitOfMeasure: "%", Target: &target}}}
	if _, err := st.SetupCycle(ctx, review.SetupCycleInput{CycleID: id, Provider: "ACME", Year: 2026, Config: cfg}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ unit, indicator string }{
		{"NORTH", `{"code": "SAFE", "value": 80}`},
		{"SOUTH", `{"code": "SAFE", "not_measured": true, "reason": "The survey moved to the autumn, after the evaluation."}`},
	} {
		task := review.TaskSpec{ID: review.TaskID("ACME", 2026, review.KindEvaluate, 0, u.unit), CycleID: id, WorkflowID: review.UnitReviewID(id, u.unit),
			Kind: review.KindEvaluate, Unit: u.unit, Role: review.RoleWelfareStaff, DueAt: time.Now().Add(time.Hour)}
		if _, err := st.OpenTasks(ctx, review.OpenTasksInput{CycleID: id, Phase: review.PhaseEvaluate, Tasks: []review.TaskSpec{task}}); err != nil {
			t.Fatal(err)
		}
		outcome := `{"indicators": [` + u.indicator + `]}`
		if err := st.CompleteTask(ctx, review.CompleteTaskInput{Task: task, Actor: "acme.nurse." + strings.ToLower(u.unit), Outcome: json.RawMessage(outcome)}); err != nil {
			t.Fatal(err)
		}
	}
	want, err := st.IndicatorTrends(ctx, "ACME")
	if err != nil || len(want) != 2 {
		t.Fatalf("got trends %+v, %v; want NORTH's and SOUTH's", want, err)
	}
	var wantCSV bytes.Buffer
	if err := render.TrendsCSV(&wantCSV, want); err != nil {
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

	get := func(c *http.Client, path string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	auditor := loggedIn(t, ts, db, svc, "acme.auditor")
	resp, body := get(auditor, "/api/v1/indicators/ACME/trends")
	var got []store.IndicatorTrend
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET trends as JSON: got %d %s %q (%v)", resp.StatusCode, resp.Header.Get("Content-Type"), body, err)
	}
	if gotJSON, _ := json.Marshal(got); string(gotJSON) != mustJSON(t, want) {
		t.Errorf("GET trends as JSON: got %s, want %s", gotJSON, mustJSON(t, want))
	}
	resp, body = get(auditor, "/api/v1/indicators/ACME/trends?format=csv")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || body != wantCSV.String() {
		t.Errorf("GET trends as CSV: got %d %s\n%s\nwant text/csv\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body, wantCSV.String())
	}

	for _, tt := range []struct {
		who, path string
		code      int
		says      string
	}{
		{"acme.auditor", "/api/v1/indicators/ACME/trends?format=xlsx", 422, `format must be json or csv (got "xlsx")`},
		{"acme.auditor", "/api/v1/indicators/NOPE/trends", 403, "may not"},
		{"beta.manager", "/api/v1/indicators/ACME/trends?format=csv", 403, "may not"},
	} {
		c := auditor
		if tt.who != "acme.auditor" {
			c = loggedIn(t, ts, db, svc, tt.who)
		}
		resp, err := c.Get(ts.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		e := errorOfBody(t, resp)
		if resp.StatusCode != tt.code || !strings.Contains(e.Error, tt.says) {
			t.Errorf("%s GET %s: got %d %q, want %d saying %q", tt.who, tt.path, resp.StatusCode, e.Error, tt.code, tt.says)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
