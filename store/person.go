package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/review"
)

// Keys of what a login session holds (package web's sessions, in the
// sessions table as scs's gob encoding): who logged in, and the session's
// reference in the audit trail. The store reads them to tell a person which
// sessions of theirs are live, never the session's token.
const (
	SessionPersonKey = "person"
	SessionRefKey    = "ref"
)

// PersonData is everything OHO's database holds about one person, for the
// person's right of access (GDPR article 15): their record, roles and unit
// memberships, how they log in (never a password hash, a link's or a
// token's secret, or a session's token: only that they exist and when),
// the tasks assigned or offered to them and those they completed with the
// outcomes they wrote, the records those outcomes made, their signatures,
// the notices queued for them, and every audit event that names them.
type PersonData struct {
	Person   PersonRecord     `json:"person"`
	Roles    []PersonRoleData `json:"roles"`
	Login    LoginData        `json:"login"`
	Sessions []SessionData    `json:"sessions"`
	Tokens   []Token          `json:"api_tokens"`
	Tasks    []PersonTask     `json:"tasks"`
	Records  AuthoredRecords  `json:"records"`
	Notices  []PersonNotice   `json:"notices"`
	// Audit are the audit events in which the person is the actor, the
	// subject (person/ID) or named in the payload, in chain order, with
	// the chain's head when they were read.
	Audit PersonAudit `json:"audit"`
}

// PersonRecord is the person's row, their account's state, and when and by
// whom the organisation file added them (from the audit trail).
type PersonRecord struct {
	ID           string `db:"id" json:"id"`
	Provider     string `db:"provider_code" json:"provider"`
	ProviderName string `db:"provider_name" json:"provider_name"`
	Name         string `db:"name" json:"name"`
	Email        string `db:"email" json:"email"`
	// OIDCSubject is the subject an identity provider knows them by, when
	// one finds them by subject (MPASSid).
	OIDCSubject string `db:"oidc_subject" json:"oidc_subject"`
	Language    string `db:"language" json:"language"`
	// AddedAt and AddedBy are those of the organisation import that added
	// the person (the audit event org.imported saying "person ID added").
	AddedAt *time.Time `db:"added_at" json:"added_at"`
	AddedBy string     `db:"added_by" json:"added_by,omitempty"`
	// Status is "active", "disabled" (they left, or may not log in) or
	// "pseudonymised" (they left, and this ID is the pseudonym that replaced
	// theirs: see Store.Pseudonymise).
	Status string `db:"-" json:"status"`
	// PseudonymisedAt is when, for a pseudonym.
	PseudonymisedAt *time.Time `db:"pseudonymised_at" json:"pseudonymised_at,omitempty"`
	DisabledAt      *time.Time `db:"disabled_at" json:"disabled_at"`
	DisabledBy      string     `db:"disabled_by" json:"disabled_by,omitempty"`
	DisabledReason  string     `db:"disabled_reason" json:"disabled_reason,omitempty"`
}

// PersonRoleData is a role the person holds, in a unit (with its name) or
// provider-wide.
type PersonRoleData struct {
	Role     review.Role `db:"role" json:"role"`
	Unit     string      `db:"unit_code" json:"unit"`
	UnitName string      `db:"unit_name" json:"unit_name,omitempty"`
}

// LoginData is how the person logs in: their local account (whether a
// password is set, never its hash), the invitations sent to them (never a
// link's secret) and the recent password login attempts in their name.
type LoginData struct {
	AccountCreatedAt *time.Time       `db:"account_created_at" json:"account_created_at"`
	PasswordSet      bool             `db:"password_set" json:"password_set"`
	PasswordSetAt    *time.Time       `db:"password_set_at" json:"password_set_at"`
	Invitations      []InvitationData `json:"invitations"`
	// Attempts are the password logins tried in the person's name, kept a
	// day for the limits on failures (the audit trail keeps every one).
	Attempts []LoginAttempt `json:"attempts"`
}

// InvitationData is a one-time link to set a password sent to the person.
type InvitationData struct {
	CreatedBy    string     `db:"created_by" json:"created_by"`
	CreatedAt    time.Time  `db:"created_at" json:"created_at"`
	ExpiresAt    time.Time  `db:"expires_at" json:"expires_at"`
	UsedAt       *time.Time `db:"used_at" json:"used_at"`
	SupersededAt *time.Time `db:"superseded_at" json:"superseded_at"`
}

