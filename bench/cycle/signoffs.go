package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/oho-dev/oho/review"
)

// signOffs is benchmark 7's figures for one number of unit heads signing
// the same draft at the same moment.
type signOffs struct {
	Heads int   `json:"heads"`
	Sign  stats `json:"sign"`
	// Recorded is the number of sign-offs the database holds for the round,
	// Completed the number of task.completed audit events of its sign-off
	// tasks: each must equal Heads (all recorded, once).
	Recorded  int  `json:"recorded"`
	Completed int  `json:"audit_completed"`
	AllOnce   bool `json:"all_recorded_once"`
	// Goal: 100 heads with p99 at most 2 s, all recorded once.
	GoalMet *bool `json:"goal_p99_le_2s,omitempty"`
}

// runSignOffs measures benchmark 7 for each number of heads: a provider of
// that many units, a cycle brought to its first round's sign-offs, then
// every head's sign-off sent at once through the service.
func runSignOffs(ctx context.Context, b *bench, heads []int) ([]signOffs, error) {
	var rows []signOffs
	for _, n := range heads {
		provider := fmt.Sprintf("BENCHSIGN%d", n)
		const year = 2030
		codes, err := b.importProvider(ctx, provider, n)
		if err != nil {
			return nil, err
		}
		cycleID, err := b.startCycle(ctx, provider, year, 3)
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		if err := b.completeAll(ctx, unitWork(provider, year, codes)); err != nil {
			return nil, err
		}
		if err := b.completeAll(ctx, []completion{{TaskID: review.TaskID(provider, year, review.KindDraft, 1, ""), Actor: person(provider, "", "plan_editor"), Outcome: draft(codes, 1)}}); err != nil {
			return nil, err
		}
		hash, err := b.draftHash(ctx, cycleID, 1)
		if err != nil {
			return nil, err
		}
		signs := signoffs(provider, year, 1, codes, hash, false)
		var ids []string
		for _, s := range signs {
			ids = append(ids, s.TaskID)
		}
		if err := b.waitOpen(ctx, ids, 5*time.Minute); err != nil {
			return nil, err
		}
		slog.Info("sign-offs: open", "heads", n, "set-up", time.Since(t0).Round(time.Second))

		// Every head presses "sign" at the same moment.
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			lat   []time.Duration
			errs  int
			first error
			start = make(chan struct{})
		)
		for _, s := range signs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				t := time.Now()
				err := b.complete(ctx, s)
				d := time.Since(t)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
					return
				}
				lat = append(lat, d)
			}()
		}
		time.Sleep(50 * time.Millisecond)
		t1 := time.Now()
		close(start)
		wg.Wait()
		r := signOffs{Heads: n, Sign: summarize(slices.Clone(lat), errs, time.Since(t1))}
		if first != nil {
			slog.Warn("sign-offs refused or failed", "heads", n, "errors", errs, "first", first)
		}
		if err := b.db.GetContext(ctx, &r.Recorded, `SELECT count(*) FROM signoffs WHERE cycle_id = $1 AND round = 1`, cycleID); err != nil {
			return nil, fmt.Errorf("counting the sign-offs of %s: %w", cycleID, err)
		}
		if err := b.db.GetContext(ctx, &r.Completed, `SELECT count(*) FROM audit_events WHERE action = 'task.completed' AND subject = ANY($1)`, pq.Array(ids)); err != nil {
			return nil, fmt.Errorf("counting the audit events of %s: %w", cycleID, err)
		}
		r.AllOnce = r.Recorded == n && r.Completed == n && errs == 0
		if n == 100 {
			met := r.AllOnce && r.Sign.P99 <= 2000
			r.GoalMet = &met
		}
		slog.Info("sign-offs", "heads", n, "p50_ms", r.Sign.P50, "p99_ms", r.Sign.P99, "max_ms", r.Sign.Max, "recorded", r.Recorded, "audit", r.Completed)
		rows = append(rows, r)
	}
	return rows, nil
}
