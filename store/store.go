// Package store is OHO's data access: the organisation, the review cycles
// with their tasks and records, the published plan versions and the audit
// trail, all in PostgreSQL.
//
// Every method that changes something runs in one transaction and appends its
// audit event in that same transaction, and only when it really changed a
// row: the activities that call these methods are retried by Temporal, and a
// retry must neither write a record twice nor claim a change twice in the
// trail. Driver errors become the sentinel errors below at this boundary, so
// callers never look at SQLSTATE codes.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/schema"
)

// Sentinel errors. Errors returned by the store wrap one of them where it
// applies; test with errors.Is. Their messages are for people and name what is
// missing, closed or duplicated.
var (
	// ErrNotFound means a row the call needs does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate means the call would create something that already exists.
	ErrDuplicate = errors.New("already exists")
	// ErrInvalid means the input breaks a rule; retrying it cannot help.
	ErrInvalid = errors.New("invalid input")
	// ErrNotReady means a provider lacks people in roles a cycle needs.
	ErrNotReady = errors.New("not ready")
	// ErrNoCandidates means nobody holds the role a task needs.
	ErrNoCandidates = errors.New("no one can complete the task")
	// ErrTaskClosed means a task is done, superseded or cancelled and takes no
	// outcome or change.
	ErrTaskClosed = errors.New("task is closed")
	// ErrCycleClosed means a cycle has completed, failed or been cancelled and
	// takes no work.
	ErrCycleClosed = errors.New("cycle is closed")
	// ErrCycleRunning means a cycle of the provider is running, which the
	// call must not change the ground under (importing a plan).
	ErrCycleRunning = errors.New("a cycle is running")
)

// kindError is an error of one of the sentinel kinds with a message that says
// what exactly is wrong. It unwraps to the kind and to the driver error.
type kindError struct {
	kind error
	msg  string
	err  error
}

func (e *kindError) Error() string { return e.msg }

func (e *kindError) Unwrap() []error {
	if e.err == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.err}
}

func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// dbError turns driver errors into the sentinels: no rows, unique violations
// (23505), other integrity violations (class 23) and bad data (class 22).
// Anything else, such as a lost connection, is returned as it is.
func dbError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &kindError{kind: ErrNotFound, msg: "no such row", err: err}
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		msg := pqErr.Message
		if pqErr.Detail != "" {
			msg += " (" + pqErr.Detail + ")"
		}
		switch {
		case pqErr.Code == "23505":
			return &kindError{kind: ErrDuplicate, msg: msg, err: err}
		case pqErr.Code.Class() == "23", pqErr.Code.Class() == "22":
			return &kindError{kind: ErrInvalid, msg: msg, err: err}
		}
	}
	return err
}

// Store reads and writes OHO's records. It is safe for concurrent use.
type Store struct {
	db *sqlx.DB
}

// New returns a Store over an open database.
func New(db *sqlx.DB) *Store {
	return &Store{db: db}
}

// Open connects to PostgreSQL at databaseURL and checks that it answers. The
// error names the server and database, never the password.
func Open(ctx context.Context, databaseURL string) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", databaseURL)
	if err != nil {
		return nil, fmt.Errorf("cannot use DATABASE_URL (%s): %w", Target(databaseURL), err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w", Target(databaseURL), err)
	}
	return db, nil
}

// Target describes where a connection string points, as "host:port (database
// name)", leaving out the user and password. It reads both URLs
// ("postgres://…") and key=value strings ("host=… dbname=…").
func Target(databaseURL string) string {
	host, port, dbname := "localhost", "5432", ""
	if strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://") {
		u, err := url.Parse(databaseURL)
		if err != nil {
			return "an unreadable URL"
		}
		if h := u.Hostname(); h != "" {
			host = h
		}
		if p := u.Port(); p != "" {
			port = p
		}
		dbname = strings.TrimPrefix(u.Path, "/")
		if dbname == "" && u.User != nil {
			dbname = u.User.Username()
		}
	} else {
		for _, field := range strings.Fields(databaseURL) {
			k, v, _ := strings.Cut(field, "=")
			v = strings.Trim(v, "'")
			switch k {
			case "host":
				host = v
			case "port":
				port = v
			case "dbname":
				dbname = v
			}
		}
	}
	if dbname == "" {
		return net.JoinHostPort(host, port)
	}
	return fmt.Sprintf("%s (database %s)", net.JoinHostPort(host, port), dbname)
}