// LoginAttempt is one password login tried in the person's name.
type LoginAttempt struct {
	At      time.Time `db:"at" json:"at"`
	Address string    `db:"address" json:"address"`
	OK      bool      `db:"ok" json:"ok"`
}

// SessionData is a live login session of the person: its reference in the
// audit trail and when it expires unless used. Never its token.
type SessionData struct {
	Ref       string    `json:"ref"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PersonTask is a task that concerns the person, and how (Relation):
// "assigned" to them now, "offered" to a role they hold while open, or
// "completed" by them. Outcome is set only for a task they completed (null
// otherwise): it is what they wrote. A task's input (which may hold what others wrote, such
// as the findings a draft answers) is not the person's data and is left out.
type PersonTask struct {
	ID          string          `db:"id" json:"id"`
	CycleID     string          `db:"cycle_id" json:"cycle_id"`
	WorkflowID  string          `db:"workflow_id" json:"workflow_id"`
	Kind        review.TaskKind `db:"kind" json:"kind"`
	Unit        string          `db:"unit_code" json:"unit"`
	Round       int             `db:"round" json:"round"`
	Role        review.Role     `db:"role" json:"role"`
	Status      string          `db:"status" json:"status"`
	Assignee    string          `db:"assignee" json:"assignee"`
	DueAt       time.Time       `db:"due_at" json:"due_at"`
	OverdueAt   *time.Time      `db:"overdue_at" json:"overdue_at"`
	CreatedAt   time.Time       `db:"created_at" json:"created_at"`
	CompletedBy string          `db:"completed_by" json:"completed_by"`
	CompletedAt *time.Time      `db:"completed_at" json:"completed_at"`
	Relation    pq.StringArray  `db:"relation" json:"relation"`
	Outcome     json.RawMessage `db:"outcome" json:"outcome"`
}

// AuthoredRecords are the records made from the outcomes the person wrote,
// and the signatures and plan versions that name them.
type AuthoredRecords struct {
	Indicators    []AuthoredIndicator   `json:"indicators"`
	Findings      []AuthoredFinding     `json:"findings"`
	Effectiveness []AuthoredRating      `json:"effectiveness_ratings"`
	Consultations []AuthoredConsult     `json:"consultations"`
	Feedback      []AuthoredFeedback    `json:"feedback_items"`
	Changes       []AuthoredChange      `json:"plan_changes"`
	Dispositions  []AuthoredDisposition `json:"dispositions"`
	Drafts        []AuthoredDraft       `json:"drafts"`
	SignOffs      []AuthoredSignOff     `json:"signoffs"`
	Approvals     []AuthoredApproval    `json:"approvals"`
	PlanVersions  []AuthoredVersion     `json:"plan_versions"`
}

// AuthoredIndicator is an indicator of an evaluation the person completed.
type AuthoredIndicator struct {
	CycleID           string   `db:"cycle_id" json:"cycle_id"`
	Unit              string   `db:"unit_code" json:"unit"`
	Code              string   `db:"code" json:"code,omitempty"`
	Name              string   `db:"name" json:"name"`
	Value             *float64 `db:"value" json:"value"`
	Target            float64  `db:"target" json:"target"`
	NotMeasuredReason *string  `db:"not_measured_reason" json:"not_measured_reason,omitempty"`
	TaskID            string   `db:"task_id" json:"task_id"`
}

// AuthoredFinding is a finding the person recorded.
type AuthoredFinding struct {
	CycleID        string `db:"cycle_id" json:"cycle_id"`
	Unit           string `db:"unit_code" json:"unit"`
	ItemID         string `db:"item_id" json:"item_id"`
	Section        string `db:"section" json:"section"`
	Severity       string `db:"severity" json:"severity"`
	Text           string `db:"text" json:"text"`
	Recommendation string `db:"recommendation" json:"recommendation"`
	TaskID         string `db:"task_id" json:"task_id"`
}

// AuthoredRating is a rating of a change's effectiveness the person gave.
type AuthoredRating struct {
	CycleID  string `db:"cycle_id" json:"cycle_id"`
	Unit     string `db:"unit_code" json:"unit"`
	ChangeID string `db:"change_id" json:"change_id"`
	Rating   string `db:"rating" json:"rating"`
	Note     string `db:"note" json:"note"`
	TaskID   string `db:"task_id" json:"task_id"`
}

// AuthoredConsult is a student consultation the person recorded.
type AuthoredConsult struct {
	CycleID      string `db:"cycle_id" json:"cycle_id"`
	Unit         string `db:"unit_code" json:"unit"`
	Method       string `db:"method" json:"method"`
	Participants int    `db:"participants" json:"participants"`
	HeldOn       string `db:"held_on" json:"held_on"`
	TaskID       string `db:"task_id" json:"task_id"`
}

// AuthoredFeedback is a feedback item the person recorded.
type AuthoredFeedback struct {
	CycleID string `db:"cycle_id" json:"cycle_id"`
	Unit    string `db:"unit_code" json:"unit"`
	ItemID  string `db:"item_id" json:"item_id"`
	Section string `db:"section" json:"section"`
	Text    string `db:"text" json:"text"`
	TaskID  string `db:"task_id" json:"task_id"`
}

// AuthoredChange is a change of the plan the person drafted.
type AuthoredChange struct {
	CycleID   string         `db:"cycle_id" json:"cycle_id"`
	Round     int            `db:"round" json:"round"`
	ChangeID  string         `db:"change_id" json:"change_id"`
	Section   string         `db:"section" json:"section"`
	Text      string         `db:"text" json:"text"`
	Rationale string         `db:"rationale" json:"rationale"`
	Addresses pq.StringArray `db:"addresses" json:"addresses"`
	TaskID    string         `db:"task_id" json:"task_id"`
}

// AuthoredDisposition is what the person's draft did with a finding or a
// feedback item.
type AuthoredDisposition struct {
	CycleID  string `db:"cycle_id" json:"cycle_id"`
	Round    int    `db:"round" json:"round"`
	ItemRef  string `db:"item_ref" json:"item"`
	Decision string `db:"decision" json:"decision"`
	ChangeID string `db:"change_id" json:"change_id"`
	Reason   string `db:"reason" json:"reason"`
	TaskID   string `db:"task_id" json:"task_id"`
}

// AuthoredDraft is a draft of the plan the person wrote: its hash and
// when (the plan's text is the provider's document, read with plan show).
type AuthoredDraft struct {
	CycleID     string    `db:"cycle_id" json:"cycle_id"`
	Round       int       `db:"round" json:"round"`
	ContentHash string    `db:"content_hash" json:"content_hash"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
	TaskID      string    `db:"task_id" json:"task_id"`
}

