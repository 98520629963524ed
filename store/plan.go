package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/oho-dev/oho/review"
)

// PlanDocument is a published plan version with what its first page shows:
// the provider's name and the signatures of the draft it was published from
// (every unit head's sign-off, then the approval), each bound to the
// version's hash. An imported version has no signatures; its first page
// names who imported it instead.
type PlanDocument struct {
	PlanVersion
	ProviderName string           `json:"provider_name"`
	Signatures   []TraceSignature `json:"signatures"`
	// ImportedByName is the name of the person who imported the version,
	// if it was imported by a person who is still known.
	ImportedByName string `json:"imported_by_name,omitempty"`
	// Checklist is the legal content the version's cycle required, with
	// where its approved draft covers each item; empty for an imported
	// version and for cycles from before checklists.
	Checklist []review.CoveredItem `json:"checklist,omitempty"`
}

// PlanDocument returns a version of a provider's plan (0: the latest) with
// its signatures. A provider that was never imported, one that has not
// published a plan, and a version it does not have are ErrNotFound, each
// saying which.
func (s *Store) PlanDocument(ctx context.Context, provider string, version int) (PlanDocument, error) {
	if err := providerExists(ctx, s.db, provider); err != nil {
		return PlanDocument{}, err
	}
	pv, err := s.PlanVersion(ctx, provider, version)
	if err != nil {
		return PlanDocument{}, err
	}
	doc := PlanDocument{PlanVersion: pv}
	if err := sqlx.GetContext(ctx, s.db, &doc.ProviderName, `SELECT name FROM providers WHERE code = $1`, provider); err != nil {
		return PlanDocument{}, fmt.Errorf("reading provider %s: %w", provider, dbError(err))
	}
	if pv.Imported() {
		doc.Signatures = []TraceSignature{}
		const qName = `SELECT COALESCE((SELECT name FROM people WHERE id = $1), '')`
		if err := sqlx.GetContext(ctx, s.db, &doc.ImportedByName, qName, pv.ImportedBy); err != nil {
			return PlanDocument{}, fmt.Errorf("reading who imported plan version %d of %s: %w", pv.Version, provider, dbError(err))
		}
		return doc, nil
	}
	if doc.Signatures, err = signatures(ctx, s.db, pv.CycleID, pv.Round); err != nil {
		return PlanDocument{}, fmt.Errorf("reading the signatures of plan version %d of %s: %w", pv.Version, provider, err)
	}
	if doc.Checklist, err = roundChecklist(ctx, s.db, pv.CycleID, pv.Round); err != nil {
		return PlanDocument{}, fmt.Errorf("plan version %d of %s: %w", pv.Version, provider, err)
	}
	return doc, nil
}

// PlanChange is a change to the plan in the round a version was published
// from.
type PlanChange struct {
	Version   int    `db:"version" json:"version"`
	ChangeID  string `db:"change_id" json:"change_id"`
	Section   string `db:"section" json:"section"`
	Text      string `db:"text" json:"text"`
	Rationale string `db:"rationale" json:"rationale"`
}

// PlanChanges returns the changes that made a provider's plan versions after
// from, up to and including to, ordered by version and change ID: why the
// text moved from one version to the other.
func (s *Store) PlanChanges(ctx context.Context, provider string, from, to int) ([]PlanChange, error) {
	const q = `
SELECT pv.version, pc.change_id, pc.section, pc.text, pc.rationale
FROM plan_versions pv
JOIN plans p ON p.id = pv.plan_id
JOIN plan_changes pc ON pc.cycle_id = pv.cycle_id AND pc.round = pv.round
WHERE p.provider_code = $1 AND pv.version > $2 AND pv.version <= $3
ORDER BY pv.version, pc.change_id`
	changes := []PlanChange{}
	if err := sqlx.SelectContext(ctx, s.db, &changes, q, provider, from, to); err != nil {
		return nil, fmt.Errorf("reading the changes of the plan of %s: %w", provider, dbError(err))
	}
	return changes, nil
}
