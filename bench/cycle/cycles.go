package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/workflows"
)

// cycleUnits is the size of every cycle of benchmark 2.
const cycleUnits = 10

// cycleUpdates is how many Updates one whole cycle takes: every unit's
// evaluation and consultation, round 1's draft and sign-offs (one asking for
// changes), round 2's draft and sign-offs, and the approval.
const cycleUpdates = 2*cycleUnits + 1 + cycleUnits + 1 + cycleUnits + 1

// inFlight is how many Updates a cycle's people have in flight at most, in
// OHO and in the baselines alike: ten, as many as Temporal takes in flight
// in one workflow, so that no step of either side waits on that limit.
const inFlight = 10

// wholeCycles is benchmark 2's figures: N cycles of cycleUnits units run at
// once from start to end, by OHO and by the two bare baselines doing the
// same Updates to the same shape of workflows with the same concurrency.
type wholeCycles struct {
	Cycles          int `json:"cycles"`
	Units           int `json:"units_per_cycle"`
	UpdatesPerCycle int `json:"updates_per_cycle"`
	InFlight        int `json:"max_updates_in_flight_per_cycle"`
	// SetupSeconds is the import of the providers, before anything is
	// timed.
	SetupSeconds float64   `json:"setup_seconds"`
	BareA        cyclesRun `json:"bare_no_activity"`
	BareB        cyclesRun `json:"bare_one_activity"`
	OHO          cyclesRun `json:"oho"`
	TimeOverA    float64   `json:"total_time_oho_over_a"`
	TimeOverB    float64   `json:"total_time_oho_over_b"`
	// Issue 11 sets no goal for whole cycles.
}

// cyclesRun is one side's figures: Cycle is the time of each cycle from its
// start to its workflow's end, Update each Update's (for OHO each
// service.CompleteTask's) wait; OpenWait (OHO's only) the time each cycle's
// people waited for their next tasks to open, in all, and StepWaits the
// same wait before each step.
type cyclesRun struct {
	Seconds   float64    `json:"seconds"`
	PerMinute float64    `json:"cycles_per_minute"`
	Updates   int        `json:"updates"`
	Cycle     stats      `json:"cycle"`
	Update    stats      `json:"update"`
	OpenWait  *stats     `json:"waiting_for_tasks_to_open,omitempty"`
	StepWaits []stepWait `json:"waiting_before_each_step,omitempty"`
}

// stepWait is how long the cycles waited for the tasks of one step to open.
type stepWait struct {
	Step string  `json:"step"`
	P50  float64 `json:"p50_ms"`
	Max  float64 `json:"max_ms"`
}

// runWholeCycles measures benchmark 2: baseline (a), baseline (b), then
// OHO, each running n cycles at once.
func runWholeCycles(ctx context.Context, b *bench, c client.Client, n int) (wholeCycles, error) {
	w := wholeCycles{Cycles: n, Units: cycleUnits, UpdatesPerCycle: cycleUpdates, InFlight: inFlight}
	t0 := time.Now()
	providers, err := importProviders(ctx, b, "BCYC", n, cycleUnits)
	if err != nil {
		return w, err
	}
	w.SetupSeconds = time.Since(t0).Seconds()
	slog.Info("whole cycles: providers imported", "cycles", n, "took", time.Since(t0).Round(time.Second))

	run := fmt.Sprint(time.Now().UnixNano())
	if w.BareA, err = runCycles(ctx, n, func(ctx context.Context, i int, rec *recorder) error {
		return bareCycle(ctx, c, fmt.Sprintf("%s/a/%d", run, i), updateNoActivity, rec)
	}); err != nil {
		return w, fmt.Errorf("baseline (a): %w", err)
	}
	slog.Info("whole cycles: baseline (a)", "seconds", fmt.Sprintf("%.1f", w.BareA.Seconds))
	if w.BareB, err = runCycles(ctx, n, func(ctx context.Context, i int, rec *recorder) error {
		return bareCycle(ctx, c, fmt.Sprintf("%s/b/%d", run, i), updateActivity, rec)
	}); err != nil {
		return w, fmt.Errorf("baseline (b): %w", err)
	}
	slog.Info("whole cycles: baseline (b)", "seconds", fmt.Sprintf("%.1f", w.BareB.Seconds))
	if w.OHO, err = runCycles(ctx, n, func(ctx context.Context, i int, rec *recorder) error {
		return ohoCycle(ctx, b, c, providers[i], rec)
	}); err != nil {
		return w, fmt.Errorf("OHO: %w", err)
	}
	w.TimeOverA = ratio(w.OHO.Seconds, w.BareA.Seconds)
	w.TimeOverB = ratio(w.OHO.Seconds, w.BareB.Seconds)
	slog.Info("whole cycles", "cycles", n, "oho_s", fmt.Sprintf("%.1f", w.OHO.Seconds), "a_s", fmt.Sprintf("%.1f", w.BareA.Seconds),
		"b_s", fmt.Sprintf("%.1f", w.BareB.Seconds), "oho_per_min", fmt.Sprintf("%.1f", w.OHO.PerMinute))
	for _, sw := range w.OHO.StepWaits {
		slog.Info("whole cycles: OHO's cycles waited for tasks to open", "before", sw.Step, "p50_ms", sw.P50, "max_ms", sw.Max)
	}
	return w, nil
}