// AuthoredSignOff is a unit's sign-off the person signed.
type AuthoredSignOff struct {
	CycleID     string    `db:"cycle_id" json:"cycle_id"`
	Round       int       `db:"round" json:"round"`
	Unit        string    `db:"unit_code" json:"unit"`
	Role        string    `db:"role" json:"role"`
	Decision    string    `db:"decision" json:"decision"`
	Comment     string    `db:"comment" json:"comment"`
	VersionHash string    `db:"version_hash" json:"version_hash"`
	Meaning     string    `db:"meaning" json:"meaning"`
	SignedAt    time.Time `db:"signed_at" json:"signed_at"`
	TaskID      string    `db:"task_id" json:"task_id"`
}

// AuthoredApproval is an approval (or a return) the person signed.
type AuthoredApproval struct {
	CycleID       string    `db:"cycle_id" json:"cycle_id"`
	Round         int       `db:"round" json:"round"`
	Role          string    `db:"role" json:"role"`
	Decision      string    `db:"decision" json:"decision"`
	Comment       string    `db:"comment" json:"comment"`
	EffectiveFrom *string   `db:"effective_from" json:"effective_from"`
	VersionHash   string    `db:"version_hash" json:"version_hash"`
	Meaning       string    `db:"meaning" json:"meaning"`
	SignedAt      time.Time `db:"signed_at" json:"signed_at"`
	TaskID        string    `db:"task_id" json:"task_id"`
}

// AuthoredVersion is a published plan version that names the person: as
// its approver, or as who imported it.
type AuthoredVersion struct {
	Provider    string    `db:"provider_code" json:"provider"`
	Version     int       `db:"version" json:"version"`
	ContentHash string    `db:"content_hash" json:"content_hash"`
	Source      string    `db:"source" json:"source"`
	As          string    `db:"as_what" json:"as"`
	CycleID     *string   `db:"cycle_id" json:"cycle_id"`
	PublishedAt time.Time `db:"published_at" json:"published_at"`
}

