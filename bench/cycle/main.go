// Command cycle measures OHO side by side with bare Temporal programs on the
// same server in the same run (issue 11): a task's completion through the
// service against two minimal Update baselines, whole cycles against the
// same baselines doing the same Updates, every unit head signing the same
// draft at once, the history of a large cycle and its replay, the audit
// trail's append and verification rates, and the memory of one worker
// holding many open cycles and the time a fresh one takes to pick them up.
// It prints one table and writes the figures as JSON. It is a benchmark,
// not a test: it exits 0 whatever the figures are, unless it cannot run;
// goals are judged on ratios to the baselines measured in the same run,
// never on absolute times.
//
// scripts/bench.sh runs it the way it is meant to be run: on a Temporal dev
// server and a database of its own, with OHO's worker (bin/worker) polling
// OHO_TASK_QUEUE. It reads DATABASE_URL (that database, as the application
// role), ADMIN_DATABASE_URL (the same database as a superuser, to fill the
// audit trail) and the TEMPORAL_* variables; it refuses the shared dev
// server's address, 127.0.0.1:7233. The scale benchmark starts worker
// processes of its own (BENCH_WORKER, default bin/worker) on task queue
// oho-bench-scale, and stops them however the run ends.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/connect"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// options are the command's flags.
type options struct {
	run          string
	levels       []int
	perClient    int
	minOps       int
	rtUnits      int
	heads        []int
	histUnits    int
	histRounds   int
	auditWriters int
	auditAppends int
	auditTrail   int
	cycles       int
	scaleCycles  int
	scaleCache   string
	scaleLog     string
	pages        string
	out          string
	// serveBare runs only the baseline's worker, until SIGTERM; the
	// measuring run expects one such process, as OHO's worker is one
	// (inProcessBare: in the measuring process instead).
	serveBare     bool
	inProcessBare bool
}

func main() {
	var o options
	var levels, heads string
	flag.StringVar(&o.run, "run", "roundtrip,cycles,signoffs,history,audit,scale", "the benchmarks to run, in this order")
	flag.StringVar(&levels, "clients", "1,4,16", "numbers of concurrent clients of the round trip")
	flag.IntVar(&o.perClient, "per-client", 25, "round trip: completions per client at each level")
	flag.IntVar(&o.minOps, "min-ops", 100, "round trip: completions at least at each level")
	flag.IntVar(&o.rtUnits, "units", 100, "round trip: units of the provider whose evaluations are completed")
	flag.StringVar(&heads, "heads", "30,60,100", "everyone at once: numbers of unit heads signing at the same moment")
	flag.IntVar(&o.histUnits, "history-units", 50, "history: units of the cycle")
	flag.IntVar(&o.histRounds, "history-rounds", 3, "history: rounds of the cycle")
	flag.IntVar(&o.auditWriters, "audit-writers", 4, "audit: concurrent writers")
	flag.IntVar(&o.auditAppends, "audit-appends", 4000, "audit: events the writers append together")
	flag.IntVar(&o.auditTrail, "audit-trail", 1_000_000, "audit: events the trail holds when it is verified (filled through the chain's trigger, about 30,000 a second)")
	flag.IntVar(&o.cycles, "cycles", 10, "whole cycles: cycles of 10 units run at once")
	flag.IntVar(&o.scaleCycles, "scale-cycles", 1000, "scale of one worker: open cycles of 10 units the worker holds")
	flag.StringVar(&o.scaleCache, "scale-cache", "", "scale of one worker: OHO_WORKFLOW_CACHE for its worker (empty: the worker's default, or the environment's)")
	flag.StringVar(&o.scaleLog, "scale-log", ".dev/bench/scale-worker.log", "scale of one worker: where its worker's output is appended")
	flag.StringVar(&o.pages, "pages", "", "the pages benchmark's printed table, to take into this one's")
	flag.StringVar(&o.out, "out", "out/bench/cycle.json", "where to write the figures as JSON")
	flag.BoolVar(&o.serveBare, "serve-bare", false, "run only the bare baseline's worker, until SIGTERM (scripts/bench.sh starts one)")
	flag.BoolVar(&o.inProcessBare, "in-process-bare", false, "run the bare baseline's worker in this process instead of expecting a -serve-bare one")
	flag.Parse()
	var err error
	if o.cycles < 1 || o.scaleCycles < 1 {
		err = errors.New("-cycles and -scale-cycles must be at least 1")
	}
	if err == nil {
		o.levels, err = ints("clients", levels)
	}
	if err == nil {
		o.heads, err = ints("heads", heads)
	}
	if err == nil {
		err = run(o)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench cycle: %v\n", err)
		os.Exit(1)
	}
}

