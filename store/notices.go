package store

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/oho-dev/oho/review"
)

// Notices are queued in the notifications table (the outbox) in the
// transaction of the change they announce, and delivered later by package
// notify. Their IDs are deterministic ("reminder/<task>/<seq>/<person>"), so
// a retried change queues nothing twice. Their texts are written here, all of
// them: plain, short, Finnish first and then English, because staff read
// them in a mail client or a log, not in OHO.

// Notice kinds: what a notice announces.
const (
	NoticeAssigned   = "assigned"
	NoticeReminder   = "reminder"
	NoticeOverdue    = "overdue"
	NoticeEscalation = "escalation"
	NoticeReassigned = "reassigned"
	NoticeExtended   = "extended"
	NoticeCancelled  = "cancelled"
	NoticePublished  = "published"
)

// noticeFacts is what a notice says. Task notices use the task fields;
// publication notices the plan fields.
type noticeFacts struct {
	Kind string
	// The task.
	TaskID   string
	TaskKind review.TaskKind
	Unit     string
	DueAt    time.Time
	// Holder is who has the task, for escalations: a person ID or "role@UNIT".
	Holder string
	// Actor is the person who caused the change, where one did.
	Actor  string
	Reason string
	// The plan, for publication notices.
	Provider      string
	Year          int
	Version       int
	EffectiveFrom string
}

// kindWords names task kinds in Finnish and English.
var kindWords = map[review.TaskKind][2]string{
	review.KindEvaluate: {"arviointi", "evaluation"},
	review.KindConsult:  {"opiskelijoiden kuuleminen", "student consultation"},
	review.KindDraft:    {"suunnitelman päivitys", "plan update"},
	review.KindSignOff:  {"yksikön hyväksyntä", "unit sign-off"},
	review.KindApprove:  {"suunnitelman hyväksyminen", "plan approval"},
}

// noticeTime formats a time for notices: UTC, to the minute.
func noticeTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") + " UTC" }

func noticeDate(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// oneLine makes text people typed (a reason) fit on one line of a notice:
// whitespace collapsed, at most 300 characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 300 {
		s = string([]rune(s)[:299]) + "…"
	}
	return s
}