// inTx runs fn in a transaction and commits it if fn returns nil.
//
// PostgreSQL aborts one of two transactions that wait for each other — a
// deadlock (SQLSTATE 40P01), most often two writers meeting at the audit
// chain's head — and may abort a transaction it cannot serialize (40001).
// Neither is the caller's fault and both succeed when run again, so inTx runs
// such a transaction again, up to maxTxAttempts times with a short random
// pause, rather than passing the error to the person. fn must therefore be
// safe to run more than once: everything it writes is in tx, which was rolled
// back, and it must set, not accumulate, what it returns through variables it
// captures.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || !retryable(err) || attempt == maxTxAttempts {
			return err
		}
		// 5–10 ms, then 10–20, 20–40…: long enough for the transaction that
		// won to commit.
		pause := time.Duration(5<<(attempt-1)) * time.Millisecond
		pause += rand.N(pause)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// maxTxAttempts bounds how often inTx runs a transaction PostgreSQL aborted
// as a deadlock or a serialization failure.
const maxTxAttempts = 5

// tryTx runs fn in a transaction once.
func (s *Store) tryTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer tx.Rollback()
	events := new([]pendingEvent)
	eventsOf.Store(tx, events)
	defer eventsOf.Delete(tx)
	if err := fn(tx); err != nil {
		return err
	}
	// The events fn recorded go last, in one statement: the chain's head,
	// which every other writer waits for, is held from here to the commit
	// only.
	if err := appendEvents(ctx, tx, *events); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", dbError(err))
	}
	return nil
}

// retryable reports whether PostgreSQL aborted a transaction as a deadlock
// or a serialization failure, which running it again resolves.
func retryable(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && (pqErr.Code == "40P01" || pqErr.Code == "40001")
}

// Audit actions.
const (
	ActionOrgImported    = "org.imported"
	ActionCycleStarted   = "cycle.started"
	ActionCycleRestarted = "cycle.restarted"
	ActionPhaseChanged   = "cycle.phase_changed"
	ActionTaskOpened     = "task.opened"
	ActionTaskCompleted  = "task.completed"
	ActionTaskSuperseded = "task.superseded"
	ActionPlanPublished  = "plan.published"
	ActionPlanImported   = "plan.imported"
	ActionCycleFailed    = "cycle.failed"

	ActionTaskClaimed         = "task.claimed"
	ActionTaskUnclaimed       = "task.unclaimed"
	ActionTaskDelegated       = "task.delegated"
	ActionTaskReassigned      = "task.reassigned"
	ActionTaskExtended        = "task.extended"
	ActionTaskReminded        = "task.reminded"
	ActionTaskOverdue         = "task.overdue"
	ActionTaskOverdueReminded = "task.overdue_reminded"
	ActionTaskCancelled       = "task.cancelled"
	ActionCycleCancelled      = "cycle.cancelled"

	// One event for each record a completed task carries.
	ActionFindingRecorded      = "finding.recorded"
	ActionEffectivenessRated   = "effectiveness.rated"
	ActionConsultationRecorded = "consultation.recorded"
	ActionFeedbackRecorded     = "feedback.recorded"
	ActionChangeRecorded       = "change.recorded"
	ActionDispositionRecorded  = "disposition.recorded"
	ActionDraftRecorded        = "draft.recorded"
	ActionSignOffRecorded      = "signoff.recorded"
	ActionApprovalRecorded     = "approval.recorded"

	// A provider's yearly schedule, set or deleted by a manager.
	ActionScheduleSet     = "schedule.set"
	ActionScheduleDeleted = "schedule.deleted"
)

// Actors of audit events that are not people.
const (
	// ActorSystem caused what no person caused directly, such as a workflow
	// opening a task.
	ActorSystem = "system"
	// ActorOperator is the operator at the server's command line acting as
	// themselves rather than for a person (the event's channel is cli and
	// its channel reference the operating-system user).
	ActorOperator = "operator"
)

// Event is one entry of the audit trail. Seq, PrevHash and Hash place it in
// the hash chain (see schema/003_audit_chain.sql and VerifyAudit);
// WorkflowID and RunID name the workflow run whose activity wrote it, and are
// empty for events the command line wrote.
type Event struct {
	ID         int64     `db:"id" json:"id"`
	Seq        int64     `db:"seq" json:"seq"`
	At         time.Time `db:"at" json:"at"`
	Actor      string    `db:"actor" json:"actor"`
	Action     string    `db:"action" json:"action"`
	Subject    string    `db:"subject" json:"subject"`
	CycleID    string    `db:"cycle_id" json:"cycle_id,omitempty"`
	WorkflowID string    `db:"workflow_id" json:"workflow_id,omitempty"`
	RunID      string    `db:"run_id" json:"run_id,omitempty"`
	// Channel and ChannelRef say how the change reached OHO (review.Via);
	// empty for what the workflows did by themselves.
	Channel    review.Channel  `db:"channel" json:"channel,omitempty"`
	ChannelRef string          `db:"channel_ref" json:"channel_ref,omitempty"`
	Payload    json.RawMessage `db:"payload" json:"payload"`
	PrevHash   string          `db:"prev_hash" json:"prev_hash"`
	Hash       string          `db:"hash" json:"hash"`
	// Salt is random and covered by the hash, for events recorded since
	// migration 018; a pseudonymised event has none (see AuditHash).
	Salt string `db:"salt" json:"salt,omitempty"`
	// RedactedBy is, for an event a pseudonymisation rewrote, the seq of the
	// newest person.pseudonymised event that did, and RedactedHash the hash
	// it certified: what AuditHash of the event's fields now gives, while
	// Hash stays the one the chain links.
	RedactedBy   int64  `db:"redacted_by" json:"redacted_by,omitempty"`
	RedactedHash string `db:"redacted_hash" json:"redacted_hash,omitempty"`
}

