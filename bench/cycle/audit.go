package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/store"
)

// auditFigure is benchmark 4's figures.
type auditFigure struct {
	Writers int   `json:"writers"`
	Append  stats `json:"append"`
	// ChainOK is whether the chain verified after the concurrent appends
	// (it must not fork).
	ChainOK bool `json:"chain_ok_after_appends"`
	// Filled is how many events the bulk INSERT added, at FillPerSec.
	Filled     int     `json:"filled"`
	FillPerSec float64 `json:"fill_per_second"`
	// Verified events, in VerifySeconds.
	Verified      int     `json:"verified"`
	VerifyOK      bool    `json:"verify_ok"`
	VerifySeconds float64 `json:"verify_seconds"`
	VerifyPerSec  float64 `json:"verify_per_second"`
	// Goals: append at least 2,500 events/s with 4 writers; verify at least
	// 100,000 events/s.
	GoalAppend bool `json:"goal_append_ge_2500"`
	GoalVerify bool `json:"goal_verify_ge_100000"`
}

// runAudit measures benchmark 4: appends through a store method that
// records an event (RecordScheduleChange, one event in a transaction of its
// own, as a schedule change is recorded), from writers writers at once;
// the chain verified after them; then the trail filled to trail events by
// a bulk INSERT as a superuser (the chain's trigger computes every hash)
// and verified as 'starter audit verify' does.
func runAudit(ctx context.Context, st *store.Store, writers, appends, trail int) (auditFigure, error) {
	a := auditFigure{Writers: writers}
	s := drive(ctx, writers, 0, appends, func(ctx context.Context, _, i int) error {
		return st.RecordScheduleChange(ctx, "bench.audit", store.ActionScheduleSet, fmt.Sprintf("bench-audit/%d", i), map[string]any{"n": i})
	})
	if s.first != nil {
		return a, fmt.Errorf("appending: %w", s.first)
	}
	a.Append = s.stats()
	v, err := st.VerifyAudit(ctx)
	if err != nil {
		return a, err
	}
	a.ChainOK = v.Broken == nil
	a.GoalAppend = a.Append.PerSec >= 2500
	slog.Info("audit appends", "per_s", fmt.Sprintf("%.0f", a.Append.PerSec), "chain_ok", a.ChainOK, "events", v.Events)

	if missing := trail - int(v.Events); missing > 0 {
		admin := os.Getenv("ADMIN_DATABASE_URL")
		if admin == "" {
			return a, errors.New("ADMIN_DATABASE_URL is not set: the trail is filled as a superuser (scripts/bench.sh sets it)")
		}
		adb, err := sqlx.Open("postgres", admin)
		if err != nil {
			return a, err
		}
		defer adb.Close()
		t0 := time.Now()
		// Small statements, each its own transaction: every row's trigger
		// updates the chain's head row, and a transaction that updates one
		// row a hundred thousand times walks ever longer version chains
		// (a single INSERT of 100,000 rows ran at about 370 rows/s).
		const batch = 1000
		for from := 1; from <= missing; from += batch {
			to := min(from+batch-1, missing)
			const q = `INSERT INTO audit_events (actor, action, subject, payload)
				SELECT 'bench', 'schedule.set', 'bench-fill/' || g, jsonb_build_object('n', g) FROM generate_series($1::int, $2::int) g`
			if _, err := adb.ExecContext(ctx, q, from, to); err != nil {
				return a, fmt.Errorf("filling the audit trail: %w", err)
			}
			if to%50_000 == 0 {
				// Every row moves the chain's head: clear its dead
				// versions, or each statement walks more of them (without
				// this the rate fell from 4,000 to 500 rows/s by 400,000).
				if _, err := adb.ExecContext(ctx, `VACUUM audit_chain_head`); err != nil {
					return a, fmt.Errorf("vacuuming the chain's head: %w", err)
				}
			}
			if to%100_000 == 0 || to == missing {
				slog.Info("audit trail filling", "added", to, "of", missing)
			}
		}
		a.Filled = missing
		a.FillPerSec = float64(missing) / time.Since(t0).Seconds()
	}
	t0 := time.Now()
	v, err = st.VerifyAudit(ctx)
	if err != nil {
		return a, err
	}
	d := time.Since(t0)
	a.Verified, a.VerifyOK, a.VerifySeconds = int(v.Events), v.Broken == nil, d.Seconds()
	a.VerifyPerSec = float64(v.Events) / d.Seconds()
	a.GoalVerify = a.VerifyPerSec >= 100_000
	slog.Info("audit verify", "events", v.Events, "per_s", fmt.Sprintf("%.0f", a.VerifyPerSec), "ok", a.VerifyOK)
	return a, nil
}
