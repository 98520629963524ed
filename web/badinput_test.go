package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// TestBadInputThroughTheAPI sends every /api/v1 body and query what a new
// user, a broken script or a hostile one might: the wrong content type, a
// body over the limit, a key twice, trailing data, unknown fields, numbers
// out of range, deep nesting, durations and dates that are none, text that
// is only white space, a query parameter twice. Each is answered 4xx as
// the JSON error {error, fields}, in one line naming the field and the
// problem, with no stack trace and no driver or Temporal text; and nothing
// is written (the rows of every table the requests could reach are counted
// before and after). The server runs without Temporal: every refusal comes
// before a use case would need it.
func TestBadInputThroughTheAPI(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t)
	st := store.New(db)
	if _, err := st.ImportOrg(ctx, store.ActorOperator, dbtest.Org("ACME")); err != nil {
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
	manager := loggedIn(t, ts, db, svc, "acme.manager")

	tables := []string{"api_tokens", "audit_events", "cycles", "tasks", "plan_versions", "people", "units", "person_roles", "notifications", "accounts"}
	counts := func() map[string]int {
		out := map[string]int{}
		for _, table := range tables {
			var n int
			if err := db.Get(&n, `SELECT count(*) FROM `+table); err != nil {
				t.Fatal(err)
			}
			out[table] = n
		}
		return out
	}
	before := counts()

	org := func(edit func(o map[string]any)) string {
		o := map[string]any{"provider": map[string]any{"code": "ACME", "name": "Acme College"},
			"units":  []any{map[string]any{"code": "NORTH", "name": "North"}},
			"people": []any{map[string]any{"id": "acme.manager", "name": "Quality Manager", "roles": []any{map[string]any{"role": "manager"}}}}}
		edit(o)
		b, _ := json.Marshal(o)
		return string(b)
	}
	const task = "/api/v1/tasks/ACME%2F2026%2Fevaluate%2FNORTH"
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	for _, c := range []struct {
		name, method, path, contentType, body string
		code                                  int
		says                                  string
	}{
		{"a token's body as a form", "POST", "/api/v1/tokens", "application/x-www-form-urlencoded", "name=a&scope=read", 415, "must be JSON, sent with Content-Type: application/json"},
		{"a token's body as text", "POST", "/api/v1/tokens", "text/plain", `{"name": "a", "scope": "read"}`, 415, `(not "text/plain")`},
		{"a content type that does not read", "POST", "/api/v1/tokens", "application/", `{"name": "a", "scope": "read"}`, 415, "must be JSON"},
		{"a key twice", "POST", "/api/v1/tokens", "application/json", `{"name": "a", "scope": "read", "scope": "act"}`, 422, `the request body has the key "scope" twice`},
		{"a key twice in another case", "POST", "/api/v1/tokens", "application/json", `{"name": "a", "Name": "b", "scope": "read"}`, 422, `has the key "Name" twice`},
		{"days that overflow a duration", "POST", "/api/v1/tokens", "application/json", `{"name": "a", "scope": "read", "expires_in_days": 106751991167301}`, 422, "expires_in_days 106751991167301 is not 1 to 366 days"},
		{"days out of range", "POST", "/api/v1/tokens", "application/json", `{"name": "a", "scope": "read", "expires_in_days": 99999999999999999999}`, 422, "expires_in_days 99999999999999999999 is out of range"},
		{"days as a fraction", "POST", "/api/v1/tokens", "application/json", `{"name": "a", "scope": "read", "expires_in_days": 1e400}`, 422, "expires_in_days must be a whole number, not 1e400"},
		{"days as a string", "POST", "/api/v1/tokens", "application/json", `{"name": "a", "scope": "read", "expires_in_days": "30"}`, 422, "expires_in_days must be a number, not string"},
		{"a negative lifetime", "POST", "/api/v1/tokens", "application/json", `{"name": "a", "scope": "read", "expires_in_days": -1}`, 422, "expires_in_days -1 is not 1 to 366 days"},
		{"trailing data", "POST", "/api/v1/tokens", "application/json", `{"name": "a", "scope": "read"} {"name": "b"}`, 422, "more than one JSON value"},
		{"deep nesting", "POST", "/api/v1/tokens", "application/json", `{"name": ` + deep + `}`, 422, "nests objects and lists more than 32 deep"},
		{"a list for the body", "POST", "/api/v1/tokens", "application/json", `[]`, 422, "must be a JSON object, not array"},
		{"an empty body", "POST", "/api/v1/tokens", "application/json", ``, 422, "the request body is empty"},
		{"a body over the limit", "POST", "/api/v1/tokens", "application/json", `{"name": "` + strings.Repeat("x", MaxBody) + `"}`, 413, "larger than 4 MiB"},
		{"a name of white space", "POST", "/api/v1/tokens", "application/json", `{"name": "   ", "scope": "read"}`, 422, "the token needs a name"},
		{"a login with a key twice", "POST", "/api/v1/session", "application/json", `{"person": "acme.nurse.north", "person": "acme.manager", "password": "x"}`, 422, `has the key "person" twice`},
		{"a year out of range", "POST", "/api/v1/cycles", "application/json", `{"provider": "ACME", "year": 99999999999999999999}`, 422, "year 99999999999999999999 is out of range"},
		{"a year of 2^63", "POST", "/api/v1/cycles", "application/json", `{"provider": "ACME", "year": 9223372036854775808}`, 422, "year 9223372036854775808 is out of range"},
		{"a year of 0", "POST", "/api/v1/cycles", "application/json", `{"provider": "ACME", "year": 0}`, 422, "year 0 is not a year between 2000 and 2999"},
		{"a provider of a megabyte", "POST", "/api/v1/cycles", "application/json", `{"provider": "` + strings.Repeat("A", 1<<20) + `", "year": 2026}`, 422, `provider "` + strings.Repeat("A", 64) + `"… is not a provider code`},
		{"a duration that is none", "POST", "/api/v1/cycles", "application/json", `{"provider": "ACME", "year": 2026, "config": {"phases": {"evaluate": "six weeks"}}}`, 422, `config.phases.evaluate "six weeks" is not a duration`},
		{"a duration as a number", "POST", "/api/v1/cycles", "application/json", `{"provider": "ACME", "year": 2026, "config": {"phases": {"evaluate": 3600}}}`, 422, `config.phases.evaluate "3600" is not a duration`},
		{"a phase of centuries", "POST", "/api/v1/cycles", "application/json", `{"provider": "ACME", "year": 2026, "config": {"phases": {"evaluate": "2562047h"}}}`, 422, "phases.evaluate 2562047h0m0s is longer than a year"},
		{"reminders every nanosecond", "POST", "/api/v1/cycles", "application/json", `{"provider": "ACME", "year": 2026, "config": {"reminders": {"every": "1ns"}}}`, 422, "reminders.every 1ns is too often"},
		{"a config key twice", "POST", "/api/v1/cycles", "application/json", `{"provider": "ACME", "year": 2026, "config": {"max_rounds": 3, "max_rounds": 9}}`, 422, `has the key "max_rounds" twice in config`},
		{"a section title of spaces", "POST", "/api/v1/cycles", "application/json", `{"provider": "ACME", "year": 2026, "config": {"sections": [{"key": "a", "title": "  "}]}}`, 422, "sections[0].title is required (it holds only white space)"},
		{"a control character", "POST", "/api/v1/cycles", "application/json", `{"provider": "ACME", "year": 2026, "config": {"sections": [{"key": "a", "title": "bell\u0007"}]}}`, 422, "contains a control character (U+0007)"},
		{"a reason of 100 kB", "POST", "/api/v1/cycles/ACME/2026/cancel", "application/json", `{"reason": "` + strings.Repeat("x", 100_000) + `"}`, 422, "the reason may be at most 1000 characters"},
		{"a path year out of range", "POST", "/api/v1/cycles/ACME/99999999999999999999/cancel", "application/json", `{"reason": "x"}`, 422, `year "99999999999999999999" is not a year`},
		{"a due time that is none", "POST", task + "/extend", "application/json", `{"due_at": "tomorrow", "reason": "x"}`, 422, `due_at "tomorrow" is not a time such as`},
		{"a due time as a number", "POST", task + "/extend", "application/json", `{"due_at": 1700000000, "reason": "x"}`, 422, "due_at must be a string, not number"},
		{"a duration in words", "POST", task + "/extend", "application/json", `{"by": "3 days", "reason": "x"}`, 422, `by "3 days" is not a duration`},
		{"an outcome's key twice", "POST", task + "/complete", "application/json", `{"outcome": {"findings": [{"id": "F1", "id": "F2"}]}}`, 422, `has the key "id" twice in outcome.findings[0]`},
		{"an hour far out of range", "PUT", "/api/v1/schedules/ACME", "application/json", `{"month": 8, "day": 1, "hour": 1e3}`, 422, "hour must be a whole number, not 1e3"},
		{"a month of 2^64", "PUT", "/api/v1/schedules/ACME", "application/json", `{"month": 18446744073709551616, "day": 1}`, 422, "month 18446744073709551616 is out of range"},
		{"a plan's key twice", "POST", "/api/v1/plans/ACME/import", "application/json", `{"markdown": "## Communal welfare\n\nx", "markdown": "## Individual welfare\n\ny"}`, 422, `has the key "markdown" twice`},
		{"an effective date that is none", "POST", "/api/v1/plans/ACME/import", "application/json", `{"markdown": "## Communal welfare\n\nx", "effective_from": "2027-02-30"}`, 422, "effective"},
		{"an organisation as text", "POST", "/api/v1/org", "text/plain", org(func(map[string]any) {}), 415, "must be JSON"},
		{"an organisation's key twice", "POST", "/api/v1/org", "application/json", `{"provider": {"code": "ACME", "code": "EVIL", "name": "x"}, "units": [], "people": []}`, 422, `the organisation has the key "code" twice in provider`},
		{"an organisation's name of spaces", "POST", "/api/v1/org", "application/json", org(func(o map[string]any) { o["provider"].(map[string]any)["name"] = "   " }), 422, "provider.name is required (it holds only white space)"},
		{"a unit twice", "POST", "/api/v1/org", "application/json", org(func(o map[string]any) {
			o["units"] = append(o["units"].([]any), map[string]any{"code": "NORTH", "name": "Again"})
		}), 422, `unit code "NORTH" is listed twice`},
		{"a disabling without a reason", "POST", "/api/v1/people/acme.nurse.north/disable", "application/json", `{"reason": "  "}`, 422, "needs a reason"},
		{"a query parameter twice", "GET", "/api/v1/tasks?year=2026&year=2027", "", "", 422, `the query gives "year" 2 times`},
		{"a query that does not read", "GET", "/api/v1/tasks?provider=%zz", "", "", 422, "the query string does not read"},
		{"a year in words", "GET", "/api/v1/tasks?year=next", "", "", 422, `year "next" is not a whole number`},
		{"a version beyond the database's integers", "GET", "/api/v1/plans/ACME?version=9223372036854775807", "", "", 422, "version 9223372036854775807 is not a version number"},
		{"a diff from a negative version", "GET", "/api/v1/plans/ACME/diff?from=-1&to=2", "", "", 422, "from -1 is not a version number"},
		{"a since that is no date", "GET", "/api/v1/audit/events?since=yesterday", "", "", 422, `since "yesterday" is not a date`},
		{"a token ID of a kilobyte", "DELETE", "/api/v1/tokens/" + strings.Repeat("t", 1000), "", "", 422, `"` + strings.Repeat("t", 64) + `"… is not an API token ID`},
		{"a format that is none", "GET", "/api/v1/indicators/ACME/trends?format=xlsx", "", "", 422, `format must be json or csv (got "xlsx")`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			resp, err := manager.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e errorBody
			switch {
			case resp.StatusCode != c.code:
				t.Fatalf("got %d %.300s, want %d saying %q", resp.StatusCode, b, c.code, c.says)
			case json.Unmarshal(b, &e) != nil || e.Fields == nil:
				t.Fatalf("the answer is not a JSON error {error, fields}: %.300s", b)
			case !strings.Contains(e.Error, c.says):
				t.Errorf("got %q, want it to say %q", e.Error, c.says)
			case strings.Contains(e.Error, "\n") || len(e.Error) > 600:
				t.Errorf("not one short line: %q", e.Error)
			case strings.Contains(e.Error, "goroutine") || strings.Contains(e.Error, "pq:") || strings.Contains(e.Error, "json:"):
				t.Errorf("internal text in the answer: %q", e.Error)
			}
		})
	}
	after := counts()
	for _, table := range tables {
		if after[table] != before[table] {
			t.Errorf("%s: %d rows before the refusals, %d after", table, before[table], after[table])
		}
	}
}
