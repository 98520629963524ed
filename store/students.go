package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// FeedbackAnswer is one thing a unit's students said in a completed cycle
// and what the plan's editors did with it, as the published round records
// it: "you said → we did".
type FeedbackAnswer struct {
	Year    int    `db:"year" json:"year"`
	Unit    string `db:"unit_code" json:"unit"`
	Ref     string `db:"ref" json:"ref"`
	Section string `db:"section" json:"section"`
	Said    string `db:"said" json:"said"`
	// Decision is "addressed", "deferred" or "rejected" ("" when the cycle
	// recorded none); Reason why it was deferred or rejected.
	Decision string `db:"decision" json:"decision"`
	Reason   string `db:"reason" json:"reason,omitempty"`
	// ChangeID, ChangeSection and ChangeText are the change of the plan
	// that addressed it; Version the plan version its cycle published.
	ChangeID      string `db:"change_id" json:"change_id,omitempty"`
	ChangeSection string `db:"change_section" json:"change_section,omitempty"`
	ChangeText    string `db:"change_text" json:"change_text,omitempty"`
	Version       int    `db:"version" json:"version"`
	// Later is how the next cycles answered an item this cycle deferred.
	Later []FeedbackAnswer `db:"-" json:"later,omitempty"`
}

// StudentFeedback returns the students' feedback of the provider's
// completed cycles, newest first, of the units named (every unit when none
// is), each with the published round's answer, and for a deferred item the
// answers of the cycles that carried it after. Two queries, whatever the
// number of cycles.
func (s *Store) StudentFeedback(ctx context.Context, provider string, units []string) ([]FeedbackAnswer, error) {
	var filter any
	if len(units) > 0 {
		filter = pq.StringArray(units)
	}
	const qSaid = `
SELECT c.year, f.unit_code, f.unit_code || '/' || f.item_id AS ref, f.section, f.text AS said,
       coalesce(d.decision, '') AS decision, coalesce(d.reason, '') AS reason, coalesce(d.change_id, '') AS change_id,
       coalesce(ch.section, '') AS change_section, coalesce(ch.text, '') AS change_text, pv.version
FROM feedback_items f
JOIN cycles c ON c.id = f.cycle_id AND c.status = 'completed'
JOIN plan_versions pv ON pv.cycle_id = c.id
LEFT JOIN dispositions d ON d.cycle_id = c.id AND d.round = pv.round AND d.item_ref = f.unit_code || '/' || f.item_id
LEFT JOIN plan_changes ch ON ch.cycle_id = c.id AND ch.round = pv.round AND ch.change_id = d.change_id
WHERE c.provider_code = $1 AND ($2::text[] IS NULL OR f.unit_code = ANY($2))
ORDER BY c.year DESC, f.unit_code, f.item_id`
	var out []FeedbackAnswer
	if err := sqlx.SelectContext(ctx, s.db, &out, qSaid, provider, filter); err != nil {
		return nil, fmt.Errorf("reading the students' feedback of %s: %w", provider, dbError(err))
	}
	// Items carried from an earlier cycle are answered under "YEAR/UNIT/ID".
	const qLater = `
SELECT c.year, split_part(d.item_ref, '/', 2) AS unit_code, d.item_ref AS ref, coalesce(ch.section, '') AS section, '' AS said,
       d.decision, d.reason, d.change_id, coalesce(ch.section, '') AS change_section, coalesce(ch.text, '') AS change_text, pv.version
FROM dispositions d
JOIN cycles c ON c.id = d.cycle_id AND c.status = 'completed'
JOIN plan_versions pv ON pv.cycle_id = c.id AND pv.round = d.round
LEFT JOIN plan_changes ch ON ch.cycle_id = c.id AND ch.round = d.round AND ch.change_id = d.change_id
WHERE c.provider_code = $1 AND d.item_ref ~ '^[0-9]{4}/' AND ($2::text[] IS NULL OR split_part(d.item_ref, '/', 2) = ANY($2))
ORDER BY c.year`
	var later []FeedbackAnswer
	if err := sqlx.SelectContext(ctx, s.db, &later, qLater, provider, filter); err != nil {
		return nil, fmt.Errorf("reading the answers to carried feedback of %s: %w", provider, dbError(err))
	}
	byRef := map[string][]FeedbackAnswer{}
	for _, l := range later {
		byRef[l.Ref] = append(byRef[l.Ref], l)
	}
	for i := range out {
		if out[i].Decision == "deferred" {
			out[i].Later = byRef[strconv.Itoa(out[i].Year)+"/"+out[i].Ref]
			for j := range out[i].Later {
				out[i].Later[j].Ref = strings.TrimPrefix(out[i].Later[j].Ref, strconv.Itoa(out[i].Year)+"/")
			}
		}
	}
	return out, nil
}
