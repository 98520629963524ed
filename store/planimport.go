package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/review"
)

// PlanBasis is what a plan import is read against: the provider's units, the
// version in force (whose sections the import's headings name), and the
// cycle running now, which forbids an import.
type PlanBasis struct {
	Units []review.Unit
	// Current is the latest published version; nil when there is none.
	Current *PlanVersion
	// Running is the ID of the provider's running cycle; "" when none runs.
	Running string
}

// PlanBasis reads what importing a plan of the provider is read against. A
// provider that was never imported is ErrNotFound.
func (s *Store) PlanBasis(ctx context.Context, provider string) (PlanBasis, error) {
	if err := providerExists(ctx, s.db, provider); err != nil {
		return PlanBasis{}, err
	}
	b := PlanBasis{Units: []review.Unit{}}
	const qUnits = `SELECT code, name FROM units WHERE provider_code = $1 ORDER BY code`
	if err := sqlx.SelectContext(ctx, s.db, &b.Units, qUnits, provider); err != nil {
		return PlanBasis{}, fmt.Errorf("reading units of %s: %w", provider, dbError(err))
	}
	switch pv, err := s.PlanVersion(ctx, provider, 0); {
	case err == nil:
		b.Current = &pv
	case !errors.Is(err, ErrNotFound):
		return PlanBasis{}, err
	}
	var err error
	if b.Running, err = runningCycle(ctx, s.db, provider); err != nil {
		return PlanBasis{}, err
	}
	return b, nil
}

// runningCycle returns the ID of the provider's running cycle, or "".
func runningCycle(ctx context.Context, q sqlx.QueryerContext, provider string) (string, error) {
	var id string
	const qRunning = `SELECT id FROM cycles WHERE provider_code = $1 AND status = 'running' ORDER BY year LIMIT 1`
	err := sqlx.GetContext(ctx, q, &id, qRunning, provider)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("reading the running cycle of %s: %w", provider, dbError(err))
	}
	return id, nil
}

// PlanImport is a plan imported from outside OHO, to be recorded as the
// provider's next published version.
type PlanImport struct {
	Provider string
	Content  review.PlanContent
	// EffectiveFrom is the date the plan is in force from, YYYY-MM-DD.
	EffectiveFrom string
	// ImportedBy is who imports it: a person's ID, or ActorOperator.
	ImportedBy string
	// Over is the version the import was read against (PlanBasis.Current),
	// 0 for none: a version published meanwhile makes the import refused
	// rather than laid over sections it did not know.
	Over int
	// Title is the imported document's own title, kept in the audit event.
	Title string
}

// ImportedVersion is the version ImportPlan recorded, or found already
// holding the same text.
type ImportedVersion struct {
	review.Published
	EffectiveFrom string `json:"effective_from"`
	// Unchanged is set when the latest version already had exactly this
	// content, so nothing was recorded: importing the same file twice makes
	// one version.
	Unchanged bool `json:"unchanged,omitempty"`
}