// recorder collects the waits of the Updates of every cycle of a run, and
// of OHO's cycles the time each waited for tasks to open, in all and
// before each step.
type recorder struct {
	mu    sync.Mutex
	lat   []time.Duration
	waits []time.Duration
	steps []string
	step  map[string][]time.Duration
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.lat = append(r.lat, d)
	r.mu.Unlock()
}

func (r *recorder) addWait(d time.Duration) {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
}

func (r *recorder) addStepWait(step string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.step == nil {
		r.step = map[string][]time.Duration{}
	}
	if _, ok := r.step[step]; !ok {
		r.steps = append(r.steps, step)
	}
	r.step[step] = append(r.step[step], d)
}

// runCycles runs n cycles at once, each by one in a goroutine of its own,
// and times them. The first error stops every cycle of the run, as a run
// with a failed cycle measures nothing.
func runCycles(ctx context.Context, n int, one func(ctx context.Context, i int, rec *recorder) error) (cyclesRun, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		rec   recorder
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		took  []time.Duration
		start = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t := time.Now()
			err := one(ctx, i, &rec)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = fmt.Errorf("cycle %d: %w", i, err)
					cancel()
				}
				return
			}
			took = append(took, time.Since(t))
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	if first != nil {
		return cyclesRun{}, first
	}
	if len(rec.lat) != n*cycleUpdates {
		return cyclesRun{}, fmt.Errorf("%d cycles made %d Updates, not %d", n, len(rec.lat), n*cycleUpdates)
	}
	r := cyclesRun{Seconds: elapsed.Seconds(), Updates: len(rec.lat),
		Cycle: summarize(slices.Clone(took), 0, elapsed), Update: summarize(slices.Clone(rec.lat), 0, elapsed)}
	r.PerMinute = float64(n) / elapsed.Minutes()
	if len(rec.waits) > 0 {
		w := summarize(slices.Clone(rec.waits), 0, elapsed)
		r.OpenWait = &w
	}
	for _, name := range rec.steps {
		w := summarize(slices.Clone(rec.step[name]), 0, elapsed)
		r.StepWaits = append(r.StepWaits, stepWait{Step: name, P50: w.P50, Max: w.Max})
	}
	return r, nil
}

// inParallel runs the operations with at most inFlight of them at once,
// timing each into rec, and returns the first error.
func inParallel(ctx context.Context, rec *recorder, ops []func(context.Context) error) error {
	sem := make(chan struct{}, inFlight)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, op := range ops {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t := time.Now()
			err := op(ctx)
			d := time.Since(t)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
				}
				return
			}
			rec.add(d)
		}()
	}
	wg.Wait()
	return first
}

