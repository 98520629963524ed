// Package metrics is what OHO's programs tell Prometheus: the worker and
// `starter serve` each serve /metrics on a listener of its own when
// OHO_METRICS_ADDRESS is set (see Listen), from one registry that holds the
// Temporal SDK's metrics and OHO's own. The command line serves none.
//
// # OHO's metrics
//
// Counters count what the process itself did since it started; Prometheus
// sums them over the processes (rate, increase). Gauges are read from
// PostgreSQL when the endpoint is scraped, so every process reports the same
// value for the whole database: take max, not sum, over processes.
//
//	oho_tasks_completed_total{kind,channel}  counter: tasks completed, as the store recorded them in this
//	                                         process (the worker's activities record every completion);
//	                                         kind evaluate|consult|draft|signoff|approve, channel
//	                                         web|api|cli (how the person came), "unknown" when none was told.
//	                                         A completion sent again and answered as before is not counted.
//	oho_refusals_total{reason}               counter: requests the web server refused, by the service's kind
//	                                         of refusal: invalid, forbidden, not_found, conflict,
//	                                         unavailable, unauthenticated (a body over the size limit counts
//	                                         as invalid). Counted in one place, from the status the web layer
//	                                         answered (see CountRefusals), pages and API alike; the health
//	                                         probes are not counted.
//	oho_tasks_open                           gauge: open tasks in the database.
//	oho_tasks_overdue                        gauge: open tasks past their due time.
//	oho_notices_pending                      gauge: notices in the outbox waiting to be delivered, those
//	                                         waiting for a retry included.
//	oho_notices_sent_total{via}              counter: notices this process's sender delivered: via="mail" (the
//	                                         SMTP server accepted it) or via="log" (log-only mode, or a person
//	                                         without an address).
//	oho_notices_failed_total                 counter: notices this process's sender gave up on (attempts used
//	                                         up, an unusable address, a notice it cannot write).
//	oho_notices_uncertain_total              counter: notices whose mail may or may not have gone, which are
//	                                         never resent automatically (package notify): each one needs an
//	                                         operator, so alert on any increase.
//	oho_audit_append_seconds                 histogram: how long appending to the audit trail took: the
//	                                         one INSERT of the events a transaction recorded, which waits for
//	                                         the chain's head row that concurrent writers hold until they
//	                                         commit, so contention on the chain shows here.
//	oho_metrics_database_up                  gauge: 1 when the gauges above could be read at this scrape, 0
//	                                         when the database did not answer (the gauges are then left out).
//
// The registry also holds the Go runtime's metrics (go_*), the process's
// (process_*) and the database connection pool's (go_sql_*, db="oho").
//
// # Temporal's metrics
//
// The Temporal client reports through TemporalHandler: the SDK's metrics
// (temporal_request_total, temporal_workflow_task_execution_latency_seconds,
// temporal_activity_execution_latency_seconds, temporal_worker_task_slots_available,
// ... with the namespace and task queue as labels) under the names the
// Temporal documentation and dashboards use, through the SDK's tally
// contrib and tally's Prometheus reporter into the same registry. Tally
// hands them over once a second, so they lag by up to that.
//
// The counters are package variables so that the store, the notice sender
// and the web layer record with one call and no plumbing; they count whether
// or not an endpoint serves them.
package metrics

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

var (
	tasksCompleted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oho_tasks_completed_total",
		Help: "Tasks completed, as recorded by this process, by task kind and the channel the person came by.",
	}, []string{"kind", "channel"})
	refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oho_refusals_total",
		Help: "Requests refused by the web server, by the service's kind of refusal.",
	}, []string{"reason"})
	noticesSent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oho_notices_sent_total",
		Help: "Notices delivered by this process's sender: via mail (accepted by the SMTP server) or log.",
	}, []string{"via"})
	noticesFailed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "oho_notices_failed_total",
		Help: "Notices this process's sender gave up on.",
	})
	noticesUncertain = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "oho_notices_uncertain_total",
		Help: "Notices whose mail may or may not have gone; each needs an operator to check and resend or close it.",
	})
	auditAppend = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "oho_audit_append_seconds",
		Help: "Time to append a transaction's events (one INSERT) to the hash-chained audit trail, waiting for the chain's head included.",
		// 0.25 ms to about 4 s.
		Buckets: prometheus.ExponentialBuckets(0.00025, 2, 15),
	})
)

// The reasons of oho_refusals_total: the service's kinds of refusal.
const (
	ReasonInvalid         = "invalid"
	ReasonForbidden       = "forbidden"
	ReasonNotFound        = "not_found"
	ReasonConflict        = "conflict"
	ReasonUnavailable     = "unavailable"
	ReasonUnauthenticated = "unauthenticated"
)

// Reasons are the values of oho_refusals_total's reason, in the order of
// service/errors.go.
var Reasons = []string{ReasonInvalid, ReasonForbidden, ReasonNotFound, ReasonConflict, ReasonUnavailable, ReasonUnauthenticated}

// TaskCompleted counts a task of the kind completed by a person who came by
// channel ("" when none was told).
func TaskCompleted(kind, channel string) {
	if channel == "" {
		channel = "unknown"
	}
	tasksCompleted.WithLabelValues(kind, channel).Inc()
}