// ImportPlan records an imported plan as the provider's next published
// version (source "import"), with the audit event plan.imported naming who
// imported it, the version, its hash and effective date, its sections and
// annexes. While a cycle of the provider runs, the import is refused with
// ErrCycleRunning: the cycle drafts over the version it started from. When
// the latest version already has exactly this content, nothing is written
// and that version is returned, Unchanged. A version published since the
// import was read (in.Over) is ErrDuplicate: read it again.
//
// The provider's row is locked first. SetupCycle's insert of a cycle takes a
// key-share lock on the same row (its foreign key), so an import and a
// starting cycle take turns: the cycle starts from the imported version, or
// the import sees the cycle running.
func (s *Store) ImportPlan(ctx context.Context, in PlanImport) (ImportedVersion, error) {
	if _, err := time.Parse(time.DateOnly, in.EffectiveFrom); err != nil {
		return ImportedVersion{}, errorf(ErrInvalid, "importing the plan of %s: effective_from must be a date written as YYYY-MM-DD (got %q)", in.Provider, in.EffectiveFrom)
	}
	if in.ImportedBy == "" || len(in.Content.Sections) == 0 {
		return ImportedVersion{}, errorf(ErrInvalid, "importing the plan of %s needs the importer and at least one section", in.Provider)
	}
	out := ImportedVersion{EffectiveFrom: in.EffectiveFrom}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var found bool
		const qLock = `SELECT true FROM providers WHERE code = $1 FOR UPDATE`
		if err := sqlx.GetContext(ctx, tx, &found, qLock, in.Provider); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errorf(ErrNotFound, "provider %q has not been imported", in.Provider)
			}
			return fmt.Errorf("locking provider %s: %w", in.Provider, dbError(err))
		}
		running, err := runningCycle(ctx, tx, in.Provider)
		if err != nil {
			return err
		}
		if running != "" {
			return errorf(ErrCycleRunning, "the plan of %s cannot be imported while cycle %s is running: the cycle drafts the next version from the one it started with; import before a cycle starts or after it ends", in.Provider, running)
		}

		const qPlan = `INSERT INTO plans (provider_code) VALUES ($1) ON CONFLICT (provider_code) DO NOTHING`
		if _, err := tx.ExecContext(ctx, qPlan, in.Provider); err != nil {
			return fmt.Errorf("recording the plan of %s: %w", in.Provider, dbError(err))
		}
		var planID int64
		const qPlanID = `SELECT id FROM plans WHERE provider_code = $1 FOR UPDATE`
		if err := sqlx.GetContext(ctx, tx, &planID, qPlanID, in.Provider); err != nil {
			return fmt.Errorf("reading the plan of %s: %w", in.Provider, dbError(err))
		}
		var latest struct {
			Version       int    `db:"version"`
			Hash          string `db:"content_hash"`
			EffectiveFrom string `db:"effective_from"`
		}
		const qLatest = `
SELECT version, content_hash, to_char(effective_from, 'YYYY-MM-DD') AS effective_from
FROM plan_versions WHERE plan_id = $1 ORDER BY version DESC LIMIT 1`
		if err := sqlx.GetContext(ctx, tx, &latest, qLatest, planID); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("reading the latest version of the plan of %s: %w", in.Provider, dbError(err))
		}
		hash := in.Content.Hash()
		if latest.Version > 0 && latest.Hash == hash {
			out.Version, out.Hash, out.EffectiveFrom, out.Unchanged = latest.Version, hash, latest.EffectiveFrom, true
			return nil
		}
		if latest.Version != in.Over {
			return errorf(ErrDuplicate, "version %d of the plan of %s was published while the import was read against version %d: import again", latest.Version, in.Provider, in.Over)
		}

		out.Version, out.Hash = latest.Version+1, hash
		content, err := json.Marshal(in.Content)
		if err != nil {
			return fmt.Errorf("encoding the plan: %w", err)
		}
		const qVersion = `
INSERT INTO plan_versions (plan_id, version, content, content_hash, effective_from, source, imported_by,
    cycle_id, round, approved_by, approval_decision)
VALUES ($1, $2, $3, $4, $5, 'import', $6, NULL, NULL, NULL, NULL)`
		if _, err := tx.ExecContext(ctx, qVersion, planID, out.Version, string(content), hash, in.EffectiveFrom, in.ImportedBy); err != nil {
			return fmt.Errorf("recording version %d: %w", out.Version, dbError(err))
		}
		annexes := make([]string, len(in.Content.Annexes))
		for i, a := range in.Content.Annexes {
			annexes[i] = a.Unit
		}
		empty := []string{}
		for _, sec := range in.Content.Sections {
			if sec.Text == "" {
				empty = append(empty, sec.Key)
			}
		}
		payload := map[string]any{
			"provider": in.Provider, "version": out.Version, "hash": hash, "effective_from": in.EffectiveFrom,
			"sections": in.Content.Keys(), "annexes": annexes, "empty": empty, "title": in.Title,
		}
		subject := fmt.Sprintf("plan/%s/v%d", in.Provider, out.Version)
		return record(ctx, tx, in.ImportedBy, ActionPlanImported, subject, "", payload)
	})
	if err != nil {
		return ImportedVersion{}, fmt.Errorf("importing the plan of %s: %w", in.Provider, err)
	}
	return out, nil
}

// draftContent reads the content of a round's draft, which a sign-off's
// meaning depends on (review.SignOffMeaning).
func draftContent(ctx context.Context, q sqlx.QueryerContext, cycleID string, round int) (review.PlanContent, error) {
	var raw []byte
	const qContent = `SELECT content FROM plan_drafts WHERE cycle_id = $1 AND round = $2`
	if err := sqlx.GetContext(ctx, q, &raw, qContent, cycleID, round); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return review.PlanContent{}, errorf(ErrInvalid, "round %d of cycle %s has no draft to sign", round, cycleID)
		}
		return review.PlanContent{}, fmt.Errorf("reading the draft of round %d: %w", round, dbError(err))
	}
	var c review.PlanContent
	if err := json.Unmarshal(raw, &c); err != nil {
		return review.PlanContent{}, fmt.Errorf("decoding the draft of round %d: %w", round, err)
	}
	return c, nil
}