// PersonNotice is a notice queued for the person in the outbox: its facts
// (an invitation's link secret removed), or, with Facts null, the text of a
// notice queued before facts were stored; and how its delivery went.
type PersonNotice struct {
	ID           string          `db:"id" json:"id"`
	Kind         string          `db:"kind" json:"kind"`
	Email        string          `db:"email" json:"email"`
	TaskID       *string         `db:"task_id" json:"task_id"`
	CycleID      *string         `db:"cycle_id" json:"cycle_id"`
	Facts        json.RawMessage `db:"facts" json:"facts"`
	Subject      *string         `db:"subject" json:"subject,omitempty"`
	Body         *string         `db:"body" json:"body,omitempty"`
	State        string          `db:"state" json:"state"`
	Attempts     int             `db:"attempts" json:"attempts"`
	LastError    string          `db:"last_error" json:"last_error,omitempty"`
	CreatedAt    time.Time       `db:"created_at" json:"created_at"`
	HandedOverAt *time.Time      `db:"handed_over_at" json:"handed_over_at"`
	SentAt       *time.Time      `db:"sent_at" json:"sent_at"`
}

// PersonAudit is the audit events that name a person, with the chain's
// head, so that each can be checked: an event's hash is AuditHash of its
// fields (its payload as PayloadText) and the hash of the event before,
// prev_hash; the head's hash covers the whole chain.
type PersonAudit struct {
	Events    []PersonEvent `json:"events"`
	ChainHead ChainHead     `json:"chain_head"`
}

// PersonEvent is an audit event and how it names the person: "actor",
// "subject" (person/ID) or "payload". PayloadText is the payload exactly as
// the hash covers it (PostgreSQL's text form of the jsonb), which Payload,
// re-encoded as JSON, is not.
type PersonEvent struct {
	Event
	PayloadText string         `db:"payload_text" json:"payload_text"`
	NamedAs     pq.StringArray `db:"named_as" json:"named_as"`
}

// personMention is the JSON path that finds a person's ID in any string of
// an audit payload, as a whole word: a value ("assignee": "north.nurse"),
// an element of a list ("notified": [...]), or part of a sentence ("person
// north.nurse added", a reason naming them), in any letter case. An ID's
// characters (check.Person: a-z, 0-9, '.', '_', '-') are word characters
// here, except a '.' that ends a sentence. like_regex takes only a literal
// pattern, so the path is written for the ID, which must be check.Person's.
func personMention(id string) string {
	quoted := strings.ReplaceAll(id, ".", `\\.`)
	return `strict $.** ? (@.type() == "string" && @ like_regex "(^|[^a-z0-9._-])` + quoted +
		`([^a-z0-9._-]|\\.([^a-z0-9]|$)|$)" flag "i")`
}

