package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/review"
)

// Retention's audit actions.
const (
	// ActionNoticesDeleted records that a retention run deleted the notices
	// dealt with before a time.
	ActionNoticesDeleted = "notices.deleted"
	// ActionPersonPseudonymised records that a person who had left was
	// replaced by a pseudonym everywhere, with the certificate of the audit
	// events it rewrote (schema/018_pseudonymisation.sql).
	ActionPersonPseudonymised = "person.pseudonymised"
)

// noticesDealtWith selects the notices of provider $1 ("" for every
// provider) queued before $2 that have been dealt with.
const noticesDealtWith = `($1 = '' OR provider_code = $1) AND created_at < $2 AND state NOT IN ('pending', 'sending')`

// NoticesBefore counts the notices of a provider ("" for every provider)
// that were queued before the time and have been dealt with: sent, logged,
// failed or uncertain. Pending notices, and one being sent, are never old
// enough to delete.
func (s *Store) NoticesBefore(ctx context.Context, provider string, before time.Time) (int64, error) {
	var n int64
	if err := sqlx.GetContext(ctx, s.db, &n, `SELECT count(*) FROM notifications WHERE `+noticesDealtWith, provider, before); err != nil {
		return 0, fmt.Errorf("counting the notices queued before %s: %w", before.Format(time.RFC3339), dbError(err))
	}
	return n, nil
}

// DeleteNotices deletes the notices NoticesBefore counts, and records in the
// audit trail, in the same transaction, how many of which provider it
// deleted and from before when. Deleting none records nothing.
func (s *Store) DeleteNotices(ctx context.Context, actor, provider string, before time.Time) (int64, error) {
	var deleted int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		deleted = 0
		q := `DELETE FROM notifications WHERE ` + noticesDealtWith + ` RETURNING provider_code`
		var providers []string
		if err := sqlx.SelectContext(ctx, tx, &providers, q, provider, before); err != nil {
			return fmt.Errorf("deleting the notices queued before %s: %w", before.Format(time.RFC3339), dbError(err))
		}
		per := map[string]int64{}
		for _, p := range providers {
			per[p]++
		}
		deleted = int64(len(providers))
		for _, p := range slices.Sorted(maps.Keys(per)) {
			n := per[p]
			payload := map[string]any{"provider": p, "queued_before": before.UTC(), "deleted": n}
			if err := record(ctx, tx, actor, ActionNoticesDeleted, "provider/"+p, "", payload); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return deleted, nil
}

// LeftPerson is a person who has left (was disabled) before a retention
// period began and is not yet pseudonymised.
type LeftPerson struct {
	ID       string    `db:"id" json:"id"`
	Provider string    `db:"provider_code" json:"provider"`
	LeftAt   time.Time `db:"disabled_at" json:"left_at"`
	// OpenTask is an open task still assigned to them, which holds their
	// pseudonymisation back until a manager reassigns it ("" if none).
	OpenTask string `db:"open_task" json:"open_task,omitempty"`
	// RunningCycle is a running cycle of their provider while they still
	// hold a role, which holds it back until the cycle ends: its workflow
	// may have them among a task's candidates, and name them in the events
	// it records ("" if none).
	RunningCycle string `db:"running_cycle" json:"running_cycle,omitempty"`
}

// HeldBack says why the person cannot be pseudonymised yet ("" if they
// can).
func (p LeftPerson) HeldBack() string {
	switch {
	case p.OpenTask != "":
		return "still assigned open task " + p.OpenTask + " (a manager reassigns it: task reassign " + p.OpenTask + " --to PERSON)"
	case p.RunningCycle != "":
		return "holds a role while cycle " + p.RunningCycle + " runs (pseudonymised once it has ended)"
	}
	return ""
}

// LeftBefore lists the people of a provider ("" for every provider) who
// were disabled before the time and are not pseudonymised, by provider and
// ID.
func (s *Store) LeftBefore(ctx context.Context, provider string, before time.Time) ([]LeftPerson, error) {
	const q = `
SELECT p.id, p.provider_code, a.disabled_at,
       COALESCE((SELECT min(t.id) FROM tasks t WHERE t.status = 'open' AND t.assignee = p.id), '') AS open_task,
       COALESCE((SELECT min(c.id) FROM cycles c
                 WHERE c.provider_code = p.provider_code AND c.status = 'running'
                   AND EXISTS (SELECT FROM person_roles r WHERE r.person_id = p.id)), '') AS running_cycle
FROM people p JOIN accounts a ON a.person_id = p.id
WHERE ($1 = '' OR p.provider_code = $1) AND a.disabled_at < $2 AND p.pseudonymised_at IS NULL
ORDER BY p.provider_code, p.id`
	left := []LeftPerson{}
	if err := sqlx.SelectContext(ctx, s.db, &left, q, provider, before); err != nil {
		return nil, fmt.Errorf("reading the people who left before %s: %w", before.Format(time.RFC3339), dbError(err))
	}
	return left, nil
}

// Pseudonymisation is what pseudonymising one person did.
type Pseudonymisation struct {
	// Person is the ID they had, and Pseudonym the one that replaced it.
	Person    string `json:"person"`
	Pseudonym string `json:"pseudonym"`
	// Seq is the chain position of the person.pseudonymised event.
	Seq int64 `json:"seq"`
	// AuditEvents is how many audit events named them and were rewritten.
	AuditEvents int64 `json:"audit_events"`
	// Rewritten is how many rows of each table ("tasks.assignee") named them
	// and were rewritten, or were theirs and were deleted ("api_tokens").
	Rewritten map[string]int64 `json:"rewritten"`
}

// NewPseudonym returns a pseudonym nobody can map back to a person:
// "former-" and 16 random hex digits, a valid person ID (check.Person).
func NewPseudonym() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on a supported system
	}
	return "former-" + hex.EncodeToString(b)
}

// Pseudonymise replaces a person who has left by a new pseudonym wherever
// OHO's database names them, in one transaction, on the actor's behalf:
// see schema/018_pseudonymisation.sql, whose pseudonymise_person does it,
// and the README, "Retention and pseudonymisation". The audit trail keeps
// verifying. A person who is unknown is ErrNotFound; one not disabled,
// already pseudonymised or held back (LeftPerson.HeldBack) is ErrInvalid.
func (s *Store) Pseudonymise(ctx context.Context, actor, person string) (Pseudonymisation, error) {
	out := Pseudonymisation{Person: person}
	if !check.Person(person) {
		return out, errorf(ErrInvalid, "%s is not a person ID", check.Quote(person))
	}
	via, _ := ctx.Value(viaKey{}).(review.Via)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		out.Pseudonym = NewPseudonym()
		var raw []byte
		const q = `SELECT pseudonymise_person($1, $2, $3, $4, $5)`
		if err := tx.GetContext(ctx, &raw, q, person, out.Pseudonym, actor, string(via.Channel), via.Ref); err != nil {
			var pqErr *pq.Error
			if errors.As(err, &pqErr) && pqErr.Code == "P0002" {
				return &kindError{kind: ErrNotFound, msg: pqErr.Message, err: err}
			}
			return fmt.Errorf("pseudonymising %s: %w", person, dbError(err))
		}
		var r struct {
			Seq         int64            `json:"seq"`
			AuditEvents int64            `json:"audit_events"`
			Rewritten   map[string]int64 `json:"rewritten"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("reading what pseudonymising %s did: %w", person, err)
		}
		out.Seq, out.AuditEvents, out.Rewritten = r.Seq, r.AuditEvents, r.Rewritten
		return nil
	})
	if err != nil {
		return Pseudonymisation{Person: person}, err
	}
	return out, nil
}
