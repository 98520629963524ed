package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/review"
)

// roundTrip is benchmark 1's figures at one number of concurrent clients:
// baseline (a), an Update with no activity; baseline (b), an Update that
// runs one empty activity; and OHO's completion through service.CompleteTask.
type roundTrip struct {
	Clients int   `json:"clients"`
	BareA   stats `json:"bare_no_activity"`
	BareB   stats `json:"bare_one_activity"`
	OHO     stats `json:"oho_complete_task"`
	// Ratios of OHO's figures to the baselines'.
	P50OverA    float64 `json:"p50_oho_over_a"`
	P50OverB    float64 `json:"p50_oho_over_b"`
	P99OverB    float64 `json:"p99_oho_over_b"`
	RateOverB   float64 `json:"throughput_oho_over_b"`
	GoalP50B    bool    `json:"goal_p50_le_0_6_b"`
	GoalP50A    bool    `json:"goal_p50_le_1_3_a"`
	GoalRateMet *bool   `json:"goal_throughput_ge_1_5_b,omitempty"`
}

// runRoundTrip measures benchmark 1. The OHO tasks are real open tasks:
// the evaluations of enough cycles of a provider of units units, opened
// before anything is timed, ordered so that consecutive tasks belong to
// different units' workflows.
func runRoundTrip(ctx context.Context, b *bench, c client.Client, levels []int, perClient, minOps, units int) ([]roundTrip, error) {
	ops := func(clients int) int { return max(minOps, perClient*clients, turns) }
	const warm = 16
	total := warm
	for _, l := range levels {
		total += ops(l)
	}
	const provider = "BENCHRT"
	codes, err := b.importProvider(ctx, provider, units)
	if err != nil {
		return nil, err
	}
	cycles := (total + units - 1) / units
	slog.Info("round trip: starting cycles", "cycles", cycles, "units", units, "tasks", total)
	t0 := time.Now()
	var years []int
	for i := range cycles {
		y := 2030 + i
		if _, err := b.startCycle(ctx, provider, y, 3); err != nil {
			return nil, err
		}
		years = append(years, y)
	}
	// Evaluations only, one per unit: no completion measured closes its
	// unit's workflow (its consultation stays open), so each is the round
	// trip alone, as the baselines' Updates are.
	var tasks []completion
	for _, u := range codes {
		for _, y := range years {
			tasks = append(tasks, completion{TaskID: review.TaskID(provider, y, review.KindEvaluate, 0, u),
				Actor: person(provider, u, "welfare_staff"), Outcome: evaluation(u)})
		}
	}
	var ids []string
	for _, t := range tasks {
		ids = append(ids, t.TaskID)
	}
	if err := b.waitOpen(ctx, ids, 15*time.Minute); err != nil {
		return nil, err
	}
	slog.Info("round trip: tasks open", "tasks", len(tasks), "took", time.Since(t0).Round(time.Second))

	targets, err := startBareTargets(ctx, c, fmt.Sprint(time.Now().UnixNano()), max(16, slicesMax(levels)))
	if err != nil {
		return nil, err
	}
	defer stopBareTargets(context.WithoutCancel(ctx), c, targets)
	bare := func(name string, level int) func(ctx context.Context, client, i int) error {
		return func(ctx context.Context, cl, i int) error {
			return bareUpdate(ctx, c, targets[cl%len(targets)], name, fmt.Sprintf("%s/%d/%d", name, level, i), i)
		}
	}
	next := 0
	oho := func(ctx context.Context, _, i int) error { return b.complete(ctx, tasks[i]) }

	// Warm up every path (connections, caches, the workers' pollers).
	for _, op := range []func(context.Context, int, int) error{bare(updateNoActivity, 0), bare(updateActivity, 0), oho} {
		if s := drive(ctx, 4, next, warm, op); s.first != nil {
			return nil, fmt.Errorf("warming up: %w", s.first)
		}
	}
	next += warm

	// Each level runs in turns — a share of (a), of (b), of OHO, again — so
	// that whatever else loads the machine meanwhile weighs on all three
	// alike.
	var rows []roundTrip
	for _, l := range levels {
		n := ops(l)
		var a, bb, o sample
		for turn := range turns {
			share := n/turns + boolInt(turn < n%turns)
			a.add(drive(ctx, l, next, share, bare(updateNoActivity, l)))
			bb.add(drive(ctx, l, next, share, bare(updateActivity, l)))
			o.add(drive(ctx, l, next, share, oho))
			next += share
		}
		for _, s := range []struct {
			what string
			s    sample
		}{{"baseline (a)", a}, {"baseline (b)", bb}, {"OHO's completion", o}} {
			if s.s.first != nil {
				return nil, fmt.Errorf("%s at %d clients: %w", s.what, l, s.s.first)
			}
		}
		r := roundTrip{Clients: l, BareA: a.stats(), BareB: bb.stats(), OHO: o.stats()}
		r.P50OverA = ratio(r.OHO.P50, r.BareA.P50)
		r.P50OverB = ratio(r.OHO.P50, r.BareB.P50)
		r.P99OverB = ratio(r.OHO.P99, r.BareB.P99)
		r.RateOverB = ratio(r.OHO.PerSec, r.BareB.PerSec)
		r.GoalP50B = r.P50OverB <= 0.6
		r.GoalP50A = r.P50OverA <= 1.3
		if l == 16 {
			met := r.RateOverB >= 1.5
			r.GoalRateMet = &met
		}
		slog.Info("round trip", "clients", l, "a_p50_ms", r.BareA.P50, "b_p50_ms", r.BareB.P50, "oho_p50_ms", r.OHO.P50,
			"oho_per_s", fmt.Sprintf("%.1f", r.OHO.PerSec), "b_per_s", fmt.Sprintf("%.1f", r.BareB.PerSec))
		rows = append(rows, r)
	}
	return rows, nil
}

// turns is how many turns each level of the round trip takes.
const turns = 5

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func slicesMax(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
