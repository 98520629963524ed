package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// TestImportPlanThroughTheAPI imports a plan with POST
// /api/v1/plans/{provider}/import in a manager's session, and checks the
// answers the route documents: 201 with the version, 200 for the same text
// again, 403 for a nurse, 422 naming the line for a bad file, and 409 naming
// the running cycle.
func TestImportPlanThroughTheAPI(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t)
	st := store.New(db)
	if _, err := st.ImportOrg(ctx, store.ActorOperator, dbtest.Org("ACME")); err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Config{Store: st})
	operator := service.Operator(review.Via{Channel: review.ChannelCLI, Ref: "root"})
	password := "correct horse battery staple"
	for _, person := range []string{"acme.manager", "acme.nurse.north"} {
		if _, err := svc.InvitePerson(ctx, operator, person); err != nil {
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
		if _, err := svc.SetPassword(ctx, f.Secret, password, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(Config{Service: svc, DB: db.DB, BaseURL: "http://127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)

	login := func(person string) *http.Client {
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Jar: jar}
		resp, err := c.Post(ts.URL+"/api/v1/session", "application/json", strings.NewReader(`{"person": "`+person+`", "password": "`+password+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("logging in as %s: got %d", person, resp.StatusCode)
		}
		return c
	}
	post := func(c *http.Client, body any) (int, []byte) {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Post(ts.URL+"/api/v1/plans/ACME/import", "application/json", strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	manager, nurse := login("acme.manager"), login("acme.nurse.north")
	plan := map[string]any{"markdown": "## Communal welfare\nTwo supervisors.\n\n## Annex NORTH\nRoom 12.\n", "effective_from": "2026-08-01"}

	for _, tt := range []struct {
		name   string
		client *http.Client
		body   any
		code   int
		says   string
		field  string
	}{
		{"a nurse", nurse, plan, 403, `"acme.nurse.north" may not administer the plan of ACME`, ""},
		{"a heading that names nothing", manager, map[string]any{"markdown": "## Canteen\nx"}, 422, `the plan: line 1: "Canteen" is not a section of the plan`, "markdown"},
		{"an unknown field", manager, map[string]any{"markdown": "x", "add_section": true}, 422, `unknown field "add_section"`, "body"},
		{"a bad date", manager, map[string]any{"markdown": "## Communal welfare\nx", "effective_from": "tomorrow"}, 422, "YYYY-MM-DD", "effective_from"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out := post(tt.client, tt.body)
			var e errorBody
			if err := json.Unmarshal(out, &e); err != nil || code != tt.code || !strings.Contains(e.Error, tt.says) || (tt.field != "" && e.Fields[tt.field] == "") {
				t.Errorf("got %d %s, want %d saying %q with field %q", code, out, tt.code, tt.says, tt.field)
			}
		})
	}

	var got service.ImportedPlan
	code, out := post(manager, plan)
	if err := json.Unmarshal(out, &got); err != nil || code != http.StatusCreated || got.Version != 1 || got.EffectiveFrom != "2026-08-01" ||
		strings.Join(got.Annexes, ",") != "NORTH" || got.Unchanged {
		t.Fatalf("importing: got %d %s, want 201 with version 1 and North's annex", code, out)
	}
	code, out = post(manager, plan)
	if err := json.Unmarshal(out, &got); err != nil || code != http.StatusOK || got.Version != 1 || !got.Unchanged {
		t.Errorf("importing the same text again: got %d %s, want 200 with version 1 unchanged", code, out)
	}
	if events, err := st.Events(ctx, ""); err != nil || events[len(events)-1].Action != store.ActionPlanImported || events[len(events)-1].Channel != review.ChannelWeb {
		t.Errorf("the last event is not the import through the web (%v)", err)
	}

	if _, err := st.SetupCycle(ctx, review.SetupCycleInput{CycleID: review.CycleID("ACME", 2027), Provider: "ACME", Year: 2027}); err != nil {
		t.Fatal(err)
	}
	code, out = post(manager, map[string]any{"markdown": "## Communal welfare\nThree supervisors.\n"})
	var conflict errorBody
	if err := json.Unmarshal(out, &conflict); err != nil || code != http.StatusConflict || !strings.Contains(conflict.Error, "while cycle review-cycle/ACME/2027 is running") {
		t.Errorf("importing while a cycle runs: got %d %s, want 409 naming the cycle", code, out)
	}
}
