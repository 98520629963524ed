package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lib/pq"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
)

// scaleQueue is the task queue of benchmark 5's own worker, so that the
// worker of the other benchmarks takes none of its work.
const scaleQueue = "oho-bench-scale"

// scaleUnits is the size of every cycle benchmark 5 holds open.
const scaleUnits = 10

// scaleFigure is benchmark 5's figures: one OHO worker process of its own
// holding Cycles open cycles of scaleUnits units (every unit's evaluation and
// consultation open and waiting, with their deadline timers), and the same
// cycles after the worker is stopped and a fresh one started.
type scaleFigure struct {
	Cycles    int `json:"cycles"`
	Units     int `json:"units_per_cycle"`
	Workflows int `json:"workflows"`
	Tasks     int `json:"open_tasks"`
	// Cache is the OHO_WORKFLOW_CACHE the worker was given ("" when it was
	// left to the worker's default or the environment).
	Cache       string  `json:"oho_workflow_cache,omitempty"`
	ImportSecs  float64 `json:"import_seconds"`
	IdleRSSMB   float64 `json:"idle_rss_mb"`
	StartSecs   float64 `json:"start_seconds"`
	OpenSecs    float64 `json:"open_seconds"`
	TasksPerSec float64 `json:"tasks_opened_per_second"`
	OpenRSSMB   float64 `json:"open_rss_mb"`
	OpenPeakMB  float64 `json:"open_peak_rss_mb"`
	// KBPerCached is the resident memory above the idle worker's for each
	// workflow its cache held (each workflow held, when the worker serves
	// no metrics).
	KBPerCached  float64 `json:"kb_per_cached_workflow"`
	StopSecs     float64 `json:"stop_seconds"`
	PollSecs     float64 `json:"restart_polling_seconds"`
	PickupSecs   float64 `json:"restart_pickup_seconds"`
	PickupPerSec float64 `json:"replays_per_second"`
	AfterRSSMB   float64 `json:"after_rss_mb"`
	AfterPeakMB  float64 `json:"after_peak_rss_mb"`
	// Open and After are what the worker's own metrics said at those two
	// moments: why the memory is what it is.
	Open  workerMetrics `json:"open_metrics"`
	After workerMetrics `json:"after_metrics"`
	// GoalMet is judged at 1,000 cycles or more: RSS at most 150 MB both
	// holding them open and after picking them up again.
	GoalMet *bool `json:"goal_rss_le_150mb_at_1000,omitempty"`
}