// ohoCycle runs one provider's whole cycle through the service, as its
// people would: it starts the cycle as the manager, then each person
// completes their task once it is open (OHO's workflows open them; the
// people see them open in the database, as their inbox shows them): every
// unit's evaluation and consultation; the draft; the sign-offs, with the
// last unit's head asking for changes once the others have signed; round
// 2's draft and sign-offs, everyone approving; the approval. It returns
// when the cycle's workflow has ended.
func ohoCycle(ctx context.Context, b *bench, c client.Client, provider string, rec *recorder) error {
	const year = 2030
	codes := unitCodes(cycleUnits)
	cycleID, err := b.startCycle(ctx, provider, year, 3)
	if err != nil {
		return err
	}
	var waited time.Duration
	step := func(name string, cs []completion) error {
		var ids []string
		for _, c := range cs {
			ids = append(ids, c.TaskID)
		}
		t := time.Now()
		if err := b.waitOpen(ctx, ids, 10*time.Minute); err != nil {
			return err
		}
		waited += time.Since(t)
		rec.addStepWait(name, time.Since(t))
		var ops []func(context.Context) error
		for _, c := range cs {
			ops = append(ops, func(ctx context.Context) error { return b.complete(ctx, c) })
		}
		return inParallel(ctx, rec, ops)
	}
	if err := step("evaluations and consultations (from the start)", unitWork(provider, year, codes)); err != nil {
		return err
	}
	for round := 1; round <= 2; round++ {
		if err := step(fmt.Sprintf("draft %d", round), []completion{{TaskID: review.TaskID(provider, year, review.KindDraft, round, ""),
			Actor: person(provider, "", "plan_editor"), Outcome: draft(codes, round)}}); err != nil {
			return err
		}
		hash, err := b.draftHash(ctx, cycleID, round)
		if err != nil {
			return err
		}
		signs := signoffs(provider, year, round, codes, hash, round == 1)
		name := fmt.Sprintf("sign-offs %d", round)
		if round == 1 {
			// The request for changes goes last, so that no sign-off is
			// superseded and every cycle makes the same Updates.
			if err := step(name, signs[:len(signs)-1]); err != nil {
				return err
			}
			signs, name = signs[len(signs)-1:], "request for changes 1"
		}
		if err := step(name, signs); err != nil {
			return err
		}
	}
	if err := step("approval", []completion{{TaskID: review.TaskID(provider, year, review.KindApprove, 2, ""), Actor: person(provider, "", "approver"),
		Outcome: raw(map[string]any{"decision": "approve", "effective_from": "2030-08-01"})}}); err != nil {
		return err
	}
	var summary workflows.Summary
	if err := c.GetWorkflow(ctx, cycleID, "").Get(ctx, &summary); err != nil {
		return fmt.Errorf("waiting for cycle %s to end: %w", cycleID, err)
	}
	rec.addWait(waited)
	return nil
}

// bareCycle is the baselines' cycle: a workflow for the cycle and one for
// each unit, as OHO's cycle has its children, taking the same Updates in
// the same steps with the same concurrency as ohoCycle, each Update of the
// given baseline: each unit's evaluation and consultation, and its head's
// sign-offs, to the unit's workflow (OHO sends a sign-off to a workflow of
// the unit and round, so that no workflow takes many Updates at once); the
// drafts and the approval to the cycle's. It returns when the cycle's
// workflow has ended.
func bareCycle(ctx context.Context, c client.Client, run, name string, rec *recorder) error {
	targets, err := startBareTargets(ctx, c, run, 1+cycleUnits)
	if err != nil {
		return err
	}
	cycle, units := targets[0], targets[1:]
	seq := 0
	update := func(id string) func(context.Context) error {
		seq++
		updateID := fmt.Sprintf("%s/%d", name, seq)
		n := seq
		return func(ctx context.Context) error { return bareUpdate(ctx, c, id, name, updateID, n) }
	}
	var ops []func(context.Context) error
	for _, u := range units {
		ops = append(ops, update(u), update(u))
	}
	steps := [][]func(context.Context) error{ops}
	for round := 1; round <= 2; round++ {
		steps = append(steps, []func(context.Context) error{update(cycle)})
		var signs []func(context.Context) error
		for _, u := range units {
			signs = append(signs, update(u))
		}
		if round == 1 {
			steps = append(steps, signs[:len(signs)-1], signs[len(signs)-1:])
		} else {
			steps = append(steps, signs)
		}
	}
	steps = append(steps, []func(context.Context) error{update(cycle)})
	for i, s := range steps {
		if err := inParallel(ctx, rec, s); err != nil {
			stopBareTargets(context.WithoutCancel(ctx), c, targets)
			return err
		}
		if i == len(steps)-2 {
			// The last sign-off is in: the units' workflows end, as
			// OHO's sign-offs' do.
			stopBareTargets(ctx, c, units)
		}
	}
	stopBareTargets(ctx, c, []string{cycle})
	if err := c.GetWorkflow(ctx, cycle, "").Get(ctx, nil); err != nil {
		return fmt.Errorf("waiting for the baseline's workflow %s to end: %w", cycle, err)
	}
	return nil
}
