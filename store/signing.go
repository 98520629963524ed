package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/review"
)

// BaseVersion returns the published version a cycle's drafts change: the
// provider's latest version published before the cycle started, other than
// the cycle's own. That is the version SetupCycle read as the cycle's
// baseline: imports are refused while a cycle runs, and a version published
// after the cycle started (by a later cycle, or an import after this one
// ended) is not what its drafts were made from. A provider that had no
// published plan when the cycle started is ErrNotFound: the cycle's drafts
// start the plan.
func (s *Store) BaseVersion(ctx context.Context, cycleID string) (PlanVersion, error) {
	var row struct {
		Provider string `db:"provider_code"`
		Version  int    `db:"version"`
	}
	const q = `
SELECT c.provider_code, pv.version
FROM cycles c
JOIN plans p ON p.provider_code = c.provider_code
JOIN plan_versions pv ON pv.plan_id = p.id
WHERE c.id = $1 AND pv.cycle_id IS DISTINCT FROM c.id AND pv.published_at <= c.started_at
ORDER BY pv.version DESC
LIMIT 1`
	err := sqlx.GetContext(ctx, s.db, &row, q, cycleID)
	if errors.Is(err, sql.ErrNoRows) {
		return PlanVersion{}, errorf(ErrNotFound, "cycle %s started with no published plan", cycleID)
	}
	if err != nil {
		return PlanVersion{}, fmt.Errorf("reading the version cycle %s started from: %w", cycleID, dbError(err))
	}
	return s.PlanVersion(ctx, row.Provider, row.Version)
}

// RoundSignOffs returns the unit heads' sign-offs of a cycle's round, by
// unit: who signed for which unit, in which role, when, the decision, its
// meaning in words and the hash signed.
func (s *Store) RoundSignOffs(ctx context.Context, cycleID string, round int) ([]TraceSignature, error) {
	if round < 1 {
		return nil, errorf(ErrInvalid, "round %d is not a round of a cycle (1, 2, …)", round)
	}
	sigs, err := signatures(ctx, s.db, cycleID, round)
	if err != nil {
		return nil, fmt.Errorf("reading the round %d sign-offs of %s: %w", round, cycleID, err)
	}
	out := []TraceSignature{}
	for _, sig := range sigs {
		if sig.Kind == string(review.KindSignOff) {
			out = append(out, sig)
		}
	}
	return out, nil
}
