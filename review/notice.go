package review

import "time"

// NoticeKind says what a notice announces.
type NoticeKind string

// Notice kinds. Each is also a value of the notifications.kind column, whose
// CHECK constraint a new kind must join in a migration.
const (
	// NoticeAssigned: a task opened for its role's pool.
	NoticeAssigned NoticeKind = "assigned"
	// NoticeReminder: a task is due soon.
	NoticeReminder NoticeKind = "reminder"
	// NoticeOverdue: a task is overdue; to whoever has it.
	NoticeOverdue NoticeKind = "overdue"
	// NoticeEscalation: a task is overdue; to the managers.
	NoticeEscalation NoticeKind = "escalation"
	// NoticeReassigned: a task was delegated or reassigned to the recipient.
	NoticeReassigned NoticeKind = "reassigned"
	// NoticeExtended: a task's due time moved.
	NoticeExtended NoticeKind = "extended"
	// NoticeCancelled: a task closed because its cycle was cancelled.
	NoticeCancelled NoticeKind = "cancelled"
	// NoticePublished: a plan version was published.
	NoticePublished NoticeKind = "published"
	// NoticeInvitation: a link to set one's password, to log in to OHO.
	NoticeInvitation NoticeKind = "invitation"
)

// NoticeFacts is what a notice is about, in facts rather than words: the
// store keeps it in the outbox (notifications.facts) in the transaction of the
// change it announces, and the sender writes the mail from it when it
// delivers. Keeping words out of the stored record lets the wording, its
// languages and its links (a command line yesterday, a web page today)
// change without rewriting notices already queued. It lives in this package,
// not in store, because it is domain vocabulary that the writer (store) and
// every reader (notify now, the web's list of notices later) share, and
// neither reader should have to import the data layer to decode it.
//
// Task notices set the task fields; publication notices the plan fields. A
// new kind adds its constant, the fields it needs (omitempty, so that the
// notices of other kinds stay as they are) and a case in the renderer.
//
// An invitation's Secret is the one exception to "facts, not secrets": the
// link must reach the person, so the secret waits in the outbox until the
// sender has dealt with the notice, and the sender removes it then, in the
// statement that records the outcome (the database keeps only the secret's
// hash). In log-only mode (no SMTP) the link is logged: that is how it
// reaches a developer.
//
// The JSON names are a stored format: notices queued by one version of OHO
// are delivered by another, so a name is never renamed or reused with
// another meaning.
type NoticeFacts struct {
	Kind NoticeKind `json:"kind"`

	// The task, for task notices.
	TaskID   string   `json:"task_id,omitempty"`
	TaskKind TaskKind `json:"task_kind,omitempty"`
	// Unit is the task's unit; empty for a provider-wide task.
	Unit string `json:"unit,omitempty"`
	// Role is the role whose holders may do the task.
	Role Role `json:"role,omitempty"`
	// Assignee is the person who had the task when the notice was queued;
	// empty while it was offered to its role's pool (Role in Unit). An
	// escalation names it, or the pool, as who has the overdue task.
	Assignee string `json:"assignee,omitempty"`
	// DueAt is the task's due time, after the change for an extension.
	DueAt time.Time `json:"due_at,omitzero"`

	// Actor is the person who caused the change, where one did (a
	// reassignment, an extension, a cancellation), and Reason the reason
	// they gave, as they typed it.
	Actor  string `json:"actor,omitempty"`
	Reason string `json:"reason,omitempty"`

	// The plan, for publication notices.
	Provider string `json:"provider,omitempty"`
	Year     int    `json:"year,omitempty"`
	Version  int    `json:"version,omitempty"`
	// EffectiveFrom is the date the version takes effect, YYYY-MM-DD.
	EffectiveFrom string `json:"effective_from,omitempty"`

	// For an invitation: the link's secret, until the notice is delivered,
	// and when the link expires; Actor is who invited, Provider whose
	// person is invited.
	Secret    string    `json:"secret,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}
