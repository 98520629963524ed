package metrics_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/metrics"
	"github.com/oho-dev/oho/store"
)

// value is the value of the one series of the family name in reg with the
// labels (name=value pairs); it fails the test when there is none.
func value(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	v, ok := find(t, reg, name, labels...)
	if !ok {
		t.Fatalf("no series %s%v", name, labels)
	}
	return v
}

// series is how many series the family name has in reg.
func series(t *testing.T, reg prometheus.Gatherer, name string) int {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gathering: %v", err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return len(f.GetMetric())
		}
	}
	return 0
}

func find(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gathering: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if got[labels[i]] != labels[i+1] {
					continue series
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// TestCountRefusals answers requests with every status the web layer
// refuses with, and others, and checks each refusal is counted once under
// its kind, and nothing else.
func TestCountRefusals(t *testing.T) {
	reg := metrics.NewRegistry(nil, nil)
	h := metrics.CountRefusals(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.URL.Query().Get("code"), &code)
		if code == 0 {
			_, _ = w.Write([]byte("implicit 200"))
			return
		}
		w.WriteHeader(code)
		w.WriteHeader(http.StatusTeapot) // superfluous: the first status stands
	}))
	before := map[string]float64{}
	for _, r := range metrics.Reasons {
		before[r] = value(t, reg, "oho_refusals_total", "reason", r)
	}
	for _, req := range []struct {
		path string
		code int
	}{
		{"/api/v1/tasks/x?code=422", 422}, {"/tasks/x?code=413", 413},
		{"/api/v1/cycles?code=403", 403}, {"/tasks/y?code=403", 403},
		{"/nowhere?code=404", 404}, {"/api/v1/tasks/x/complete?code=409", 409},
		{"/api/v1/cycles?code=503", 503}, {"/api/v1/session?code=401", 401},
		// Not refusals: successes, a failure, and the health probes.
		{"/?code=0", 200}, {"/?code=303", 303}, {"/?code=500", 500}, {"/?code=405", 405},
		{"/readyz?code=503", 503}, {"/healthz?code=0", 200},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", req.path, nil))
		if rec.Code != req.code {
			t.Errorf("%s: answered %d, want %d", req.path, rec.Code, req.code)
		}
	}
	want := map[string]float64{
		metrics.ReasonInvalid: 2, metrics.ReasonForbidden: 2, metrics.ReasonNotFound: 1,
		metrics.ReasonConflict: 1, metrics.ReasonUnavailable: 1, metrics.ReasonUnauthenticated: 1,
	}
	for _, r := range metrics.Reasons {
		if got := value(t, reg, "oho_refusals_total", "reason", r) - before[r]; got != want[r] {
			t.Errorf("refusals %s: counted %v, want %v", r, got, want[r])
		}
	}
	if n := series(t, reg, "oho_refusals_total"); n != len(metrics.Reasons) {
		t.Errorf("oho_refusals_total has %d series, want one per reason (%d)", n, len(metrics.Reasons))
	}
}

// TestCounters checks what each recording function counts.
func TestCounters(t *testing.T) {
	reg := metrics.NewRegistry(nil, nil)
	read := func() []float64 {
		v := func(name string, labels ...string) float64 {
			x, _ := find(t, reg, name, labels...)
			return x
		}
		return []float64{
			v("oho_tasks_completed_total", "kind", "evaluate", "channel", "cli"),
			v("oho_tasks_completed_total", "kind", "draft", "channel", "unknown"),
			v("oho_notices_sent_total", "via", "mail"),
			v("oho_notices_sent_total", "via", "log"),
			v("oho_notices_failed_total"),
			v("oho_notices_uncertain_total"),
			v("oho_audit_append_seconds"),
		}
	}
	before := read()
	metrics.TaskCompleted("evaluate", "cli")
	metrics.TaskCompleted("evaluate", "cli")
	metrics.TaskCompleted("draft", "")
	for _, s := range []string{"sent", "sent", "logged", "failed", "uncertain", "pending", "sending"} {
		metrics.NoticeFinished(s)
	}
	metrics.NoticesUncertain(3)
	metrics.AuditAppended(3 * time.Millisecond)
	after := read()
	want := []float64{2, 1, 2, 1, 1, 4, 1}
	for i := range want {
		if got := after[i] - before[i]; got != want[i] {
			t.Errorf("series %d: counted %v, want %v", i, got, want[i])
		}
	}
}

