package metrics

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// AddressVar names the environment variable of the metrics listener's
// address.
const AddressVar = "OHO_METRICS_ADDRESS"

// AddressFromEnv returns OHO_METRICS_ADDRESS, "" when it is unset (no
// metrics listener), or an error that says what is wrong with it.
func AddressFromEnv() (string, error) {
	addr := strings.TrimSpace(os.Getenv(AddressVar))
	if addr == "" {
		return "", nil
	}
	return addr, CheckAddress(addr)
}

// CheckAddress refuses an address that is not host:port with a port number
// (the host may be empty, which means every interface).
func CheckAddress(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		var n uint64
		if n, err = strconv.ParseUint(port, 10, 16); err == nil && n == 0 && port != "0" {
			err = errors.New("no port")
		}
	}
	if err != nil {
		return fmt.Errorf("%s %q is not an address to listen on such as 127.0.0.1:9464 (host:port)", AddressVar, addr)
	}
	return nil
}

// Endpoint is a process's metrics listener: /metrics, served from one
// registry that holds OHO's metrics and the Temporal SDK's.
type Endpoint struct {
	reg     *prometheus.Registry
	handler client.MetricsHandler
	scope   io.Closer
	ln      net.Listener
	srv     *http.Server
	served  chan struct{}
	logger  *slog.Logger
}

// Listen starts serving /metrics on addr (host:port; port 0 picks a free
// one), with OHO's metrics, the gauges read from db, and the Temporal SDK's
// metrics that a client dialled with TemporalHandler reports. An empty addr
// means no metrics: Listen returns a nil Endpoint, whose methods do nothing.
// An address that cannot be listened on is an error naming
// OHO_METRICS_ADDRESS.
func Listen(addr string, db *sql.DB, logger *slog.Logger) (*Endpoint, error) {
	if addr == "" {
		return nil, nil
	}
	if err := CheckAddress(addr); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	reg := NewRegistry(db, logger)
	handler, scope := temporalHandler(reg, logger, time.Second)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		scope.Close()
		return nil, fmt.Errorf("%s %s: cannot listen: %w", AddressVar, addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       2 * ScrapeTimeout,
	})))
	e := &Endpoint{
		reg: reg, handler: handler, scope: scope, ln: ln, logger: logger, served: make(chan struct{}),
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			WriteTimeout:      time.Minute,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
	}
	go func() {
		defer close(e.served)
		if err := e.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics: serving stopped", "addr", ln.Addr().String(), "error", err)
		}
	}()
	logger.Info("serving metrics", "addr", ln.Addr().String(), "path", "/metrics")
	return e, nil
}

// temporalHandler returns the Temporal SDK's metrics handler reporting into
// reg, as the SDK's samples build it: tally with its Prometheus reporter,
// timers as histograms, names sanitized and suffixed as Prometheus names
// them (_total, _seconds). (The reporter is made directly, not through
// tally's prometheus.Configuration, which would also register /metrics on
// http.DefaultServeMux.) The closer reports the last values and stops the
// scope.
func temporalHandler(reg *prometheus.Registry, logger *slog.Logger, interval time.Duration) (client.MetricsHandler, io.Closer) {
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:       reg,
		DefaultTimerType: tallyprom.HistogramTimerType,
		OnRegisterError: func(err error) {
			logger.Warn("metrics: a Temporal SDK metric could not be registered", "error", err)
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:         reporter,
		Separator:              tallyprom.DefaultSeparator,
		SanitizeOptions:        &sdktally.PrometheusSanitizeOptions,
		OmitCardinalityMetrics: true,
	}, interval)
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), closer
}

// TemporalHandler is the handler a Temporal client reports the SDK's
// metrics to (client.Options.MetricsHandler, see connect.WithMetrics); nil
// for a nil Endpoint, which leaves the SDK's no-op handler.
func (e *Endpoint) TemporalHandler() client.MetricsHandler {
	if e == nil {
		return nil
	}
	return e.handler
}

// Registry is the endpoint's registry.
func (e *Endpoint) Registry() *prometheus.Registry {
	if e == nil {
		return nil
	}
	return e.reg
}

// Addr is the address the endpoint listens on; "" for a nil Endpoint.
func (e *Endpoint) Addr() string {
	if e == nil {
		return ""
	}
	return e.ln.Addr().String()
}

// Close stops the listener and the Temporal SDK's scope. Call it after the
// Temporal client is closed.
func (e *Endpoint) Close() error {
	if e == nil {
		return nil
	}
	err := e.srv.Close()
	<-e.served
	return errors.Join(err, e.scope.Close())
}