// Refused counts a refusal for the reason, one of Reasons.
func Refused(reason string) {
	refusals.WithLabelValues(reason).Inc()
}

// NoticeFinished counts a notice the sender finished in the state (package
// notify's: sent, logged, failed or uncertain); other states are not final
// and count nothing.
func NoticeFinished(state string) {
	switch state {
	case "sent":
		noticesSent.WithLabelValues("mail").Inc()
	case "logged":
		noticesSent.WithLabelValues("log").Inc()
	case "failed":
		noticesFailed.Inc()
	case "uncertain":
		noticesUncertain.Inc()
	}
}

// NoticesUncertain counts n notices made uncertain at once (those a dead
// sender left sending).
func NoticesUncertain(n int) {
	noticesUncertain.Add(float64(n))
}

// AuditAppended observes the time one append to the audit trail took: one
// INSERT of the events a transaction recorded.
func AuditAppended(d time.Duration) {
	auditAppend.Observe(d.Seconds())
}

// statusReasons gives each HTTP status the web layer answers a refusal with
// (web/errors.go) the kind of refusal it stands for.
var statusReasons = map[int]string{
	http.StatusUnprocessableEntity:   ReasonInvalid,
	http.StatusRequestEntityTooLarge: ReasonInvalid,
	http.StatusForbidden:             ReasonForbidden,
	http.StatusNotFound:              ReasonNotFound,
	http.StatusConflict:              ReasonConflict,
	http.StatusServiceUnavailable:    ReasonUnavailable,
	http.StatusUnauthorized:          ReasonUnauthenticated,
}

// CountRefusals counts each request that h answers with a refusal's status
// in oho_refusals_total. Package web answers every refusal of every kind,
// its own and the service's, pages and API alike, with the status of its
// kind (web/errors.go: 422, 403, 404, 409, 503, 401, and 413 for a body over
// the limit), so the status names the kind exactly. The health probes
// (/healthz, /readyz) are not counted. Every reason is shown from the start,
// at 0.
func CountRefusals(h http.Handler) http.Handler {
	for _, r := range Reasons {
		refusals.WithLabelValues(r)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if probes[r.URL.Path] {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		if reason, ok := statusReasons[sw.code]; ok {
			Refused(reason)
		}
	})
}

// probes are the paths a load balancer or supervisor polls: a 503 from
// /readyz while the database is down is the answer it asked for, not a
// refusal of anyone's request.
var probes = map[string]bool{"/healthz": true, "/readyz": true}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer beneath (flushing,
// deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// NewRegistry returns a registry with OHO's metrics, the Go runtime's and
// the process's and, when db is not nil, the gauges read from the database
// at each scrape and its connection pool's. logger receives the reason a
// database read failed; slog.Default when nil.
func NewRegistry(db *sql.DB, logger *slog.Logger) *prometheus.Registry {
	if logger == nil {
		logger = slog.Default()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		tasksCompleted, refusals, noticesSent, noticesFailed, noticesUncertain, auditAppend,
	)
	if db != nil {
		reg.MustRegister(collectors.NewDBStatsCollector(db, "oho"), &databaseCollector{db: db, logger: logger})
	}
	return reg
}

// databaseCollector reads the gauges from the database at each scrape.
type databaseCollector struct {
	db     *sql.DB
	logger *slog.Logger
}

var (
	tasksOpenDesc      = prometheus.NewDesc("oho_tasks_open", "Open tasks in the database.", nil, nil)
	tasksOverdueDesc   = prometheus.NewDesc("oho_tasks_overdue", "Open tasks past their due time.", nil, nil)
	noticesPendingDesc = prometheus.NewDesc("oho_notices_pending", "Notices in the outbox waiting to be delivered, retries included.", nil, nil)
	databaseUpDesc     = prometheus.NewDesc("oho_metrics_database_up", "1 when the database gauges could be read at this scrape, else 0.", nil, nil)
)

// ScrapeTimeout bounds the database reads of one scrape.
const ScrapeTimeout = 3 * time.Second

func (c *databaseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tasksOpenDesc
	ch <- tasksOverdueDesc
	ch <- noticesPendingDesc
	ch <- databaseUpDesc
}

// Collect reads the gauges in one statement. Both counts go through partial
// indexes of the rows they count (tasks_open_idx, notifications_pending_idx),
// so a scrape stays cheap however many closed tasks and delivered notices
// the tables hold.
func (c *databaseCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	const q = `
SELECT (SELECT count(*) FROM tasks WHERE status = 'open'),
       (SELECT count(*) FROM tasks WHERE status = 'open' AND due_at < now()),
       (SELECT count(*) FROM notifications WHERE state = 'pending')`
	var open, overdue, pending int64
	if err := c.db.QueryRowContext(ctx, q).Scan(&open, &overdue, &pending); err != nil {
		c.logger.Warn("metrics: reading the database gauges failed", "error", err)
		ch <- prometheus.MustNewConstMetric(databaseUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(databaseUpDesc, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(tasksOpenDesc, prometheus.GaugeValue, float64(open))
	ch <- prometheus.MustNewConstMetric(tasksOverdueDesc, prometheus.GaugeValue, float64(overdue))
	ch <- prometheus.MustNewConstMetric(noticesPendingDesc, prometheus.GaugeValue, float64(pending))
}
