package web

import (
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

// newTestServer serves a Server over a fresh database, without Temporal:
// these tests stop before any use case needs it.
func newTestServer(t *testing.T, tls bool) *httptest.Server {
	t.Helper()
	db, _ := dbtest.New(t)
	s, err := New(Config{Service: service.New(service.Config{Store: store.New(db)}), DB: db.DB, BaseURL: "http://127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	var ts *httptest.Server
	if tls {
		ts = httptest.NewTLSServer(s.Handler())
	} else {
		ts = httptest.NewServer(s.Handler())
	}
	t.Cleanup(ts.Close)
	return ts
}

// errorOfBody decodes a JSON error answer, failing the test if the answer
// does not have that shape.
func errorOfBody(t *testing.T, resp *http.Response) errorBody {
	t.Helper()
	defer resp.Body.Close()
	var e errorBody
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &e); err != nil || e.Fields == nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("the answer is not a JSON error {error, fields}: %s %q", resp.Header.Get("Content-Type"), b)
	}
	return e
}

func TestRefusalsAreJSONWithSecurityHeaders(t *testing.T) {
	ts := newTestServer(t, false)
	for _, c := range []struct {
		name, method, path, body string
		header                   map[string]string
		code                     int
		says                     string
	}{
		{"no login", "GET", "/api/v1/inbox", "", nil, 401, "log in first"},
		{"not a bearer token", "GET", "/api/v1/inbox", "", map[string]string{"Authorization": "Basic eDp5"}, 401, "Bearer"},
		{"a task ID escaped into one segment", "POST", "/api/v1/tasks/DEMO%2F2027%2Fevaluate%2FNORTH/claim", "", nil, 401, "log in first"},
		{"an unknown page", "GET", "/api/v1/nothing", "", nil, 404, "there is no page /api/v1/nothing"},
		{"a body too large", "POST", "/api/v1/session", `{"person": "` + strings.Repeat("x", MaxBody) + `"}`, nil, 413, "larger than 4 MiB"},
		{"not JSON", "POST", "/api/v1/session", `{"person": `, nil, 422, "not valid JSON"},
		{"an unknown field", "POST", "/api/v1/session", `{"person": "a", "password": "b", "admin": true}`, nil, 422, `unknown field "admin"`},
		{"a cross-origin change", "POST", "/api/v1/session", `{}`, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403, "another site"},
		{"a cross-origin change without fetch metadata", "POST", "/api/v1/session", `{}`, map[string]string{"Origin": "https://evil.example"}, 403, "another site"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			e := errorOfBody(t, resp)
			if resp.StatusCode != c.code || !strings.Contains(e.Error, c.says) {
				t.Errorf("got %d %q, want %d saying %q", resp.StatusCode, e.Error, c.code, c.says)
			}
			h := resp.Header
			if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || strings.Contains(h.Get("Content-Security-Policy"), "unsafe-inline") ||
				h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
				t.Errorf("security headers missing: %v", h)
			}
			if h.Get("Strict-Transport-Security") != "" {
				t.Errorf("HSTS sent over plain http")
			}
		})
	}
}

func TestHSTSOverTLS(t *testing.T) {
	ts := newTestServer(t, true)
	resp, err := ts.Client().Get(ts.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("GET /login over TLS: got %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
}

func TestPagesWorkWithoutScript(t *testing.T) {
	ts := newTestServer(t, false)
	resp, err := http.Get(ts.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	for _, want := range []string{`<html lang="fi">`, `<form method="post" action="/login">`, `<label for="person">`, `href="/static/oho.css"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the login page lacks %s", want)
		}
	}
	if inlineScriptOrStyle(page) {
		t.Errorf("the login page has inline script or style")
	}
	css, err := http.Get(ts.URL + "/static/oho.css")
	if err != nil {
		t.Fatal(err)
	}
	css.Body.Close()
	if css.StatusCode != 200 || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("the style sheet: %d %s", css.StatusCode, css.Header.Get("Content-Type"))
	}
	// Without a session the home page sends people to the login.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	home, err := noRedirect.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	home.Body.Close()
	if home.StatusCode != http.StatusSeeOther || home.Header.Get("Location") != "/login" {
		t.Errorf("GET / without a session: got %d to %q, want 303 to /login", home.StatusCode, home.Header.Get("Location"))
	}
}

func TestBaseURL(t *testing.T) {
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"https://oho.college.example", true},
		{"https://oho.college.example/oho/", true},
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080", true},
		{"http://oho.college.example", false},
		{"oho.college.example", false},
		{"https://oho.college.example/?x=1", false},
		{"https://user:pw@oho.college.example", false},
	} {
		if _, err := ParseBaseURL(c.url); (err == nil) != c.ok {
			t.Errorf("ParseBaseURL(%q): got %v, want ok=%v", c.url, err, c.ok)
		}
	}
}

// TestAccessibilityStatement: the statement in both languages, with the
// feedback address the server is given, or without one.
func TestAccessibilityStatement(t *testing.T) {
	db, _ := dbtest.New(t)
	for _, feedback := range []string{"saavutettavuus@college.example", ""} {
		s, err := New(Config{Service: service.New(service.Config{Store: store.New(db)}), DB: db.DB, BaseURL: "http://127.0.0.1:8080", FeedbackEmail: feedback})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ts := httptest.NewServer(s.Handler())
		defer ts.Close()
		for lang, want := range map[string]string{"fi": "<h1>Saavutettavuusseloste</h1>", "en": "<h1>Accessibility statement</h1>"} {
			req, _ := http.NewRequest("GET", ts.URL+"/accessibility", nil)
			req.Header.Set("Accept-Language", lang)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page := string(b)
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, want) || !strings.Contains(page, "306/2019") {
				t.Errorf("the statement in %s: %d\n%s", lang, resp.StatusCode, page)
			}
			if has := strings.Contains(page, `href="mailto:saavutettavuus@college.example"`); has != (feedback != "") {
				t.Errorf("the statement in %s with feedback address %q: mailto link shown %v", lang, feedback, has)
			}
		}
	}
}

// TestHealthAndReadiness: /healthz answers without reading anything;
// /readyz says the database is ready and, with no Temporal configured, that
// Temporal is not, with 503.
func TestHealthAndReadiness(t *testing.T) {
	ts := newTestServer(t, false)
	resp, err := http.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "ok\n" {
		t.Errorf("/healthz: %d %q", resp.StatusCode, b)
	}
	resp, err = http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Ready  bool
		Checks []service.ReadyCheck
	}
	err = json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable || ready.Ready || len(ready.Checks) != 2 ||
		!ready.Checks[0].Ready || ready.Checks[1].Ready || !strings.Contains(ready.Checks[1].Problem, "no Temporal connection") {
		t.Errorf("/readyz without Temporal: %d %+v (%v)", resp.StatusCode, ready, err)
	}
}