// PersonData gathers everything the database holds about the person, in one
// read-only snapshot. An ID that is no person's is ErrNotFound.
func (s *Store) PersonData(ctx context.Context, id string) (PersonData, error) {
	var d PersonData
	if !check.Person(id) {
		return d, errorf(ErrInvalid, "%s is not a person ID", check.Quote(id))
	}
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return d, fmt.Errorf("beginning the read of person %s: %w", id, dbError(err))
	}
	defer tx.Rollback()

	const qPerson = `
SELECT p.id, p.provider_code, pv.name AS provider_name, p.name, p.email, p.oidc_subject,
       COALESCE(a.language, '') AS language, a.disabled_at,
       COALESCE(a.disabled_by, '') AS disabled_by, COALESCE(a.disabled_reason, '') AS disabled_reason,
       added.at AS added_at, COALESCE(added.actor, '') AS added_by, p.pseudonymised_at
FROM people p
JOIN providers pv ON pv.code = p.provider_code
LEFT JOIN accounts a ON a.person_id = p.id
LEFT JOIN LATERAL (
    SELECT e.at, e.actor FROM audit_events e
    WHERE e.action = 'org.imported' AND e.subject = 'provider/' || p.provider_code
      AND e.payload -> 'changes' ? ('person ' || p.id || ' added')
    ORDER BY e.seq LIMIT 1) added ON true
WHERE p.id = $1`
	if err := sqlx.GetContext(ctx, tx, &d.Person, qPerson, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return d, errorf(ErrNotFound, "person %q is not known", id)
		}
		return d, fmt.Errorf("reading person %s: %w", id, dbError(err))
	}
	d.Person.Status = "active"
	switch {
	case d.Person.PseudonymisedAt != nil:
		d.Person.Status = "pseudonymised"
	case d.Person.DisabledAt != nil:
		d.Person.Status = "disabled"
	}

	// Each list is read into a non-nil slice, so that an empty one is []
	// in the document, not null.
	lists := []struct {
		what string
		dest any
		q    string
	}{
		{"roles", &d.Roles, `
SELECT pr.role, pr.unit_code, COALESCE(u.name, '') AS unit_name
FROM person_roles pr JOIN people p ON p.id = pr.person_id
LEFT JOIN units u ON u.provider_code = p.provider_code AND u.code = pr.unit_code
WHERE pr.person_id = $1 ORDER BY pr.role, pr.unit_code`},
		{"invitations", &d.Login.Invitations, `
SELECT created_by, created_at, expires_at, used_at, superseded_at
FROM password_links WHERE person_id = $1 ORDER BY created_at, secret_hash`},
		{"login attempts", &d.Login.Attempts, `
SELECT at, address, ok FROM login_attempts WHERE person_id = $1 ORDER BY at, id`},
		{"API tokens", &d.Tokens, `SELECT ` + tokenColumns + ` FROM api_tokens WHERE person_id = $1 ORDER BY created_at, id`},
		{"tasks", &d.Tasks, `
WITH offered AS (
    SELECT t.id FROM tasks t
    JOIN cycles c ON c.id = t.cycle_id
    JOIN people p ON p.id = $1 AND p.provider_code = c.provider_code
    JOIN person_roles pr ON pr.person_id = p.id AND pr.role = t.role AND pr.unit_code = t.unit_code
    WHERE t.status = 'open' AND t.assignee = ''
)
SELECT t.id, t.cycle_id, t.workflow_id, t.kind, t.unit_code, t.round, t.role, t.status, t.assignee,
       t.due_at, t.overdue_at, t.created_at, COALESCE(t.completed_by, '') AS completed_by, t.completed_at,
       array_remove(ARRAY[
           CASE WHEN t.assignee = $1 THEN 'assigned' END,
           CASE WHEN t.id IN (SELECT id FROM offered) THEN 'offered' END,
           CASE WHEN t.completed_by = $1 THEN 'completed' END], NULL) AS relation,
       COALESCE(CASE WHEN t.completed_by = $1 THEN t.outcome END, 'null'::jsonb) AS outcome
FROM tasks t
WHERE t.assignee = $1 OR t.completed_by = $1 OR t.id IN (SELECT id FROM offered)
ORDER BY t.created_at, t.id`},
		{"indicators", &d.Records.Indicators, `
SELECT i.cycle_id, i.unit_code, i.code, i.name, i.value, i.target, i.not_measured_reason, i.task_id
FROM indicators i JOIN tasks t ON t.id = i.task_id
WHERE t.completed_by = $1 ORDER BY i.cycle_id, i.unit_code, i.ordinal`},
		{"findings", &d.Records.Findings, `
SELECT f.cycle_id, f.unit_code, f.item_id, f.section, f.severity, f.text, f.recommendation, f.task_id
FROM findings f JOIN tasks t ON t.id = f.task_id
WHERE t.completed_by = $1 ORDER BY f.cycle_id, f.unit_code, f.item_id`},
		{"effectiveness ratings", &d.Records.Effectiveness, `
SELECT r.cycle_id, r.unit_code, r.change_id, r.rating, r.note, r.task_id
FROM effectiveness_ratings r JOIN tasks t ON t.id = r.task_id
WHERE t.completed_by = $1 ORDER BY r.cycle_id, r.unit_code, r.change_id`},
		{"consultations", &d.Records.Consultations, `
SELECT c.cycle_id, c.unit_code, c.method, c.participants, c.held_on::text AS held_on, c.task_id
FROM consultations c JOIN tasks t ON t.id = c.task_id
WHERE t.completed_by = $1 ORDER BY c.cycle_id, c.unit_code`},
		{"feedback items", &d.Records.Feedback, `
SELECT f.cycle_id, f.unit_code, f.item_id, f.section, f.text, f.task_id
FROM feedback_items f JOIN tasks t ON t.id = f.task_id
WHERE t.completed_by = $1 ORDER BY f.cycle_id, f.unit_code, f.item_id`},
		{"plan changes", &d.Records.Changes, `
SELECT c.cycle_id, c.round, c.change_id, c.section, c.text, c.rationale, c.addresses, c.task_id
FROM plan_changes c JOIN tasks t ON t.id = c.task_id
WHERE t.completed_by = $1 ORDER BY c.cycle_id, c.round, c.change_id`},
		{"dispositions", &d.Records.Dispositions, `
SELECT d.cycle_id, d.round, d.item_ref, d.decision, d.change_id, d.reason, d.task_id
FROM dispositions d JOIN tasks t ON t.id = d.task_id
WHERE t.completed_by = $1 ORDER BY d.cycle_id, d.round, d.item_ref`},
		{"drafts", &d.Records.Drafts, `
SELECT cycle_id, round, content_hash, created_at, task_id
FROM plan_drafts WHERE drafted_by = $1 ORDER BY cycle_id, round`},
		{"sign-offs", &d.Records.SignOffs, `
SELECT cycle_id, round, unit_code, role, decision, comment, version_hash, meaning, signed_at, task_id
FROM signoffs WHERE signer = $1 ORDER BY signed_at, cycle_id, round, unit_code`},
		{"approvals", &d.Records.Approvals, `
SELECT cycle_id, round, role, decision, comment, effective_from::text AS effective_from, version_hash, meaning, signed_at, task_id
FROM approvals WHERE approver = $1 ORDER BY signed_at, cycle_id, round`},
		{"plan versions", &d.Records.PlanVersions, `
SELECT pl.provider_code, v.version, v.content_hash, v.source,
       CASE WHEN v.approved_by = $1 THEN 'approver' ELSE 'importer' END AS as_what,
       v.cycle_id, v.published_at
FROM plan_versions v JOIN plans pl ON pl.id = v.plan_id
WHERE v.approved_by = $1 OR v.imported_by = $1
ORDER BY pl.provider_code, v.version`},
		{"notices", &d.Notices, `
SELECT id, kind, email, task_id, cycle_id, COALESCE(facts - 'secret', 'null'::jsonb) AS facts, subject, body, state, attempts,
       last_error, created_at, handed_over_at, sent_at
FROM notifications WHERE person_id = $1 ORDER BY created_at, id`},
		{"audit events", &d.Audit.Events, `
SELECT ` + eventColumns + `, e.payload::text AS payload_text,
       array_remove(ARRAY[
           CASE WHEN e.actor = $1 THEN 'actor' END,
           CASE WHEN e.subject = 'person/' || $1 THEN 'subject' END,
           CASE WHEN jsonb_path_exists(e.payload, $2::jsonpath) THEN 'payload' END], NULL) AS named_as
FROM audit_events e
WHERE e.actor = $1 OR e.subject = 'person/' || $1 OR jsonb_path_exists(e.payload, $2::jsonpath)
ORDER BY e.seq`},
	}
	d.Roles, d.Login.Invitations, d.Login.Attempts, d.Tokens, d.Tasks = []PersonRoleData{}, []InvitationData{}, []LoginAttempt{}, []Token{}, []PersonTask{}
	d.Records = AuthoredRecords{Indicators: []AuthoredIndicator{}, Findings: []AuthoredFinding{}, Effectiveness: []AuthoredRating{},
		Consultations: []AuthoredConsult{}, Feedback: []AuthoredFeedback{}, Changes: []AuthoredChange{},
		Dispositions: []AuthoredDisposition{}, Drafts: []AuthoredDraft{}, SignOffs: []AuthoredSignOff{},
		Approvals: []AuthoredApproval{}, PlanVersions: []AuthoredVersion{}}
	d.Notices, d.Audit.Events = []PersonNotice{}, []PersonEvent{}
	for _, l := range lists {
		args := []any{id}
		if strings.Contains(l.q, "$2") {
			args = append(args, personMention(id))
		}
		if err := sqlx.SelectContext(ctx, tx, l.dest, l.q, args...); err != nil {
			return d, fmt.Errorf("reading the %s of person %s: %w", l.what, id, dbError(err))
		}
	}

	const qAccount = `SELECT created_at, password_hash <> '' AS password_set, password_set_at FROM accounts WHERE person_id = $1`
	var acct struct {
		CreatedAt     time.Time  `db:"created_at"`
		PasswordSet   bool       `db:"password_set"`
		PasswordSetAt *time.Time `db:"password_set_at"`
	}
	switch err := sqlx.GetContext(ctx, tx, &acct, qAccount, id); {
	case err == nil:
		d.Login.AccountCreatedAt, d.Login.PasswordSet, d.Login.PasswordSetAt = &acct.CreatedAt, acct.PasswordSet, acct.PasswordSetAt
	case !errors.Is(err, sql.ErrNoRows):
		return d, fmt.Errorf("reading the account of person %s: %w", id, dbError(err))
	}

	if d.Sessions, err = sessionsOf(ctx, tx, id); err != nil {
		return d, err
	}
	if err := sqlx.GetContext(ctx, tx, &d.Audit.ChainHead, `SELECT seq, hash FROM audit_chain_head`); err != nil {
		return d, fmt.Errorf("reading the audit chain's head: %w", dbError(err))
	}
	return d, nil
}