// noticeText renders a notice's subject and body.
func noticeText(f noticeFacts) (subject, body string) {
	if f.Kind == NoticePublished {
		subject = fmt.Sprintf("Suunnitelma julkaistu / Plan published: %s version %d, effective %s", f.Provider, f.Version, f.EffectiveFrom)
		fi := fmt.Sprintf("Opiskeluhuoltosuunnitelman versio %d (%s) on julkaistu vuoden %d arviointikierroksen tuloksena. Se on voimassa %s alkaen.",
			f.Version, f.Provider, f.Year, f.EffectiveFrom)
		en := fmt.Sprintf("Version %d of the student welfare plan of %s is published as the result of the %d review cycle. It is effective from %s.",
			f.Version, f.Provider, f.Year, f.EffectiveFrom)
		see := fmt.Sprintf("starter cycle status --provider %s --year %d", f.Provider, f.Year)
		body = fi + "\nKatso: " + see + "\n\n" + en + "\nSee: " + see + "\n"
		return subject, body
	}

	due := noticeDate(f.DueAt)
	var subjFI, subjEN, tail, whatFI, whatEN string
	show := "starter task show " + f.TaskID
	doFI, doEN := "Katso ja tee: "+show, "See and do: "+show
	tail = "due " + due
	switch f.Kind {
	case NoticeAssigned:
		subjFI, subjEN = "Uusi tehtävä", "New task"
		whatFI, whatEN = "Sinulle tai roolillesi on avattu uusi tehtävä.", "A new task is open for you or your role."
	case NoticeReminder:
		subjFI, subjEN = "Muistutus", "Reminder"
		whatFI, whatEN = "Tehtävän määräaika lähestyy.", "The task is due soon."
	case NoticeOverdue:
		subjFI, subjEN = "Myöhässä", "Overdue"
		tail = "was due " + due
		whatFI, whatEN = "Tehtävä on myöhässä, ja siitä on ilmoitettu esimiehille.", "The task is overdue; the managers have been told."
	case NoticeEscalation:
		subjFI, subjEN = "Myöhässä oleva tehtävä", "Escalation"
		tail = "overdue since " + due
		whatFI = fmt.Sprintf("Tehtävä on myöhässä. Se on nyt: %s.", f.Holder)
		whatEN = fmt.Sprintf("The task is overdue. It is now with: %s.", f.Holder)
		doFI = "Voit jatkaa määräaikaa tai siirtää tehtävän: starter task extend|reassign " + f.TaskID
		doEN = "You may extend or reassign it: starter task extend|reassign " + f.TaskID
	case NoticeReassigned:
		subjFI, subjEN = "Tehtävä sinulle", "Task for you"
		whatFI = fmt.Sprintf("Tehtävä on annettu sinulle (antoi %s).", f.Actor)
		whatEN = fmt.Sprintf("The task has been given to you by %s.", f.Actor)
	case NoticeExtended:
		subjFI, subjEN = "Määräaikaa jatkettu", "Due date extended"
		tail = "now due " + due
		whatFI = fmt.Sprintf("Tehtävän määräaikaa on jatkettu (jatkoi %s).", f.Actor)
		whatEN = fmt.Sprintf("The task's due time has been extended by %s.", f.Actor)
	case NoticeCancelled:
		subjFI, subjEN = "Peruttu", "Cancelled"
		tail = "is no longer needed"
		whatFI = fmt.Sprintf("Arviointikierros on peruttu (perui %s), eikä tehtävää tarvitse enää tehdä.", f.Actor)
		whatEN = fmt.Sprintf("The review cycle has been cancelled by %s; the task no longer needs doing.", f.Actor)
		doFI, doEN = "Katso: "+show, "See: "+show
	}
	subject = fmt.Sprintf("%s / %s: %s %s", subjFI, subjEN, f.TaskID, tail)

	words := kindWords[f.TaskKind]
	unitFI, unitEN := "koko järjestäjä", "whole provider"
	if f.Unit != "" {
		unitFI, unitEN = "yksikkö "+f.Unit, "unit "+f.Unit
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Tehtävä %s (%s, %s), määräaika %s.\n%s\n", f.TaskID, words[0], unitFI, noticeTime(f.DueAt), whatFI)
	reason := oneLine(f.Reason)
	if reason != "" {
		fmt.Fprintf(&b, "Syy: %s\n", reason)
	}
	fmt.Fprintf(&b, "%s\n\n", doFI)
	fmt.Fprintf(&b, "Task %s (%s, %s), due %s.\n%s\n", f.TaskID, words[1], unitEN, noticeTime(f.DueAt), whatEN)
	if reason != "" {
		fmt.Fprintf(&b, "Reason: %s\n", reason)
	}
	fmt.Fprintf(&b, "%s\n", doEN)
	return subject, b.String()
}

// queueNotices adds a notice to the outbox for each of the people, with the
// ID idPrefix + "/" + person ID, the person's e-mail as it is now, and the
// text of f. A notice whose ID is queued already is left as it is.
func queueNotices(ctx context.Context, ext sqlx.ExtContext, f noticeFacts, cycleID, idPrefix string, people []string) error {
	if len(people) == 0 {
		return nil
	}
	subject, body := noticeText(f)
	const q = `
INSERT INTO notifications (id, provider_code, person_id, email, kind, task_id, cycle_id, subject, body)
SELECT $1 || '/' || p.id, p.provider_code, p.id, p.email, $2, NULLIF($3, ''), NULLIF($4, ''), $5, $6
FROM people p
WHERE p.id = ANY($7)
ON CONFLICT (id) DO NOTHING`
	if _, err := ext.ExecContext(ctx, q, idPrefix, f.Kind, f.TaskID, cycleID, subject, body, pq.Array(people)); err != nil {
		return fmt.Errorf("queueing %s notices: %w", f.Kind, dbError(err))
	}
	return nil
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
	Kind  string `db:"kind" json:"kind"`
	Count int    `db:"count" json:"count"`
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