// runScale measures benchmark 5. It starts OHO's worker (the binary of
// BENCH_WORKER, default bin/worker) in a process of its own on scaleQueue,
// starts the cycles through the service, waits until every unit's two
// tasks are open (rows in the tasks table) and reads the worker's resident
// memory; then stops it with SIGTERM, as a deployment does, starts a fresh
// one and measures how long until every cycle has been picked up again.
//
// Picked up means: every workflow of every cycle, the cycle's and each
// unit's, has answered the status query through the new worker. None of
// them has work to do (their timers are weeks away), so without a request
// a worker would not replay any of them; a query makes the worker replay
// the workflow's whole history and answer from the state it rebuilt, which
// changes nothing and touches each of them, the cycles and every unit.
// A query's replay does not enter the worker's workflow cache (the SDK
// caches a workflow only for its workflow tasks), so the memory after is
// the worker's once it has replayed them all, not holding them.
func runScale(ctx context.Context, b *bench, c client.Client, o options) (s scaleFigure, err error) {
	n := o.scaleCycles
	s = scaleFigure{Cycles: n, Units: scaleUnits, Workflows: n * (1 + scaleUnits), Tasks: n * scaleUnits * 2, Cache: o.scaleCache}
	bin := os.Getenv("BENCH_WORKER")
	if bin == "" {
		bin = "bin/worker"
	}
	env := workerEnv(o.scaleCache)
	logf, err := os.OpenFile(o.scaleLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return s, fmt.Errorf("opening the scale worker's log: %w", err)
	}
	defer logf.Close()

	t0 := time.Now()
	providers, err := importProviders(ctx, b, "BSCL", n, scaleUnits)
	if err != nil {
		return s, err
	}
	s.ImportSecs = time.Since(t0).Seconds()
	slog.Info("scale: providers imported", "cycles", n, "took", time.Since(t0).Round(time.Second))

	w, err := startWorker(ctx, c, bin, env, logf)
	if err != nil {
		return s, err
	}
	defer stopWorker(w, &err)
	if s.IdleRSSMB, _, err = w.rss(); err != nil {
		return s, err
	}

	// The cycles are started through the service, as managers start them,
	// on the scale worker's queue; four at a time.
	svc := service.New(service.Config{Store: store.New(b.db), TaskQueue: scaleQueue, Logger: slog.New(slog.DiscardHandler),
		Temporal: func(context.Context) (client.Client, error) { return c, nil }})
	sb := &bench{db: b.db, svc: svc, via: b.via}
	const year = 2030
	cycleIDs := make([]string, n)
	t0 = time.Now()
	if err := forEach(ctx, n, 4, func(ctx context.Context, i int) error {
		id, err := sb.startCycle(ctx, providers[i], year, 3)
		cycleIDs[i] = id
		return err
	}); err != nil {
		return s, err
	}
	s.StartSecs = time.Since(t0).Seconds()
	slog.Info("scale: cycles started", "cycles", n, "took", time.Since(t0).Round(time.Second))
	if err := waitTasksOpen(ctx, b, w, cycleIDs, s.Tasks); err != nil {
		return s, err
	}
	s.OpenSecs = time.Since(t0).Seconds()
	s.TasksPerSec = float64(s.Tasks) / s.OpenSecs
	// The workflow tasks that follow the last rows (the timers) finish
	// within moments; the memory is read once they have.
	if err := sleep(ctx, 5*time.Second); err != nil {
		return s, err
	}
	if s.OpenRSSMB, s.OpenPeakMB, err = w.rss(); err != nil {
		return s, err
	}
	s.Open = w.metrics(ctx)
	held := s.Workflows
	if s.Open.Cached > 0 {
		held = s.Open.Cached
	}
	s.KBPerCached = (s.OpenRSSMB - s.IdleRSSMB) * 1e3 / float64(held)
	slog.Info("scale: all open", "tasks", s.Tasks, "took", fmt.Sprintf("%.1fs", s.OpenSecs), "rss_mb", fmt.Sprintf("%.0f", s.OpenRSSMB),
		"heap_mb", fmt.Sprintf("%.0f", s.Open.HeapMB), "goroutines", s.Open.Goroutines, "cached", s.Open.Cached)

	stopped, err := w.stop()
	if err != nil {
		return s, err
	}
	s.StopSecs = stopped.Seconds()

	// A fresh worker; the clock runs from its process's start.
	var ids []string
	for _, id := range cycleIDs {
		ids = append(ids, id)
		for _, u := range unitCodes(scaleUnits) {
			ids = append(ids, review.UnitReviewID(id, u))
		}
	}
	t0 = time.Now()
	w2, err := startWorker(ctx, c, bin, env, logf)
	if err != nil {
		return s, err
	}
	defer stopWorker(w2, &err)
	w = w2
	s.PollSecs = time.Since(t0).Seconds()
	if err := queryAll(ctx, c, w, ids); err != nil {
		return s, err
	}
	s.PickupSecs = time.Since(t0).Seconds()
	s.PickupPerSec = float64(len(ids)) / (s.PickupSecs - s.PollSecs)
	if s.AfterRSSMB, s.AfterPeakMB, err = w.rss(); err != nil {
		return s, err
	}
	s.After = w.metrics(ctx)
	if n >= 1000 {
		met := max(s.OpenRSSMB, s.AfterRSSMB) <= 150
		s.GoalMet = &met
	}
	slog.Info("scale: picked up", "workflows", len(ids), "took", fmt.Sprintf("%.1fs", s.PickupSecs), "rss_mb", fmt.Sprintf("%.0f", s.AfterRSSMB),
		"heap_mb", fmt.Sprintf("%.0f", s.After.HeapMB), "goroutines", s.After.Goroutines, "cached", s.After.Cached)
	return s, nil
}

// workerEnv is the scale worker's environment: this process's, with its own
// task queue and, when cache is set, OHO_WORKFLOW_CACHE (startWorker adds
// a metrics listener of its own).
func workerEnv(cache string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OHO_TASK_QUEUE=") || strings.HasPrefix(kv, "OHO_METRICS_ADDRESS=") ||
			(cache != "" && strings.HasPrefix(kv, "OHO_WORKFLOW_CACHE=")) {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "OHO_TASK_QUEUE="+scaleQueue)
	if cache != "" {
		env = append(env, "OHO_WORKFLOW_CACHE="+cache)
	}
	return env
}