// TestDatabaseGauges reads the gauges from a database holding open, overdue
// and closed tasks and notices in every state, as the application role, and
// then from a database that does not answer.
func TestDatabaseGauges(t *testing.T) {
	ctx := context.Background()
	admin, app := dbtest.NewWithApp(t)
	const setup = `
INSERT INTO providers (code, name) VALUES ('ACME', 'Acme College');
INSERT INTO people (id, provider_code, name) VALUES ('acme.nurse', 'ACME', 'Nurse');
INSERT INTO cycles (id, provider_code, year, status, phase) VALUES ('c1', 'ACME', 2027, 'running', 'evaluate');
INSERT INTO tasks (id, cycle_id, workflow_id, kind, unit_code, role, status, due_at, outcome, completed_by) VALUES
  ('t1', 'c1', 'c1', 'evaluate', 'N', 'welfare_staff', 'open', now() - interval '1 hour', NULL, NULL),
  ('t2', 'c1', 'c1', 'evaluate', 'S', 'welfare_staff', 'open', now() - interval '1 day', NULL, NULL),
  ('t3', 'c1', 'c1', 'consult', 'N', 'student_rep', 'open', now() + interval '1 day', NULL, NULL),
  ('t4', 'c1', 'c1', 'consult', 'S', 'student_rep', 'done', now() - interval '2 days', '{}', 'acme.nurse'),
  ('t5', 'c1', 'c1', 'consult', 'E', 'student_rep', 'superseded', now() - interval '2 days', NULL, NULL);
INSERT INTO notifications (id, provider_code, person_id, kind, task_id, subject, body, state, next_attempt_at) VALUES
  ('n1', 'ACME', 'acme.nurse', 'reminder', 't1', 's', 'b', 'pending', now()),
  ('n2', 'ACME', 'acme.nurse', 'reminder', 't2', 's', 'b', 'pending', now() + interval '1 hour'),
  ('n3', 'ACME', 'acme.nurse', 'reminder', 't3', 's', 'b', 'sending', now()),
  ('n4', 'ACME', 'acme.nurse', 'overdue', 't1', 's', 'b', 'sent', now()),
  ('n5', 'ACME', 'acme.nurse', 'overdue', 't2', 's', 'b', 'failed', now()),
  ('n6', 'ACME', 'acme.nurse', 'overdue', 't3', 's', 'b', 'uncertain', now()),
  ('n7', 'ACME', 'acme.nurse', 'assigned', 't3', 's', 'b', 'logged', now())`
	if _, err := admin.ExecContext(ctx, setup); err != nil {
		t.Fatalf("setting up: %v", err)
	}
	var logs strings.Builder
	reg := metrics.NewRegistry(app.DB, slog.New(slog.NewTextHandler(&logs, nil)))
	for name, want := range map[string]float64{
		"oho_tasks_open": 3, "oho_tasks_overdue": 2, "oho_notices_pending": 2, "oho_metrics_database_up": 1,
	} {
		if got := value(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if _, ok := find(t, reg, "go_sql_open_connections", "db_name", "oho"); !ok {
		t.Error("no connection pool metrics (go_sql_open_connections{db_name=\"oho\"})")
	}

	// A database that does not answer: the gauges are left out, the rest
	// is served.
	down, err := sql.Open("postgres", "postgres://oho_app@127.0.0.1:1/nowhere?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	reg = metrics.NewRegistry(down, slog.New(slog.NewTextHandler(&logs, nil)))
	if got := value(t, reg, "oho_metrics_database_up"); got != 0 {
		t.Errorf("oho_metrics_database_up = %v with the database down, want 0", got)
	}
	if _, ok := find(t, reg, "oho_tasks_overdue"); ok {
		t.Error("oho_tasks_overdue reported with the database down")
	}
	if _, ok := find(t, reg, "go_goroutines"); !ok {
		t.Error("the Go runtime's metrics are missing with the database down")
	}
	if !strings.Contains(logs.String(), "reading the database gauges failed") {
		t.Errorf("the failed read was not logged: %s", logs.String())
	}
}

// TestAuditAppendObserved records audit events through the store and sees
// each append observed: the two events of one transaction are one append
// (one INSERT, just before its commit), and an event alone is another.
func TestAuditAppendObserved(t *testing.T) {
	_, app := dbtest.NewWithApp(t)
	reg := metrics.NewRegistry(nil, nil)
	s := store.New(app)
	before := value(t, reg, "oho_audit_append_seconds")
	err := s.RecordIdentity(context.Background(),
		store.IdentityEvent{Actor: "acme.nurse", Action: store.ActionLogout, Person: "acme.nurse"},
		store.IdentityEvent{Actor: "acme.nurse", Action: store.ActionLogout, Person: "acme.nurse"})
	if err != nil {
		t.Fatal(err)
	}
	if got := value(t, reg, "oho_audit_append_seconds") - before; got != 1 {
		t.Errorf("observed %v appends of a transaction's two events, want 1", got)
	}
	if err := s.RecordScheduleChange(context.Background(), "acme.manager", store.ActionScheduleSet, "yearly-start/ACME", nil); err != nil {
		t.Fatal(err)
	}
	if got := value(t, reg, "oho_audit_append_seconds") - before; got != 2 {
		t.Errorf("observed %v appends after an event alone, want 2", got)
	}
}

func TestCheckAddress(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:9464": true, ":9464": true, "localhost:9464": true, "[::1]:9464": true, "127.0.0.1:0": true,
		"9464": false, "127.0.0.1": false, "127.0.0.1:metrics": false, "127.0.0.1:70000": false, "http://127.0.0.1:9464": false,
	} {
		err := metrics.CheckAddress(addr)
		if (err == nil) != ok {
			t.Errorf("CheckAddress(%q) = %v, want ok %v", addr, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "OHO_METRICS_ADDRESS") {
			t.Errorf("CheckAddress(%q): %v does not name the variable", addr, err)
		}
	}
	t.Setenv("OHO_METRICS_ADDRESS", "")
	if addr, err := metrics.AddressFromEnv(); addr != "" || err != nil {
		t.Errorf("unset: got %q, %v; want no listener", addr, err)
	}
	t.Setenv("OHO_METRICS_ADDRESS", "9464")
	if _, err := metrics.AddressFromEnv(); err == nil {
		t.Error("OHO_METRICS_ADDRESS=9464 accepted")
	}
}

// TestListen serves /metrics on a free port, with a metric reported
// through the Temporal handler as the SDK reports it, and refuses an
// address already taken.
func TestListen(t *testing.T) {
	if ep, err := metrics.Listen("", nil, nil); ep != nil || err != nil || ep.TemporalHandler() != nil || ep.Close() != nil {
		t.Fatalf("Listen(\"\") = %v, %v: want no endpoint", ep, err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ep, err := metrics.Listen("127.0.0.1:0", nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	h := ep.TemporalHandler().WithTags(map[string]string{"namespace": "default", "task_queue": "oho-test"})
	h.Counter("temporal_request").Inc(3)
	h.Timer("temporal_workflow_endtoend_latency").Record(40 * time.Millisecond)
	metrics.TaskCompleted("consult", "web")

	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + ep.Addr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
		}
		body = string(b)
		// Tally hands the SDK's metrics over once a second.
		if strings.Contains(body, `temporal_request_total{namespace="default",task_queue="oho_test"} 3`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{
		`temporal_request_total{namespace="default",task_queue="oho_test"} 3`,
		`temporal_workflow_endtoend_latency_seconds_count{namespace="default",task_queue="oho_test"} 1`,
		`oho_tasks_completed_total{channel="web",kind="consult"}`,
		"# HELP oho_audit_append_seconds",
		"go_goroutines",
		"promhttp_metric_handler_requests_total",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "tally_internal") {
		t.Error("/metrics has tally's own cardinality metrics")
	}
	resp, err := http.Get("http://" + ep.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /: %d, want 404 (the listener serves /metrics only)", resp.StatusCode)
	}

	// An address in use stops the program with a line naming the variable.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if _, err := metrics.Listen(taken.Addr().String(), nil, logger); err == nil || !strings.Contains(err.Error(), "OHO_METRICS_ADDRESS "+taken.Addr().String()+": cannot listen") {
		t.Errorf("listening on a taken address: got %v", err)
	}
}