// sessionsOf lists the person's live login sessions. Sessions name their
// person only inside their data (scs's encoding), so each live one is
// decoded: there are few, since they end after 12 hours at most and
// expired ones are deleted.
func sessionsOf(ctx context.Context, q sqlx.QueryerContext, person string) ([]SessionData, error) {
	rows, err := q.QueryxContext(ctx, `SELECT data, expiry FROM sessions WHERE expiry > now() ORDER BY expiry`)
	if err != nil {
		return nil, fmt.Errorf("reading login sessions: %w", dbError(err))
	}
	defer rows.Close()
	out := []SessionData{}
	for rows.Next() {
		var data []byte
		var expiry time.Time
		if err := rows.Scan(&data, &expiry); err != nil {
			return nil, fmt.Errorf("reading login sessions: %w", dbError(err))
		}
		_, values, err := scs.GobCodec{}.Decode(data)
		if err != nil {
			// Not a session this program wrote: it names nobody it can read.
			continue
		}
		if p, _ := values[SessionPersonKey].(string); p != person {
			continue
		}
		ref, _ := values[SessionRefKey].(string)
		out = append(out, SessionData{Ref: ref, ExpiresAt: expiry})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading login sessions: %w", dbError(err))
	}
	return out, nil
}

// PersonSummary is a person as a list of the provider's people shows them.
type PersonSummary struct {
	ID         string         `db:"id" json:"id"`
	Name       string         `db:"name" json:"name"`
	Roles      pq.StringArray `db:"roles" json:"roles"`
	DisabledAt *time.Time     `db:"disabled_at" json:"disabled_at,omitempty"`
	// PseudonymisedAt is set for a pseudonym that replaced a person who
	// left (Store.Pseudonymise).
	PseudonymisedAt *time.Time `db:"pseudonymised_at" json:"pseudonymised_at,omitempty"`
}

// People lists the provider's people by ID, each with their roles written
// as pools ("welfare_staff@NORTH", review.Pool).
func (s *Store) People(ctx context.Context, provider string) ([]PersonSummary, error) {
	const q = `
SELECT p.id, p.name, a.disabled_at, p.pseudonymised_at,
       COALESCE(array_agg(pr.role || CASE WHEN pr.unit_code = '' THEN '' ELSE '@' || pr.unit_code END
                          ORDER BY pr.role, pr.unit_code) FILTER (WHERE pr.role IS NOT NULL), '{}') AS roles
FROM people p
LEFT JOIN accounts a ON a.person_id = p.id
LEFT JOIN person_roles pr ON pr.person_id = p.id
WHERE p.provider_code = $1
GROUP BY p.id, p.name, a.disabled_at, p.pseudonymised_at
ORDER BY p.id`
	out := []PersonSummary{}
	if err := sqlx.SelectContext(ctx, s.db, &out, q, provider); err != nil {
		return nil, fmt.Errorf("reading the people of %s: %w", provider, dbError(err))
	}
	return out, nil
}
