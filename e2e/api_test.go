package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/smtptest"
)

// server is a running 'starter serve' and the address it answers at.
type server struct {
	*worker
	base string
}

// freeAddr returns a loopback address no one listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer runs 'starter serve' on a free loopback port with the extra
// arguments and waits until it answers.
func (e *env) startServer(addr string, args ...string) *server {
	e.t.Helper()
	s := &server{worker: &worker{done: make(chan struct{})}, base: "http://" + addr}
	s.cmd = exec.Command(filepath.Join(binDir, "starter"), append([]string{"serve", "--addr", addr}, args...)...)
	s.cmd.Env = e.vars
	s.cmd.Stdout, s.cmd.Stderr = s.worker, s.worker
	if err := s.cmd.Start(); err != nil {
		e.t.Fatalf("starting starter serve: %v", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	e.t.Cleanup(func() { s.stop(syscall.SIGTERM) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.base + "/api/v1/openapi.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-s.done:
			e.t.Fatalf("starter serve exited at start:\n%s", s.output())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("starter serve did not answer within 30s:\n%s", s.output())
		}
	}
}

// browser is one person's HTTP client: a cookie jar for a session, or an API
// token.
type browser struct {
	t     *testing.T
	base  string
	http  *http.Client
	token string
	name  string
}

func (s *server) client(t *testing.T, name string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: s.base, name: name, http: &http.Client{Jar: jar, Timeout: 2 * time.Minute}}
}

// withToken is the same person calling with an API token instead of the
// session.
func (c *browser) withToken(secret string) *browser {
	return &browser{t: c.t, base: c.base, name: c.name + " (token)", token: secret, http: &http.Client{Timeout: 2 * time.Minute}}
}

// reply is an HTTP answer.
type reply struct {
	code   int
	header http.Header
	body   []byte
}

func (r reply) String() string { return fmt.Sprintf("%d %s", r.code, r.body) }

// errorText is the error message of a JSON error answer.
func (r reply) errorText() string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error
}

// do sends a request with a JSON body (none when body is nil).
func (c *browser) do(method, path string, body any, header ...string) reply {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s %s: %v", c.name, method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

// ok sends a request that must answer the status, and decodes the JSON
// answer into out (when not nil).
func (c *browser) ok(code int, method, path string, body, out any) reply {
	c.t.Helper()
	r := c.do(method, path, body)
	if r.code != code {
		c.t.Fatalf("%s %s %s: got %s, want %d", c.name, method, path, r, code)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			c.t.Fatalf("%s %s %s: %v in %s", c.name, method, path, err, r.body)
		}
	}
	return r
}

// refused sends a request that must be refused with the status, saying
// want; and checks the answer is the JSON error shape with no stack trace.
func (c *browser) refused(code int, want, method, path string, body any) {
	c.t.Helper()
	r := c.do(method, path, body)
	var e struct {
		Error  *string           `json:"error"`
		Fields map[string]string `json:"fields"`
	}
	switch {
	case r.code != code:
		c.t.Errorf("%s %s %s: got %s, want %d saying %q", c.name, method, path, r, code, want)
	case json.Unmarshal(r.body, &e) != nil || e.Error == nil || e.Fields == nil:
		c.t.Errorf("%s %s %s: the answer is not {\"error\", \"fields\"}: %s", c.name, method, path, r.body)
	case !strings.Contains(*e.Error, want):
		c.t.Errorf("%s %s %s: got error %q, want it to say %q", c.name, method, path, *e.Error, want)
	case strings.Contains(*e.Error, "goroutine "):
		c.t.Errorf("%s %s %s: a stack trace in the answer: %s", c.name, method, path, r.body)
	}
}

// taskPath is the API path of a task: its ID is one path segment.
func taskPath(id string, action ...string) string {
	p := "/api/v1/tasks/" + url.PathEscape(id)
	for _, a := range action {
		p += "/" + a
	}
	return p
}