// ints parses a comma-separated list of positive numbers.
func ints(name, s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-%s: %q is not a list of positive numbers", name, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// report is everything the run measured, as written to JSON.
type report struct {
	Date      time.Time    `json:"date"`
	Machine   machine      `json:"machine"`
	RoundTrip []roundTrip  `json:"round_trip,omitempty"`
	Cycles    *wholeCycles `json:"whole_cycles,omitempty"`
	SignOffs  []signOffs   `json:"everyone_at_once,omitempty"`
	History   *history     `json:"history,omitempty"`
	Audit     *auditFigure `json:"audit,omitempty"`
	Scale     *scaleFigure `json:"scale_of_one_worker,omitempty"`
	Pages     []pageRow    `json:"pages,omitempty"`
	Inbox     []inboxRow   `json:"inbox,omitempty"`
	Missing   []string     `json:"not_measured,omitempty"`
}

// machine is what the figures were measured on.
type machine struct {
	CPUs          int    `json:"cpus"`
	CPUModel      string `json:"cpu_model"`
	Go            string `json:"go"`
	SDK           string `json:"temporal_sdk"`
	Server        string `json:"temporal_server"`
	CLI           string `json:"temporal_cli"`
	TemporalAddr  string `json:"temporal_address"`
	OHOTaskQueue  string `json:"oho_task_queue"`
	BareTaskQueue string `json:"bare_task_queue"`
	// Worker is OHO's worker binary that ran the cycles, Commit the
	// working tree's commit (with "-dirty" when it had changes).
	Worker string `json:"oho_worker"`
	Commit string `json:"commit"`
}

func run(o options) error {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	// SIGINT or SIGTERM ends the run through its deferred clean-ups, which
	// stop the worker processes it started.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" || addr == "127.0.0.1:7233" || addr == "localhost:7233" {
		return errors.New("TEMPORAL_ADDRESS must name a Temporal server of the benchmark's own, not the shared dev server on 127.0.0.1:7233 (scripts/bench.sh starts one on 127.0.0.1:7833)")
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := connect.Temporal(ctx, quiet)
	if err != nil {
		return err
	}
	defer c.Close()
	if o.serveBare {
		return serveBare(c)
	}
	db, err := connect.Database(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if !o.inProcessBare {
		if err := waitBarePoller(ctx, c); err != nil {
			return err
		}
	} else {
		bw, err := startBareWorker(c)
		if err != nil {
			return err
		}
		defer bw.Stop()
	}
	st := store.New(db)
	b := &bench{db: db, via: review.Via{Channel: review.ChannelCLI, Ref: "bench"},
		svc: service.New(service.Config{Store: st, TaskQueue: connect.TaskQueue(), Logger: quiet,
			Temporal: func(context.Context) (client.Client, error) { return c, nil }})}

	r := report{Date: time.Now().UTC(), Machine: describe(ctx, c, addr)}
	all := map[string]string{"roundtrip": "1 complete-task round trip", "cycles": "2 whole cycles",
		"signoffs": "7 everyone at once", "history": "6 history", "audit": "4 audit", "scale": "5 scale of one worker"}
	done := map[string]bool{}
	for name := range strings.SplitSeq(o.run, ",") {
		name = strings.TrimSpace(name)
		t0 := time.Now()
		slog.Info("benchmark", "name", name)
		switch name {
		case "roundtrip":
			r.RoundTrip, err = runRoundTrip(ctx, b, c, o.levels, o.perClient, o.minOps, o.rtUnits)
		case "cycles":
			var w wholeCycles
			w, err = runWholeCycles(ctx, b, c, o.cycles)
			r.Cycles = &w
		case "signoffs":
			r.SignOffs, err = runSignOffs(ctx, b, o.heads)
		case "history":
			var h history
			h, err = runHistory(ctx, b, c, o.histUnits, o.histRounds)
			r.History = &h
		case "audit":
			var a auditFigure
			a, err = runAudit(ctx, st, o.auditWriters, o.auditAppends, o.auditTrail)
			r.Audit = &a
		case "scale":
			var s scaleFigure
			s, err = runScale(ctx, b, c, o)
			r.Scale = &s
		default:
			return fmt.Errorf("-run: unknown benchmark %q (roundtrip, cycles, signoffs, history, audit, scale)", name)
		}
		if err != nil {
			return fmt.Errorf("benchmark %s: %w", name, err)
		}
		done[name] = true
		slog.Info("benchmark done", "name", name, "took", time.Since(t0).Round(time.Second))
	}
	for _, name := range []string{"roundtrip", "cycles", "signoffs", "history", "audit", "scale"} {
		if !done[name] {
			r.Missing = append(r.Missing, all[name]+" (not in -run)")
		}
	}
	if o.pages != "" {
		if r.Pages, err = readPages(o.pages); err != nil {
			return err
		}
		if r.Inbox, err = readInbox(o.pages); err != nil {
			return err
		}
	}
	if len(r.Inbox) == 0 {
		r.Missing = append(r.Missing, "3 inbox with 10,000 open tasks (bench/pages measures it: BENCH_PAGES=1)")
	}
	printTable(os.Stdout, r)
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.out, append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the figures: %w", err)
	}
	fmt.Printf("\nfigures written to %s\n", o.out)
	return nil
}

// describe names the machine and the versions the figures were measured
// with.
func describe(ctx context.Context, c client.Client, addr string) machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), TemporalAddr: addr,
		OHOTaskQueue: connect.TaskQueue(), BareTaskQueue: bareQueue, CLI: os.Getenv("BENCH_TEMPORAL_CLI"),
		Worker: os.Getenv("BENCH_WORKER"), Commit: os.Getenv("BENCH_COMMIT")}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "go.temporal.io/sdk" {
				m.SDK = d.Version
			}
		}
	}
	if res, err := c.WorkflowService().GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{}); err == nil {
		m.Server = res.GetServerVersion()
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}
