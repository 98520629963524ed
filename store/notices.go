package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/oho-dev/oho/review"
)

// Notices are queued in the notifications table (the outbox) in the
// transaction of the change they announce, and delivered later by package
// notify. Their IDs are deterministic ("reminder/<task>/<seq>/<person>"), so
// a retried change queues nothing twice. What is queued is the notice's
// facts (review.NoticeFacts), never its words: notify writes the subject and
// body when it delivers, so that the wording and its links can change
// without touching what is queued, and no text here goes stale the day a
// new front end exists.

// queueNotices adds a notice to the outbox for each of the people, with the
// ID idPrefix + "/" + person ID, the person's e-mail as it is now, and the
// facts f. A notice whose ID is queued already is left as it is.
func queueNotices(ctx context.Context, ext sqlx.ExtContext, f review.NoticeFacts, cycleID, idPrefix string, people []string) error {
	if len(people) == 0 {
		return nil
	}
	f.DueAt = f.DueAt.UTC()
	facts, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encoding the facts of %s notices: %w", f.Kind, err)
	}
	const q = `
INSERT INTO notifications (id, provider_code, person_id, email, kind, task_id, cycle_id, facts)
SELECT $1 || '/' || p.id, p.provider_code, p.id, p.email, $2, NULLIF($3, ''), NULLIF($4, ''), $5
FROM people p
WHERE p.id = ANY($6)
ON CONFLICT (id) DO NOTHING`
	if _, err := ext.ExecContext(ctx, q, idPrefix, f.Kind, f.TaskID, cycleID, string(facts), pq.Array(people)); err != nil {
		return fmt.Errorf("queueing %s notices: %w", f.Kind, dbError(err))
	}
	return nil
}

// noticeID is the ID prefix of the notices of a change that happens once to
// its subject, such as a task's opening: "assigned/<task>".
func noticeID(kind review.NoticeKind, subject string) string {
	return string(kind) + "/" + subject
}

// holders lists the people of the provider who hold any of the roles, in any
// unit, ordered by ID: the managers who receive escalations, say.
func holders(ctx context.Context, q sqlx.QueryerContext, provider string, roles ...review.Role) ([]string, error) {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	const qHolders = `
SELECT DISTINCT p.id
FROM people p JOIN person_roles pr ON pr.person_id = p.id
WHERE p.provider_code = $1 AND pr.role = ANY($2)
ORDER BY p.id`
	ids := []string{}
	if err := sqlx.SelectContext(ctx, q, &ids, qHolders, provider, pq.Array(names)); err != nil {
		return nil, fmt.Errorf("finding the provider's %s: %w", strings.Join(names, ", "), dbError(err))
	}
	return ids, nil
}

// taskRecipients is who hears about a task: its assignee, or, while it is in
// its role's pool, everyone holding the role in its unit.
func taskRecipients(ctx context.Context, q sqlx.QueryerContext, provider string, role review.Role, unit, assignee string) ([]string, error) {
	if assignee != "" {
		return []string{assignee}, nil
	}
	return candidates(ctx, q, provider, role, unit)
}

// NoticeCount is how many notices of a kind a cycle has queued.
type NoticeCount struct {
	Kind  review.NoticeKind `db:"kind" json:"kind"`
	Count int               `db:"count" json:"count"`
}

// NoticeCounts counts the notices a cycle has queued, by kind, in the order
// a cycle makes them.
func (s *Store) NoticeCounts(ctx context.Context, cycleID string) ([]NoticeCount, error) {
	const q = `
SELECT kind, count(*) AS count FROM notifications WHERE cycle_id = $1 GROUP BY kind
ORDER BY array_position(ARRAY['assigned', 'reminder', 'overdue', 'escalation', 'reassigned', 'extended', 'cancelled', 'published'], kind), kind`
	counts := []NoticeCount{}
	if err := sqlx.SelectContext(ctx, s.db, &counts, q, cycleID); err != nil {
		return nil, fmt.Errorf("counting the notices of cycle %s: %w", cycleID, dbError(err))
	}
	return counts, nil
}
