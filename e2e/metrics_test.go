package e2e

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/smtptest"
)

// scrape reads a /metrics page in the text format: each series, written
// as the page writes it (name{label="value",...}, labels in name order),
// with its value.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scraping %s: %v", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scraping %s: %d %s", addr, resp.StatusCode, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scraping %s: %q is not a sample", addr, line)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// family returns the series of the metric name (its samples, for a
// histogram name_bucket and the like) in a scrape.
// scrapeUntil scrapes the metrics until a series of the family matches
// (the SDK reports some only after a while), for at most 30 s, and returns
// the last scrape, which the test's checks then judge.
func scrapeUntil(t *testing.T, addr, name string, match func(series string) bool) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := scrape(t, addr)
		if slices.ContainsFunc(family(m, name), match) || time.Now().After(deadline) {
			return m
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func family(m map[string]float64, name string) []string {
	var out []string
	for k := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// TestMetrics runs a worker and 'starter serve', each with its metrics
// listener (OHO_METRICS_ADDRESS), through the start of a cycle: a task
// completed at the command line and one through the web session, refusals
// through the API, notices mailed, logged and one that fails, a task gone
// overdue. Each process's /metrics then holds exactly what it did, the
// database's gauges, and the Temporal SDK's metrics. A bad address stops
// either program at start.
func TestMetrics(t *testing.T) {
	mail := smtptest.Start(t)
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Shutdown() })

	e := newEnv(t)
	addr, workerMetrics, serverMetrics := freeAddr(t), freeAddr(t), freeAddr(t)
	base := append(slices.Clip(e.vars), "SMTP_URL="+mail.URL()+"?from=oho@example.fi", "OHO_NOTIFY_POLL=100ms", "OHO_BASE_URL=http://"+addr)

	// A bad address stops either program at start, saying so.
	for _, bad := range []string{"9464", "127.0.0.1:http-alt"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, "worker"))
		cmd.Env = append(slices.Clip(base), "OHO_METRICS_ADDRESS="+bad)
		out, err := cmd.CombinedOutput()
		cancel()
		if want := `OHO_METRICS_ADDRESS \"` + bad + `\" is not an address to listen on`; err == nil || !strings.Contains(string(out), want) {
			t.Errorf("worker with OHO_METRICS_ADDRESS=%s: got %v\n%s\nwant it to stop saying %s", bad, err, out, want)
		}
		e.vars = base
		r := e.starterWith([]string{"OHO_METRICS_ADDRESS=" + bad}, "serve", "--addr", freeAddr(t))
		firstLine, _, _ := strings.Cut(r.stderr, "\n")
		if want := `OHO_METRICS_ADDRESS "` + bad + `" is not an address to listen on such as 127.0.0.1:9464`; r.code != 1 || !strings.Contains(firstLine, want) {
			t.Errorf("serve with OHO_METRICS_ADDRESS=%s: got %s, want exit 1 saying %s", bad, r, want)
		}
	}

	e.vars = append(slices.Clip(base), "OHO_METRICS_ADDRESS="+workerMetrics)
	wk := e.startWorker()
	e.vars = base
	org := e.org()
	for _, p := range org["people"].([]map[string]any) {
		// Students' representatives are role accounts without an
		// address: their notices are logged.
		if id := p["id"].(string); !strings.HasSuffix(id, ".rep") {
			p["email"] = mailOf(id)
		}
	}
	e.ok("org", "import", e.file("org.json", org))
	e.vars = append(slices.Clip(base), "OHO_METRICS_ADDRESS="+serverMetrics)
	srv := e.startServer(addr, "--oidc", e.file("idps.json", map[string]any{"identity_providers": []map[string]any{{
		"id": "staff", "provider": e.provider, "name": "Staff", "issuer": idp.Issuer(),
		"client_id": idp.ClientID, "client_secret": idp.ClientSecret, "match": "email"}}}))
	e.vars = base

	// The metrics are not served with the pages.
	if resp, err := http.Get(srv.base + "/metrics"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the pages' address: got %v %v, want 404", resp, err)
	} else {
		resp.Body.Close()
	}

	// The consultations are due at once, so they go overdue; the
	// evaluations in two hours.
	cfg := e.file("config.json", `{"phases": {"evaluate": "2h", "consult": "1s", "update": "1h", "signoff": "1h", "approve": "1h"}}`)
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year, "--config", cfg)

	// One evaluation at the command line, sent twice (recorded once), and
	// one refused there (which the command line does not count: it serves
	// no metrics).
	north := e.taskID(review.KindEvaluate, 0, "NORTH")
	e.waitTask(north)
	e.refused(1, "may not complete", "task", "complete", north, "--as", "north.rep", "--outcome", e.file("n.json", evaluation("NORTH")))
	e.complete(north, "north.staff", evaluation("NORTH"))
	e.ok("task", "complete", north, "--as", "north.staff", "--outcome", e.file("n.json", evaluation("NORTH")))

	// One through the web session, with refusals on the way: a person who
	// may not, an invalid outcome, nobody logged in.
	harbour := e.taskID(review.KindEvaluate, 0, "HARBOUR")
	e.waitTask(harbour)
	staff := srv.client(t, "harbour.staff")
	staff.loginOIDC(idp, &mockoidc.MockUser{Subject: "entra-harbour", Email: mailOf("harbour.staff"), EmailVerified: true}, "staff")
	head := srv.client(t, "north.head")
	head.loginOIDC(idp, &mockoidc.MockUser{Subject: "entra-nhead", Email: mailOf("north.head"), EmailVerified: true}, "staff")
	head.refused(403, "may not complete task "+harbour, "POST", taskPath(harbour, "complete"), map[string]any{"outcome": evaluation("HARBOUR")})
	staff.refused(422, "severity must be one of", "POST", taskPath(harbour, "complete"),
		map[string]any{"outcome": map[string]any{"findings": []map[string]any{{"id": "F1", "section": "communal", "severity": "huge", "text": "x"}}}})
	srv.client(t, "nobody").refused(401, "", "GET", "/api/v1/tasks", nil)
	staff.ok(200, "POST", taskPath(harbour, "complete"), map[string]any{"outcome": evaluation("HARBOUR")}, nil)
	staff.refused(409, "is already done", "POST", taskPath(harbour, "complete"), map[string]any{"outcome": evaluation("NORTH")})

	// The outbox: a notice no server can take (queued as a newer OHO or a
	// hand might), and one waiting for its next attempt in an hour.
	if _, err := e.db.Exec(`
INSERT INTO notifications (id, provider_code, person_id, email, kind, subject, body, next_attempt_at) VALUES
  ('test/bad-address', $1, 'forest.staff', 'forest.staff@@college', 'reminder', 'Test', 'Test', now()),
  ('test/later', $1, 'forest.staff', $2, 'reminder', 'Test', 'Test', now() + interval '1 hour')`, e.provider, mailOf("forest.staff")); err != nil {
		t.Fatal(err)
	}

	// Wait until the worker has escalated the three overdue consultations
	// and delivered every notice due, then compare each process's metrics
	// with what the database holds.
	var notices struct {
		Sent, Logged, Failed, Pending, Busy, Escalations int
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if err := e.db.Get(&notices, `
SELECT count(*) FILTER (WHERE state = 'sent') AS sent, count(*) FILTER (WHERE state = 'logged') AS logged,
       count(*) FILTER (WHERE state = 'failed') AS failed, count(*) FILTER (WHERE state = 'pending') AS pending,
       count(*) FILTER (WHERE state IN ('sending', 'uncertain') OR (state = 'pending' AND next_attempt_at <= now())) AS busy,
       count(*) FILTER (WHERE kind = 'escalation') AS escalations
FROM notifications`); err != nil {
			t.Fatal(err)
		}
		if notices.Busy == 0 && notices.Escalations == 3 && notices.Failed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox did not settle within a minute: %+v", notices)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if notices.Sent == 0 || notices.Logged == 0 || notices.Pending != 1 {
		t.Fatalf("the outbox holds %+v; want notices mailed, logged and one pending", notices)
	}
	t.Logf("outbox: %+v", notices)

	// The worker: the tasks it recorded, the notices it delivered, the
	// gauges, the audit appends, and the SDK's metrics (handed over once
	// a second).
	want := map[string]float64{
		`oho_tasks_completed_total{channel="cli",kind="evaluate"}`: 1,
		`oho_tasks_completed_total{channel="web",kind="evaluate"}`: 1,
		`oho_notices_sent_total{via="mail"}`:                       float64(notices.Sent),
		`oho_notices_sent_total{via="log"}`:                        float64(notices.Logged),
		`oho_notices_failed_total`:                                 1,
		`oho_notices_uncertain_total`:                              0,
		`oho_notices_pending`:                                      1,
		`oho_tasks_open`:                                           4, // 3 consultations, FOREST's evaluation
		`oho_tasks_overdue`:                                        3,
		`oho_metrics_database_up`:                                  1,
	}
	w := scrapeUntil(t, workerMetrics, "temporal_workflow_task_execution_latency_seconds_count", func(k string) bool {
		return strings.Contains(k, `workflow_type="ReviewCycle"`) && strings.Contains(k, `task_queue="`+strings.ReplaceAll(queueOf(e), "-", "_")+`"`)
	})
	for series, v := range want {
		if got, ok := w[series]; !ok || got != v {
			t.Errorf("worker: %s = %v (present %v), want %v", series, got, ok, v)
		}
	}
	if got := family(w, "oho_tasks_completed_total"); len(got) != 2 {
		t.Errorf("worker: tasks completed %v, want the two evaluations only", got)
	}
	if got := family(w, "oho_refusals_total"); len(got) != 0 {
		t.Errorf("worker: refusals %v: the worker refuses no requests", got)
	}
	// Every event but those the command line (the organisation, the
	// cycle's start) and the server (the logins) recorded. A transaction
	// appends its events in one INSERT, so there is an append for each
	// transaction that recorded any (the events' xmin), more if one was run
	// again.
	var workerEvents, workerTxs int
	if err := e.db.QueryRow(`SELECT count(*), count(DISTINCT xmin::text) FROM audit_events WHERE action NOT IN ('org.imported', 'cycle.started', 'login.succeeded')`).Scan(&workerEvents, &workerTxs); err != nil {
		t.Fatal(err)
	}
	if got := w[`oho_audit_append_seconds_count`]; got < float64(workerTxs) || workerTxs == 0 || w[`oho_audit_append_seconds_sum`] <= 0 {
		t.Errorf("worker: %v audit appends observed (sum %v s), want at least one for each of the %d transactions whose events its activities recorded", got, w[`oho_audit_append_seconds_sum`], workerTxs)
	}
	t.Logf("worker: %v audit appends in %.4f s; %d events recorded by activities in %d transactions", w[`oho_audit_append_seconds_count`], w[`oho_audit_append_seconds_sum`], workerEvents, workerTxs)
	t.Logf("worker: the Temporal SDK's metrics: %s", strings.Join(names(w, "temporal_"), " "))
	for _, name := range []string{
		"temporal_request_total", "temporal_workflow_task_execution_latency_seconds_bucket",
		"temporal_activity_execution_latency_seconds_bucket", "temporal_workflow_task_queue_poll_succeed_total",
	} {
		if len(family(w, name)) == 0 {
			t.Errorf("worker: no %s among the Temporal SDK's metrics: %v", name, family(w, "temporal_"))
		}
	}

	// The web server: the refusals it answered, the same gauges, the SDK's
	// client metrics (the Update that completed HARBOUR's evaluation).
	want = map[string]float64{
		`oho_refusals_total{reason="forbidden"}`:       1,
		`oho_refusals_total{reason="invalid"}`:         1,
		`oho_refusals_total{reason="unauthenticated"}`: 1,
		`oho_refusals_total{reason="conflict"}`:        1,
		`oho_refusals_total{reason="not_found"}`:       1, // GET /metrics on the pages' address
		`oho_refusals_total{reason="unavailable"}`:     0,
		`oho_notices_pending`:                          1,
		`oho_tasks_overdue`:                            3,
	}
	s := scrapeUntil(t, serverMetrics, "temporal_long_request_total", func(k string) bool {
		return strings.Contains(k, `operation="UpdateWorkflowExecution"`)
	})
	for series, v := range want {
		if got, ok := s[series]; !ok || got != v {
			t.Errorf("server: %s = %v (present %v), want %v", series, got, ok, v)
		}
	}
	if got := family(s, "oho_tasks_completed_total"); len(got) != 0 {
		t.Errorf("server: tasks completed %v: the worker records completions", got)
	}
	var logins int
	if err := e.db.Get(&logins, `SELECT count(*) FROM audit_events WHERE action = 'login.succeeded'`); err != nil {
		t.Fatal(err)
	}
	if got := s[`oho_audit_append_seconds_count`]; got != float64(logins) || logins != 2 {
		t.Errorf("server: %v audit appends observed, want its %d logins", got, logins)
	}
	// An Update waits for the worker: the SDK counts it as a long request.
	if !slices.ContainsFunc(family(s, "temporal_long_request_total"), func(k string) bool {
		return strings.Contains(k, `operation="UpdateWorkflowExecution"`) && strings.HasSuffix(k, `"}`)
	}) || len(family(s, "temporal_request_total")) == 0 {
		t.Errorf("server: no Update among the Temporal client's requests: %v", family(s, "temporal_"))
	}
	for name, out := range map[string]string{"worker": wk.output(), "server": srv.output()} {
		if strings.Contains(out, "could not be registered") {
			t.Errorf("%s: a Temporal SDK metric was refused by the registry:\n%s", name, out)
		}
	}
}

// names are the metric names in a scrape that start with prefix.
func names(m map[string]float64, prefix string) []string {
	var out []string
	for k := range m {
		if name, _, _ := strings.Cut(k, "{"); strings.HasPrefix(name, prefix) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// queueOf is the task queue of the world's worker.
func queueOf(e *env) string {
	for _, v := range e.vars {
		if q, ok := strings.CutPrefix(v, "OHO_TASK_QUEUE="); ok {
			return q
		}
	}
	return ""
}
