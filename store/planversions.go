package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// PlanVersionEntry is a published version of a provider's plan as a list of
// versions shows it: where it came from and who made it, without its text.
type PlanVersionEntry struct {
	PlanVersion
	// ApprovedByName and ImportedByName name the approver of a version a
	// cycle published and the person who imported an imported one, when
	// they are still known.
	ApprovedByName string `db:"approved_by_name" json:"approved_by_name,omitempty"`
	ImportedByName string `db:"imported_by_name" json:"imported_by_name,omitempty"`
}

// PlanVersions returns every published version of the provider's plan,
// newest first, without their text; none for a provider that has not
// published a plan.
func (s *Store) PlanVersions(ctx context.Context, provider string) ([]PlanVersionEntry, error) {
	const q = `
SELECT p.provider_code, pv.version, pv.content_hash, to_char(pv.effective_from, 'YYYY-MM-DD') AS effective_from,
    pv.published_at, pv.source, COALESCE(pv.cycle_id, '') AS cycle_id, COALESCE(pv.round, 0) AS round,
    COALESCE(pv.approved_by, '') AS approved_by, COALESCE(pv.imported_by, '') AS imported_by,
    COALESCE(ap.name, '') AS approved_by_name, COALESCE(ip.name, '') AS imported_by_name
FROM plan_versions pv JOIN plans p ON p.id = pv.plan_id
LEFT JOIN people ap ON ap.id = pv.approved_by
LEFT JOIN people ip ON ip.id = pv.imported_by
WHERE p.provider_code = $1
ORDER BY pv.version DESC`
	versions := []PlanVersionEntry{}
	if err := sqlx.SelectContext(ctx, s.db, &versions, q, provider); err != nil {
		return nil, fmt.Errorf("reading the plan versions of %s: %w", provider, dbError(err))
	}
	return versions, nil
}