// importProviders imports n providers of units units each, named prefix
// and a number, four at a time.
func importProviders(ctx context.Context, b *bench, prefix string, n, units int) ([]string, error) {
	providers := make([]string, n)
	for i := range n {
		providers[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	err := forEach(ctx, n, 4, func(ctx context.Context, i int) error {
		_, err := b.importProvider(ctx, providers[i], units)
		return err
	})
	return providers, err
}

// forEach calls f for 0 … n-1, at most clients at once, and returns the
// first error; after one, no further call starts.
func forEach(ctx context.Context, n, clients int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		next  int
		first error
	)
	for range min(clients, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil || i >= n
				mu.Unlock()
				if stop {
					return
				}
				if err := f(ctx, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// waitTasksOpen waits until the cycles have want open tasks in the
// database, as long as the worker runs and the count keeps moving.
func waitTasksOpen(ctx context.Context, b *bench, w *workerProc, cycleIDs []string, want int) error {
	last, moved, logged := -1, time.Now(), time.Now()
	for {
		var got int
		if err := b.db.GetContext(ctx, &got, `SELECT count(*) FROM tasks WHERE cycle_id = ANY($1) AND status = 'open'`, pq.Array(cycleIDs)); err != nil {
			return fmt.Errorf("counting the open tasks: %w", err)
		}
		if got >= want {
			return nil
		}
		if got != last {
			last, moved = got, time.Now()
		}
		if time.Since(moved) > 5*time.Minute {
			return fmt.Errorf("%d of %d tasks open, none more in 5 minutes (see the scale worker's log)", got, want)
		}
		if time.Since(logged) > 30*time.Second {
			slog.Info("scale: opening", "open", got, "of", want)
			logged = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.done:
			return fmt.Errorf("the scale worker stopped with %d of %d tasks open: %v (see its log)", got, want, w.err)
		case <-time.After(time.Second):
		}
	}
}

// queryAll asks every workflow for its status, sixteen at a time, until
// each has answered, and checks the answer is the workflow's.
func queryAll(ctx context.Context, c client.Client, w *workerProc, ids []string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	return forEach(ctx, len(ids), 16, func(ctx context.Context, i int) error {
		id := ids[i]
		for {
			qctx, qcancel := context.WithTimeout(ctx, 30*time.Second)
			v, err := c.QueryWorkflow(qctx, id, "", workflows.QueryStatus)
			if err == nil {
				var p review.Progress
				err = v.Get(&p)
				if err == nil && p.WorkflowID != id {
					err = fmt.Errorf("the status of %s names %s", id, p.WorkflowID)
				}
			}
			qcancel()
			if err == nil {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("querying %s: %w (last: %v)", id, ctx.Err(), err)
			case <-w.done:
				return fmt.Errorf("the scale worker stopped: %v (see its log)", w.err)
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
}

// workerProc is an OHO worker process the benchmark started.
type workerProc struct {
	cmd *exec.Cmd
	// metricsURL is where the worker serves its Prometheus metrics.
	metricsURL string
	done       chan struct{} // closed when the process has ended; then err is set
	err        error
	once       sync.Once
	took       time.Duration
	serr       error
}

// startWorker starts the worker binary with env, its output to log, and
// waits until it polls its task queue for workflow tasks (a poller
// Temporal names with the process's ID). The worker gets SIGTERM should
// this process die without stopping it (Linux's parent-death signal, from
// a thread kept for the child's lifetime, since the signal follows the
// thread that started the child); every other way this process ends goes
// through stop.
func startWorker(ctx context.Context, c client.Client, bin string, env []string, log *os.File) (*workerProc, error) {
	addr, err := freeAddress()
	if err != nil {
		return nil, err
	}
	env = append(slices.Clone(env), "OHO_METRICS_ADDRESS="+addr)
	w := &workerProc{done: make(chan struct{}), metricsURL: "http://" + addr + "/metrics"}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmd := exec.Command(bin)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, log, log
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("starting the scale worker %s: %w", bin, err)
			return
		}
		w.cmd = cmd
		started <- nil
		w.err = cmd.Wait()
		close(w.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	prefix := fmt.Sprintf("%d@", w.cmd.Process.Pid)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res, err := c.DescribeTaskQueue(ctx, scaleQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil {
			for _, p := range res.GetPollers() {
				if strings.HasPrefix(p.GetIdentity(), prefix) {
					return w, nil
				}
			}
		}
		var cause error
		select {
		case <-w.done:
			cause = fmt.Errorf("the scale worker stopped at once: %v (see its log)", w.err)
		case <-ctx.Done():
			cause = ctx.Err()
		case <-time.After(100 * time.Millisecond):
			if time.Now().After(deadline) {
				cause = fmt.Errorf("the scale worker (pid %d) does not poll %s after 2 minutes (see its log)", w.cmd.Process.Pid, scaleQueue)
			}
		}
		if cause != nil {
			_, _ = w.stop()
			return nil, cause
		}
	}
}

// stop sends the worker SIGTERM and waits until it has ended, a minute at
// most, then kills it; it returns how long the worker took to end. Calling
// it again does nothing more.
func (w *workerProc) stop() (time.Duration, error) {
	w.once.Do(func() {
		t := time.Now()
		select {
		case <-w.done:
			w.serr = fmt.Errorf("the scale worker had stopped by itself: %v (see its log)", w.err)
			return
		default:
		}
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
			w.took = time.Since(t)
			var exit *exec.ExitError
			if w.err != nil && !errors.As(w.err, &exit) {
				w.serr = w.err
			}
		case <-time.After(time.Minute):
			_ = w.cmd.Process.Kill()
			<-w.done
			w.serr = errors.New("the scale worker did not end within a minute of SIGTERM and was killed")
		}
	})
	return w.took, w.serr
}

// stopWorker stops the worker, if it still runs, and sets *err to why it
// could not be stopped cleanly, unless *err holds an error already.
func stopWorker(w *workerProc, err *error) {
	if _, serr := w.stop(); serr != nil && *err == nil {
		*err = serr
	}
}

// rss reads the worker's resident memory now and its peak (VmRSS and VmHWM
// of /proc/PID/status), in MB.
func (w *workerProc) rss() (now, peak float64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading the scale worker's memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			return 0, 0, fmt.Errorf("reading the scale worker's %s %q: %w", k, v, err)
		}
		if k == "VmRSS" {
			now = kb * 1024 / 1e6
		} else {
			peak = kb * 1024 / 1e6
		}
	}
	if now == 0 {
		return 0, 0, errors.New("the scale worker's /proc status has no VmRSS")
	}
	return now, peak, sc.Err()
}

// freeAddress is a loopback address with a port free at this moment, for a
// worker's metrics listener.
func freeAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port for the scale worker's metrics: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// workerMetrics are the figures of the worker's own metrics that explain its
// memory: the Go heap in use, its goroutines (each cached workflow holds a
// few, one per coroutine) and their stacks, and the workflows its sticky
// cache holds.
type workerMetrics struct {
	HeapMB     float64 `json:"heap_inuse_mb"`
	StackMB    float64 `json:"stack_inuse_mb"`
	Goroutines int     `json:"goroutines"`
	Cached     int     `json:"sticky_cache_size"`
}

// metrics scrapes the worker's metrics; a worker that serves none (an older
// build) leaves them zero.
func (w *workerProc) metrics(ctx context.Context) workerMetrics {
	var m workerMetrics
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.metricsURL, nil)
	if err != nil {
		return m
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		slog.Warn("scale: the worker's metrics cannot be read", "error", err)
		return m
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 {
			name = line[:i]
			_, rest, _ = strings.Cut(line[strings.LastIndexByte(line, '}'):], " ")
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			continue
		}
		switch name {
		case "go_memstats_heap_inuse_bytes":
			m.HeapMB = v / 1e6
		case "go_memstats_stack_inuse_bytes":
			m.StackMB = v / 1e6
		case "go_goroutines":
			m.Goroutines = int(v)
		case "temporal_sticky_cache_size":
			// One series per workflow type, each the whole cache's size
			// when a task of that type last ran; at rest they agree,
			// and the largest is taken.
			m.Cached = max(m.Cached, int(v))
		}
	}
	return m
}

// sleep waits for d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