// chainColumns are the columns of an Event the chain covers, for
// audit_events e; eventColumns are all of an Event's, with the newest
// redaction of a pseudonymised event.
const (
	chainColumns = `e.id, e.seq, e.at, e.actor, e.action, e.subject, COALESCE(e.cycle_id, '') AS cycle_id,
    e.workflow_id, e.run_id, e.channel, e.channel_ref, e.payload, e.prev_hash, e.hash, COALESCE(e.salt, '') AS salt`
	eventColumns = chainColumns + `,
    COALESCE((SELECT max(r.by_seq) FROM audit_redactions r WHERE r.seq = e.seq), 0) AS redacted_by,
    COALESCE((SELECT r.hash FROM audit_redactions r WHERE r.seq = e.seq ORDER BY r.by_seq DESC LIMIT 1), '') AS redacted_hash`
)

// runKey and viaKey are the context keys of the workflow run an activity
// works for and of the way a person's change came in.
type (
	runKey struct{}
	viaKey struct{}
)

type run struct{ workflowID, runID string }

// WithRun returns a context that makes the audit events recorded with it
// name the workflow run: activities pass their own workflow execution, so an
// auditor can go from an event to the workflow history that caused it.
func WithRun(ctx context.Context, workflowID, runID string) context.Context {
	return context.WithValue(ctx, runKey{}, run{workflowID, runID})
}

// WithVia returns a context that makes the audit events recorded with it say
// how the change reached OHO: the service passes the actor's channel for
// what it records itself, and the activities the one the workflow was told.
func WithVia(ctx context.Context, via review.Via) context.Context {
	return context.WithValue(ctx, viaKey{}, via)
}

// record records an event for the audit trail. Callers run it in the
// transaction of the change it describes, so the change and its event are
// committed together or not at all. In a transaction of inTx the event waits
// until fn has returned, and the transaction's events are then appended
// together, in the order recorded, just before the commit (tryTx): the
// chain's head is held for that last statement and the commit, not for
// everything the transaction does after its first event. With any other ext
// it is appended at once; with the database itself (not a transaction) it is
// one statement that commits by itself. The database places each event in
// the hash chain (a trigger takes the chain's head under a row lock) and sets
// its time.
func record(ctx context.Context, ext sqlx.ExtContext, actor, action, subject, cycleID string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encoding audit payload for %s: %w", action, err)
	}
	r, _ := ctx.Value(runKey{}).(run)
	via, _ := ctx.Value(viaKey{}).(review.Via)
	e := pendingEvent{actor: actor, action: action, subject: subject, cycleID: cycleID,
		workflowID: r.workflowID, runID: r.runID, channel: via.Channel, channelRef: via.Ref, payload: string(b)}
	if tx, ok := ext.(*sqlx.Tx); ok {
		if events, ok := eventsOf.Load(tx); ok {
			p := events.(*[]pendingEvent)
			*p = append(*p, e)
			return nil
		}
	}
	return appendEvents(ctx, ext, []pendingEvent{e})
}

// Events returns the audit trail in chain order, all of it or, when cycleID
// is not empty, the events of one cycle.
func (s *Store) Events(ctx context.Context, cycleID string) ([]Event, error) {
	q := `SELECT ` + eventColumns + `
FROM audit_events e
WHERE $1 = '' OR e.cycle_id = $1
ORDER BY e.seq`
	events := []Event{}
	if err := sqlx.SelectContext(ctx, s.db, &events, q, cycleID); err != nil {
		return nil, fmt.Errorf("reading audit events: %w", dbError(err))
	}
	return events, nil
}

// rowsAffected reports how many rows an Exec changed.
func rowsAffected(res sql.Result) (int64, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("counting changed rows: %w", err)
	}
	return n, nil
}

// Ready says whether the database answers and has every migration this
// program knows: nil, or why not.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("the database does not answer: %w", dbError(err))
	}
	return schema.Check(ctx, s.db.DB)
}