// waitOpen polls the task until the worker has opened it.
func (c *browser) waitOpen(id string) apiTask {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r := c.do("GET", taskPath(id), nil)
		if r.code == http.StatusOK {
			var t apiTask
			if err := json.Unmarshal(r.body, &t); err != nil {
				c.t.Fatal(err)
			}
			if t.Status == review.TaskOpen {
				return t
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("task %s was not opened within a minute: %s", id, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// apiTask is the part of a task the test reads.
type apiTask struct {
	ID     string          `json:"id"`
	Status string          `json:"status"`
	Input  json.RawMessage `json:"input"`
}

// loginOIDC logs the client in through the identity provider: the server
// sends the browser to the provider, which (mockoidc) answers at once for
// the user queued, and back.
func (c *browser) loginOIDC(idp *mockoidc.MockOIDC, user *mockoidc.MockUser, idpID string) {
	c.t.Helper()
	idp.QueueUser(user)
	resp, err := c.http.Get(c.base + "/auth/oidc/" + idpID)
	if err != nil {
		c.t.Fatalf("%s: logging in through %s: %v", c.name, idpID, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		c.t.Fatalf("%s: logging in through %s ended at %s with %d:\n%s", c.name, idpID, resp.Request.URL, resp.StatusCode, b)
	}
}

// invitationLink finds the link to set a password in the mails to an address.
var invitationLink = regexp.MustCompile(`http://\S+/password\?token=\S+`)

// invite invites the person to set a password ('starter person invite') and
// returns the link that this invitation, mailed to them, carries. The worker
// delivers the mail: it must run with SMTP_URL set to mail's.
func (e *env) invite(mail *smtptest.Server, person string) string {
	e.t.Helper()
	before := len(mail.Messages())
	e.ok("person", "invite", person)
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, m := range mail.Messages()[before:] {
			text, err := m.Text()
			if err == nil && slices.Contains(m.To, mailOf(person)) {
				if link := invitationLink.FindString(text); link != "" {
					return link
				}
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no invitation link mailed to %s within 30s", person)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWholeCycleThroughTheAPI logs people in through an OpenID Connect
// provider running in the test on loopback and through a local account
// (invited by e-mail, password set through the link), and runs a whole
// cycle through the HTTP API only — start, every kind of task, a request
// for changes, the approval, the report, the audit verification — with the
// wrong person refused at every step, a person of another provider refused
// reads, a cross-origin request refused, a tampered or expired session and
// a locked-out account refused, and every change recorded with its channel.
func TestWholeCycleThroughTheAPI(t *testing.T) {
	mail := smtptest.Start(t)
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Shutdown() })
	students, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { students.Shutdown() })

	e := newEnv(t)
	addr := freeAddr(t)
	e.vars = append(e.vars, "SMTP_URL="+mail.URL()+"?from=oho@example.fi", "OHO_NOTIFY_POLL=100ms", "OHO_BASE_URL=http://"+addr,
		"OHO_TEST_STAFF_SECRET="+idp.ClientSecret)
	e.startWorker()

	// The organisation: staff log in with their e-mail at the staff
	// provider, students' representatives with a subject at the students'.
	org := e.org()
	for _, p := range org["people"].([]map[string]any) {
		p["email"] = mailOf(p["id"].(string))
		if strings.HasSuffix(p["id"].(string), ".rep") {
			p["oidc_subject"] = "mpass-" + p["id"].(string)
		}
	}
	e.ok("org", "import", e.file("org.json", org))
	other := "X" + e.provider
	e.ok("org", "import", e.file("other.json", map[string]any{
		"provider": map[string]string{"code": other, "name": "Other College"},
		"units":    []map[string]string{{"code": "MAIN", "name": "Main campus"}},
		"people": []map[string]any{{"id": "x.manager", "name": "Other Manager", "email": "x.manager@other.example",
			"roles": []map[string]string{{"role": "manager", "unit": ""}, {"role": "auditor", "unit": ""}}}},
	}))
	idps := e.file("idps.json", map[string]any{"identity_providers": []map[string]any{
		{"id": "staff", "provider": e.provider, "name": "Staff login", "issuer": idp.Issuer(), "client_id": idp.ClientID,
			"client_secret_env": "OHO_TEST_STAFF_SECRET", "match": "email"},
		{"id": "students", "provider": e.provider, "name": "Students", "issuer": students.Issuer(), "client_id": students.ClientID,
			"client_secret": students.ClientSecret, "match": "subject"},
		{"id": "other", "provider": other, "name": "Other College", "issuer": idp.Issuer(), "client_id": idp.ClientID,
			"client_secret": idp.ClientSecret, "match": "email"},
	}})
	srv := e.startServer(addr, "--oidc", idps)

	// Staff log in through the identity provider with their e-mail.
	staffUser := func(person string) *mockoidc.MockUser {
		return &mockoidc.MockUser{Subject: "entra-" + person, Email: mailOf(person), EmailVerified: true, PreferredUsername: person}
	}
	people := map[string]*browser{}
	for _, id := range []string{"p.editor", "r.approver", "north.head", "harbour.head", "forest.head", "north.staff", "harbour.staff", "forest.staff"} {
		c := srv.client(t, id)
		c.loginOIDC(idp, staffUser(id), "staff")
		var who struct {
			Person string     `json:"person"`
			Via    review.Via `json:"via"`
		}
		c.ok(200, "GET", "/api/v1/session", nil, &who)
		if who.Person != id || who.Via.Channel != review.ChannelWeb || !strings.HasPrefix(who.Via.Ref, "s_") {
			t.Fatalf("%s logged in as %+v", id, who)
		}
		people[id] = c
	}
	// Students' representatives log in with their subject.
	for _, u := range units {
		id := strings.ToLower(u) + ".rep"
		c := srv.client(t, id)
		c.loginOIDC(students, &mockoidc.MockUser{Subject: "mpass-" + id}, "students")
		people[id] = c
	}
	// Someone the identity provider knows but OHO does not is refused,
	// and so is a person of this provider at another provider's login.
	stranger := srv.client(t, "stranger")
	idp.QueueUser(staffUser("nobody.here"))
	if resp, err := stranger.http.Get(srv.base + "/auth/oidc/staff"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an unknown person logging in: got %v %v, want 401", resp.Status, err)
	}
	wrongIdP := srv.client(t, "north.staff at other")
	idp.QueueUser(staffUser("north.staff"))
	if resp, err := wrongIdP.http.Get(srv.base + "/auth/oidc/other"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a person of another provider logging in: got %v %v, want 401", resp.Status, err)
	}

	// The manager has a local account: invited by e-mail, the password set
	// through the link, then a login with it.
	u, err := url.Parse(e.invite(mail, "m.manager"))
	if err != nil {
		t.Fatal(err)
	}
	anon := srv.client(t, "anonymous")
	anon.refused(422, "password", "POST", "/api/v1/password", map[string]string{"token": u.Query().Get("token"), "password": "short"})
	anon.ok(200, "POST", "/api/v1/password", map[string]string{"token": u.Query().Get("token"), "password": "correct horse battery"}, nil)
	anon.refused(401, "", "POST", "/api/v1/password", map[string]string{"token": u.Query().Get("token"), "password": "another good password"})
	manager := srv.client(t, "m.manager")
	manager.ok(200, "POST", "/api/v1/session", map[string]string{"person": "m.manager", "password": "correct horse battery"}, nil)

	// The manager makes an API token in the session and runs the cycle
	// with it.
	var tok struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
		Scope  string `json:"scope"`
	}
	manager.ok(201, "POST", "/api/v1/tokens", map[string]any{"name": "cycle script", "scope": "act", "expires_in_days": 7}, &tok)
	if tok.Secret == "" || tok.Scope != "act" {
		t.Fatalf("token created: %+v", tok)
	}
	script := manager.withToken(tok.Secret)
	script.refused(403, "", "POST", "/api/v1/tokens", map[string]any{"name": "from a token", "scope": "act"})
	var readTok struct {
		Secret string `json:"secret"`
	}
	manager.ok(201, "POST", "/api/v1/tokens", map[string]any{"name": "reader", "scope": "read"}, &readTok)
	reader := manager.withToken(readTok.Secret)

	year := 2026
	cycle := fmt.Sprintf("/api/v1/cycles/%s/%d", e.provider, year)
	start := map[string]any{"provider": e.provider, "year": year, "config": map[string]any{"max_rounds": 3}}
	people["north.staff"].refused(403, "only the provider's managers may", "POST", "/api/v1/cycles", start)
	reader.refused(403, "may only read", "POST", "/api/v1/cycles", start)
	script.refused(422, "year 26 is not a year", "POST", "/api/v1/cycles", map[string]any{"provider": e.provider, "year": 26})
	script.refused(422, "unknown field", "POST", "/api/v1/cycles", map[string]any{"provider": e.provider, "year": year, "yaer": 1})
	var started struct {
		CycleID string `json:"cycle_id"`
		Existed bool   `json:"existed"`
	}
	script.ok(201, "POST", "/api/v1/cycles", start, &started)
	if started.CycleID != review.CycleID(e.provider, year) || started.Existed {
		t.Fatalf("started %+v", started)
	}
	script.ok(200, "POST", "/api/v1/cycles", start, &started)
	if !started.Existed {
		t.Errorf("starting the cycle again: got %+v, want existed", started)
	}

	// Evaluate and consult, every unit; the wrong people refused.
	complete := func(c *browser, id string, outcome any) {
		t.Helper()
		c.waitOpen(id)
		var res struct {
			Status      string `json:"status"`
			CompletedBy string `json:"completed_by"`
		}
		c.ok(200, "POST", taskPath(id, "complete"), map[string]any{"outcome": outcome}, &res)
		if res.Status != review.TaskDone {
			t.Errorf("%s completing %s: got %+v", c.name, id, res)
		}
	}
	evalNorth := e.taskID(review.KindEvaluate, 0, "NORTH")
	people["north.staff"].waitOpen(evalNorth)
	people["north.rep"].refused(403, "may not complete task "+evalNorth, "POST", taskPath(evalNorth, "complete"), map[string]any{"outcome": evaluation("NORTH")})
	people["harbour.staff"].refused(403, "may not complete task "+evalNorth, "POST", taskPath(evalNorth, "complete"), map[string]any{"outcome": evaluation("NORTH")})
	people["north.staff"].refused(422, "severity must be one of", "POST", taskPath(evalNorth, "complete"),
		map[string]any{"outcome": map[string]any{"findings": []map[string]any{{"id": "F1", "section": "communal", "severity": "huge", "text": "x"}}}})
	people["north.staff"].refused(422, "outcome is required", "POST", taskPath(evalNorth, "complete"), map[string]any{})
	for _, u := range units {
		l := strings.ToLower(u)
		complete(people[l+".staff"], e.taskID(review.KindEvaluate, 0, u), evaluation(u))
		complete(people[l+".rep"], e.taskID(review.KindConsult, 0, u), consultation())
	}
	people["north.staff"].refused(409, "is already done", "POST", taskPath(evalNorth, "complete"), map[string]any{"outcome": evaluation("HARBOUR")})
	// The same completion again is answered as the first time.
	people["north.staff"].ok(200, "POST", taskPath(evalNorth, "complete"), map[string]any{"outcome": evaluation("NORTH")}, nil)

	// A student representative sees their unit's tasks, not the cycle.
	people["north.rep"].ok(200, "GET", taskPath(e.taskID(review.KindConsult, 0, "NORTH")), nil, nil)
	people["north.rep"].refused(403, "only their own unit's tasks", "GET", taskPath(e.taskID(review.KindEvaluate, 0, "HARBOUR")), nil)
	people["north.rep"].refused(403, "not the whole cycle", "GET", cycle, nil)

	// Round 1: the editor drafts; NORTH asks for changes.
	for round := 1; round <= 2; round++ {
		draftID := e.taskID(review.KindDraft, round, "")
		people["p.editor"].waitOpen(draftID)
		people["north.head"].refused(403, "may not complete task "+draftID, "POST", taskPath(draftID, "complete"), map[string]any{"outcome": draft(round)})
		complete(people["p.editor"], draftID, draft(round))
		for _, u := range units {
			l := strings.ToLower(u)
			id := e.taskID(review.KindSignOff, round, u)
			task := people[l+".head"].waitOpen(id)
			var in review.SignOffInput
			if err := json.Unmarshal(task.Input, &in); err != nil {
				t.Fatal(err)
			}
			decision := map[string]any{"decision": "approve", "version_hash": in.VersionHash}
			if round == 1 && u == "NORTH" {
				people["harbour.head"].refused(403, "may not complete task "+id, "POST", taskPath(id, "complete"), map[string]any{"outcome": decision})
				people["north.head"].refused(422, "is not the current draft's", "POST", taskPath(id, "complete"),
					map[string]any{"outcome": map[string]any{"decision": "approve", "version_hash": strings.Repeat("0", 64)}})
				complete(people["north.head"], id, map[string]any{"decision": "request_changes", "comment": "Name the rota's owner", "version_hash": in.VersionHash})
				break
			}
			complete(people[l+".head"], id, decision)
		}
	}
	approveID := e.taskID(review.KindApprove, 2, "")
	people["r.approver"].waitOpen(approveID)
	people["p.editor"].refused(403, "may not complete task "+approveID, "POST", taskPath(approveID, "complete"), map[string]any{"outcome": map[string]any{"decision": "approve", "effective_from": "2026-08-01"}})
	complete(people["r.approver"], approveID, map[string]any{"decision": "approve", "comment": "Approved", "effective_from": "2026-08-01"})

	// The cycle completes; the report and the audit trail are read through
	// the API.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var p review.Progress
		script.ok(200, "GET", cycle, nil, &p)
		if p.Status == review.CycleCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cycle did not complete: %+v", p)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rep := reader.ok(200, "GET", cycle+"/report?format=html", nil, nil)
	if !strings.HasPrefix(rep.header.Get("Content-Type"), "text/html") || !bytes.Contains(rep.body, []byte("NORTH/F1")) ||
		strings.Contains(rep.header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("the report: %s, CSP %q, %d bytes", rep.header.Get("Content-Type"), rep.header.Get("Content-Security-Policy"), len(rep.body))
	}
	people["north.rep"].refused(403, "the report is for the provider's staff", "GET", cycle+"/report", nil)
	var verified struct {
		Events int             `json:"events"`
		Broken json.RawMessage `json:"broken"`
	}
	reader.ok(200, "GET", "/api/v1/audit/verify", nil, &verified)
	if verified.Events == 0 || verified.Broken != nil {
		t.Errorf("audit verify: %+v", verified)
	}
	people["north.staff"].refused(403, "only the provider's auditors and managers may", "GET", "/api/v1/audit/verify", nil)
	var plan struct {
		Version int    `json:"version"`
		Hash    string `json:"hash"`
	}
	people["north.rep"].ok(200, "GET", "/api/v1/plans/"+e.provider, nil, &plan)
	if plan.Version != 1 || len(plan.Hash) != 64 {
		t.Errorf("the published plan as the student rep reads it: %+v", plan)
	}

	// A person of another provider reads nothing of this one.
	outsider := srv.client(t, "x.manager")
	idp.QueueUser(&mockoidc.MockUser{Subject: "x", Email: "x.manager@other.example", EmailVerified: true})
	if resp, err := outsider.http.Get(srv.base + "/auth/oidc/other"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("x.manager logging in: %v %v", resp, err)
	}
	outsider.refused(403, "only people of the provider may", "GET", cycle, nil)
	outsider.refused(403, "only people of the provider may", "GET", taskPath(evalNorth), nil)
	outsider.refused(403, "only people of the provider may", "GET", "/api/v1/plans/"+e.provider, nil)
	outsider.refused(403, "", "GET", cycle+"/report", nil)
	outsider.refused(403, "", "GET", "/api/v1/audit/events?provider="+e.provider, nil)
	var theirs []any
	outsider.ok(200, "GET", "/api/v1/cycles", nil, &theirs)
	if len(theirs) != 0 {
		t.Errorf("x.manager lists %d cycles, want none of %s's", len(theirs), e.provider)
	}

	// A request from another site that would change something is refused,
	// even with the session's cookie; a read is not.
	cross := manager.do("POST", "/api/v1/tokens", map[string]any{"name": "evil", "scope": "act"},
		"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if cross.code != http.StatusForbidden || !strings.Contains(cross.errorText(), "another site") {
		t.Errorf("a cross-origin POST with the session: got %s, want 403", cross)
	}
	if r := manager.do("GET", "/api/v1/session", nil, "Sec-Fetch-Site", "cross-site"); r.code != 200 {
		t.Errorf("a cross-origin GET: got %s, want 200", r)
	}

	// The manager revokes the script's token: it stops at once.
	script.ok(200, "GET", "/api/v1/session", nil, nil)
	manager.ok(204, "DELETE", "/api/v1/tokens/"+tok.ID, nil, nil)
	script.refused(401, "not valid", "GET", "/api/v1/session", nil)

	// A tampered session cookie opens nothing; nor does an expired one.
	tampered := srv.client(t, "tampered")
	base, _ := url.Parse(srv.base)
	for _, ck := range manager.http.Jar.Cookies(base) {
		if ck.Name == "oho_session" {
			tampered.http.Jar.SetCookies(base, []*http.Cookie{{Name: ck.Name, Value: ck.Value[:len(ck.Value)-2] + "xx"}})
		}
	}
	tampered.refused(401, "log in first", "GET", "/api/v1/session", nil)
	if _, err := e.db.Exec(`UPDATE sessions SET expiry = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	people["north.staff"].refused(401, "log in first", "GET", "/api/v1/inbox", nil)
	// A token is no session: the read token still works.
	reader.ok(200, "GET", "/api/v1/session", nil, nil)

	// Logout ends the session for good; its old cookie opens nothing.
	again := srv.client(t, "m.manager again")
	again.ok(200, "POST", "/api/v1/session", map[string]string{"person": "m.manager", "password": "correct horse battery"}, nil)
	cookies := again.http.Jar.Cookies(base)
	again.ok(204, "DELETE", "/api/v1/session", nil, nil)
	replay := srv.client(t, "replayed cookie")
	replay.http.Jar.SetCookies(base, cookies)
	replay.refused(401, "log in first", "GET", "/api/v1/session", nil)

	// Failed logins lock the account, with the same answer every time.
	login := func(password string) reply {
		return srv.client(t, "guesser").do("POST", "/api/v1/session", map[string]string{"person": "m.manager", "password": password})
	}
	first := login("wrong password 1")
	unknown := srv.client(t, "guesser").do("POST", "/api/v1/session", map[string]string{"person": "nobody.here", "password": "whatever it is"})
	if first.code != 401 || unknown.code != 401 || first.errorText() != unknown.errorText() {
		t.Errorf("a wrong password and an unknown person: got %s and %s, want the same 401", first, unknown)
	}
	for i := 2; i <= 6; i++ {
		login(fmt.Sprintf("wrong password %d", i))
	}
	if locked := login("correct horse battery"); locked.code != 401 || locked.errorText() != first.errorText() {
		t.Errorf("the right password on a locked account: got %s, want the same 401 as a wrong one", locked)
	}

	// Every change came through the web or the API, and says which.
	var viaWeb, viaAPI, viaNeither int
	if err := e.db.QueryRow(`
SELECT count(*) FILTER (WHERE channel = 'web' AND channel_ref LIKE 's\_%'),
       count(*) FILTER (WHERE channel = 'api' AND channel_ref = $1),
       count(*) FILTER (WHERE action IN ('task.completed', 'cycle.started') AND channel NOT IN ('web', 'api'))
FROM audit_events`, tok.ID).Scan(&viaWeb, &viaAPI, &viaNeither); err != nil {
		t.Fatal(err)
	}
	if viaWeb == 0 || viaAPI == 0 || viaNeither != 0 {
		t.Errorf("audit events: %d via web sessions, %d via the token %s, %d completions or starts via neither", viaWeb, viaAPI, tok.ID, viaNeither)
	}
	if n := e.count(`SELECT count(*) FROM audit_events WHERE action = 'task.completed'`); n != 3+3+2+3+1+1 {
		t.Errorf("task.completed events: got %d, want one per task done", n)
	}

	// SIGTERM stops the server within the grace period, cleanly.
	began := time.Now()
	srv.stop(syscall.SIGTERM)
	if code := srv.cmd.ProcessState.ExitCode(); code != 0 || time.Since(began) > 10*time.Second {
		t.Errorf("starter serve after SIGTERM: exit %d after %s, want 0 within 10s:\n%s", code, time.Since(began), srv.output())
	}
}
