package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/metrics"
	"github.com/oho-dev/oho/review"
)

// GenesisHash is the prev_hash of the first event of the chain.
var GenesisHash = strings.Repeat("0", 64)

// AuditHash is the hash of an event as the chain defines it (see
// schema/003_audit_chain.sql, 007_audit_channel.sql and
// 018_pseudonymisation.sql): the SHA-256, in lower-case hex, of each field
// written as "<length in bytes>:<value>\n", in the order seq, at (UTC, to the
// microsecond), actor, action, subject, cycle ID, workflow ID, run ID,
// payload (PostgreSQL's text form of the jsonb) and prev_hash; then, for an
// event with a salt (recorded since migration 018), channel, channel
// reference and salt; for an event without one, channel and channel
// reference if either is set. It is computed here independently of the
// database, which computed it on insert.
//
// A pseudonymised event has lost its salt and the names it held, so its
// fields no longer give its recorded hash: they give the hash its
// redaction certifies (VerifyAudit).
func AuditHash(e Event) string {
	h := sha256.New()
	fields := []string{
		strconv.FormatInt(e.Seq, 10),
		e.At.UTC().Format("2006-01-02T15:04:05.000000Z"),
		e.Actor, e.Action, e.Subject, e.CycleID, e.WorkflowID, e.RunID,
		string(e.Payload), e.PrevHash,
	}
	switch {
	case e.Salt != "":
		fields = append(fields, string(e.Channel), e.ChannelRef, e.Salt)
	case e.Channel != "" || e.ChannelRef != "":
		fields = append(fields, string(e.Channel), e.ChannelRef)
	}
	for _, f := range fields {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// pendingEvent is an audit event recorded and not yet appended to the trail.
type pendingEvent struct {
	actor, action, subject, cycleID string
	workflowID, runID               string
	channel                         review.Channel
	channelRef                      string
	payload                         string // JSON
}

// eventsOf holds, for each transaction of inTx still open, the events it has
// recorded (*sqlx.Tx → *[]pendingEvent), which tryTx appends before it
// commits. A transaction is used by one goroutine at a time, so only the map
// itself is shared.
var eventsOf sync.Map

// appendBatch is how many events one INSERT appends at most (9 parameters
// each, well under PostgreSQL's 65,535).
const appendBatch = 1000

// appendEvents appends the events to the audit trail in the order given, in
// one INSERT of many rows (per appendBatch), and observes how long each took
// in oho_audit_append_seconds (package metrics). The INSERT's trigger chains
// the rows one after the other; it waits for the chain's head row, which a
// concurrent writer holds until its transaction commits, so contention on the
// chain shows in this time.
func appendEvents(ctx context.Context, ext sqlx.ExecerContext, events []pendingEvent) error {
	for len(events) > 0 {
		n := min(len(events), appendBatch)
		var q strings.Builder
		q.WriteString(`INSERT INTO audit_events (actor, action, subject, cycle_id, workflow_id, run_id, channel, channel_ref, payload) VALUES `)
		args := make([]any, 0, 9*n)
		for i, e := range events[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			k := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, NULLIF($%d, ''), $%d, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4, k+5, k+6, k+7, k+8, k+9)
			args = append(args, e.actor, e.action, e.subject, e.cycleID, e.workflowID, e.runID, e.channel, e.channelRef, e.payload)
		}
		start := time.Now()
		_, err := ext.ExecContext(ctx, q.String(), args...)
		metrics.AuditAppended(time.Since(start))
		if err != nil {
			if n == 1 {
				return fmt.Errorf("recording audit event %s: %w", events[0].action, dbError(err))
			}
			return fmt.Errorf("recording %d audit events (%s, …): %w", n, events[0].action, dbError(err))
		}
		events = events[n:]
	}
	return nil
}

// BrokenEvent is where a chain stops being intact, and why.
type BrokenEvent struct {
	// Seq is the chain position at fault: the event whose fields no longer
	// give its hash, or the first missing position.
	Seq int64 `json:"seq"`
	// ID, Action and Subject describe the event found there (zero when the
	// position is missing).
	ID      int64  `json:"id,omitempty"`
	Action  string `json:"action,omitempty"`
	Subject string `json:"subject,omitempty"`
	Reason  string `json:"reason"`
}

func (b BrokenEvent) String() string {
	if b.ID == 0 {
		return fmt.Sprintf("event seq %d: %s", b.Seq, b.Reason)
	}
	return fmt.Sprintf("event seq %d (id %d, %s %s): %s", b.Seq, b.ID, b.Action, b.Subject, b.Reason)
}

// Verification is the outcome of VerifyAudit.
type Verification struct {
	// Events is how many events were read.
	Events int64 `json:"events"`
	// Broken is the first fault found; nil when the chain is intact.
	Broken *BrokenEvent `json:"broken,omitempty"`
	// Head is the chain's head the verification ended at, when the chain is
	// intact: record it outside the database (docs/deploy.md, "Backups,
	// restores and the audit chain"), so that a later verification can tell
	// a chain that goes on from it from one rewritten or restored to an
	// earlier moment.
	Head *ChainHead `json:"head,omitempty"`
	// Pseudonymised is how many events a pseudonymisation rewrote (each
	// checked against what its run certified), and Pseudonymisations how
	// many runs did (person.pseudonymised events).
	Pseudonymised     int64 `json:"pseudonymised,omitempty"`
	Pseudonymisations int64 `json:"pseudonymisations,omitempty"`
}

// ChainHead is the last event of the audit chain: its place and its hash,
// which covers every event before it.
type ChainHead struct {
	Seq  int64  `db:"seq" json:"seq"`
	Hash string `db:"hash" json:"hash"`
}

// Head returns the audit chain's head as the database records it.
func (s *Store) Head(ctx context.Context) (ChainHead, error) {
	var h ChainHead
	if err := sqlx.GetContext(ctx, s.db, &h, `SELECT seq, hash FROM audit_chain_head`); err != nil {
		return ChainHead{}, fmt.Errorf("reading the audit chain's head: %w", dbError(err))
	}
	return h, nil
}

// VerifyAudit recomputes the hash chain of the whole audit trail, in chain
// order, reading one event at a time: every position from 1 up is present
// once, every event names the hash of the one before, every hash is the hash
// of the event's fields, and the chain's head names the last event. It
// reports the first fault. An edit made around the database's refusals
// (changed fields, a removed or inserted event, a truncated tail) shows as
// such a fault, unless the editor also recomputed every later hash and the
// head, which the chain alone cannot prevent: export the trail (starter audit
// export) to keep a copy of the head elsewhere.
func (s *Store) VerifyAudit(ctx context.Context) (Verification, error) {
	var v Verification
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return v, fmt.Errorf("beginning the audit verification: %w", dbError(err))
	}
	defer tx.Rollback()
	red, err := readRedactions(ctx, tx)
	if err != nil {
		return v, err
	}
	rows, err := tx.QueryxContext(ctx, `SELECT `+chainColumns+` FROM audit_events e ORDER BY e.seq`)
	if err != nil {
		return v, fmt.Errorf("reading the audit trail: %w", dbError(err))
	}
	defer rows.Close()
	prev := GenesisHash
	for rows.Next() {
		var e Event
		if err := rows.StructScan(&e); err != nil {
			return v, fmt.Errorf("reading audit event %d: %w", v.Events+1, dbError(err))
		}
		want := v.Events + 1
		v.Events++
		broken := func(reason string) (Verification, error) {
			v.Broken = &BrokenEvent{Seq: e.Seq, ID: e.ID, Action: e.Action, Subject: e.Subject, Reason: reason}
			return v, nil
		}
		switch {
		case e.Seq > want:
			v.Broken = &BrokenEvent{Seq: want, Reason: fmt.Sprintf("missing: the chain goes from seq %d to seq %d (an event was removed)", want-1, e.Seq)}
			return v, nil
		case e.Seq < want:
			return broken("seq appears twice")
		case e.PrevHash != prev:
			return broken(fmt.Sprintf("prev_hash %s is not the hash of event seq %d, %s (an event before it was removed or replaced)", short(e.PrevHash), want-1, short(prev)))
		}
		if r, ok := red.newest[e.Seq]; ok {
			if got := AuditHash(e); got != r.Hash {
				return broken(fmt.Sprintf("its fields hash to %s, not to the hash %s its pseudonymisation (event seq %d) certified (the event was altered since)",
					short(got), short(r.Hash), r.BySeq))
			}
			v.Pseudonymised++
		} else if got := AuditHash(e); got != e.Hash {
			return broken(fmt.Sprintf("its fields hash to %s, not to its recorded hash %s (the event was altered)", short(got), short(e.Hash)))
		}
		if e.Action == ActionPersonPseudonymised {
			if reason := red.check(e); reason != "" {
				return broken(reason)
			}
			v.Pseudonymisations++
		}
		prev = e.Hash
	}
	if err := rows.Err(); err != nil {
		return v, fmt.Errorf("reading the audit trail: %w", dbError(err))
	}
	for _, by := range slices.Sorted(maps.Keys(red.runs)) {
		if !red.checked[by] {
			v.Broken = &BrokenEvent{Seq: by, Reason: fmt.Sprintf(
				"audit_redactions rewrites events in the name of event seq %d, which is no pseudonymisation that certified them", by)}
			return v, nil
		}
	}
	var head ChainHead
	err = sqlx.GetContext(ctx, tx, &head, `SELECT seq, hash FROM audit_chain_head`)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		v.Broken = &BrokenEvent{Seq: v.Events, Reason: "the chain's head row is missing"}
	case err != nil:
		return v, fmt.Errorf("reading the audit chain's head: %w", dbError(err))
	case head.Seq != v.Events || head.Hash != prev:
		v.Broken = &BrokenEvent{Seq: v.Events + 1, Reason: fmt.Sprintf(
			"the chain ends at seq %d (hash %s) but its head records seq %d (hash %s): events at the end were removed or the head was moved",
			v.Events, short(prev), head.Seq, short(head.Hash))}
	default:
		v.Head = &head
	}
	return v, nil
}

// redaction is what a pseudonymisation made of an event (audit_redactions):
// the hash of its new fields, certified by the person.pseudonymised event at
// BySeq.
type redaction struct {
	Seq   int64  `db:"seq"`
	BySeq int64  `db:"by_seq"`
	Hash  string `db:"hash"`
}

// redactions are every redaction of the trail, as VerifyAudit checks them.
type redactions struct {
	// newest is each rewritten event's newest redaction, which its fields
	// must give.
	newest map[int64]redaction
	// runs is, for each person.pseudonymised event, how many events it
	// rewrote and the digest of their new hashes, as its payload must
	// certify them; checked says which runs the chain certified.
	runs    map[int64]*redactionRun
	checked map[int64]bool
}

type redactionRun struct {
	count  int64
	digest hash.Hash
}

// readRedactions reads audit_redactions, by run and in chain order within
// each, and computes each run's digest ("<seq>:<hash>\n" per event, SHA-256)
// as 018_pseudonymisation.sql does.
func readRedactions(ctx context.Context, q sqlx.QueryerContext) (redactions, error) {
	red := redactions{newest: map[int64]redaction{}, runs: map[int64]*redactionRun{}, checked: map[int64]bool{}}
	rows, err := q.QueryxContext(ctx, `SELECT seq, by_seq, hash FROM audit_redactions ORDER BY by_seq, seq`)
	if err != nil {
		return red, fmt.Errorf("reading the audit trail's pseudonymisations: %w", dbError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var r redaction
		if err := rows.StructScan(&r); err != nil {
			return red, fmt.Errorf("reading the audit trail's pseudonymisations: %w", dbError(err))
		}
		if n, ok := red.newest[r.Seq]; !ok || r.BySeq > n.BySeq {
			red.newest[r.Seq] = r
		}
		run := red.runs[r.BySeq]
		if run == nil {
			run = &redactionRun{digest: sha256.New()}
			red.runs[r.BySeq] = run
		}
		run.count++
		fmt.Fprintf(run.digest, "%d:%s\n", r.Seq, r.Hash)
	}
	if err := rows.Err(); err != nil {
		return red, fmt.Errorf("reading the audit trail's pseudonymisations: %w", dbError(err))
	}
	return red, nil
}

// check compares a person.pseudonymised event's certificate (its payload's
// audit_events: count and digest) with the redactions recorded in its name,
// and says what differs ("" when nothing does).
func (red redactions) check(e Event) string {
	var p struct {
		AuditEvents *struct {
			Count  int64  `json:"count"`
			Digest string `json:"digest"`
		} `json:"audit_events"`
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil || p.AuditEvents == nil {
		return "a pseudonymisation whose payload certifies no rewritten events (audit_events: count and digest)"
	}
	red.checked[e.Seq] = true
	count, digest := int64(0), sha256.Sum256(nil)
	sum := hex.EncodeToString(digest[:])
	if run := red.runs[e.Seq]; run != nil {
		count, sum = run.count, hex.EncodeToString(run.digest.Sum(nil))
	}
	if count != p.AuditEvents.Count || sum != p.AuditEvents.Digest {
		return fmt.Sprintf("it certifies %d rewritten events with digest %s, but audit_redactions holds %d in its name with digest %s (a pseudonymisation's record was altered)",
			p.AuditEvents.Count, short(p.AuditEvents.Digest), count, short(sum))
	}
	return ""
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12] + "…"
	}
	return hash
}

// AuditFilter selects audit events; zero fields select everything.
type AuditFilter struct {
	// Provider selects the events of the provider's cycles, of its
	// organisation imports and plan imports, of its yearly schedule and of
	// its people's identities (logins, invitations, tokens).
	Provider string
	// Year selects the events of the cycles of that year.
	Year int
	// Actor selects the events a person (or "system") caused.
	Actor string
	// Action selects the events of one action, such as "task.completed".
	Action string
	// Since selects the events at or after that time.
	Since time.Time
	// Until selects the events before that time.
	Until time.Time
	// After selects the events after that place in the chain (seq), and
	// Before those before it: the keys of a page, so that a page is found
	// through the index on seq however far into the trail it is.
	After, Before int64
	// Limit is the most events returned (0: all). With Before set, they are
	// the last events before it; otherwise the first.
	Limit int
}

// auditWhere selects the events of an AuditFilter given as the parameters
// $1 to $8 (auditArgs).
const auditWhere = `
FROM audit_events e LEFT JOIN cycles c ON c.id = e.cycle_id
WHERE ($1 = '' OR c.provider_code = $1
       OR (e.cycle_id IS NULL AND e.subject IN ('provider/' || $1, 'review-cycle-schedule/' || $1))
       OR (e.cycle_id IS NULL AND e.action = 'plan.imported' AND e.payload ->> 'provider' = $1)
       OR (e.cycle_id IS NULL AND e.subject LIKE 'person/%'
           AND EXISTS (SELECT 1 FROM people p WHERE 'person/' || p.id = e.subject AND p.provider_code = $1)))
  AND ($2 = 0 OR c.year = $2)
  AND ($3 = '' OR e.actor = $3)
  AND ($4::timestamptz IS NULL OR e.at >= $4)
  AND ($5 = '' OR e.action = $5)
  AND ($6::timestamptz IS NULL OR e.at < $6)
  AND ($7::bigint = 0 OR e.seq > $7::bigint)
  AND ($8::bigint = 0 OR e.seq < $8::bigint)`

func auditArgs(f AuditFilter) []any {
	var since, until *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
	}
	if !f.Until.IsZero() {
		until = &f.Until
	}
	return []any{f.Provider, f.Year, f.Actor, since, f.Action, until, f.After, f.Before}
}

// AuditLog returns the events the filter selects, in chain order.
func (s *Store) AuditLog(ctx context.Context, f AuditFilter) ([]Event, error) {
	if f.Limit < 0 {
		return nil, errorf(ErrInvalid, "a limit of %d events is not a number of events", f.Limit)
	}
	// A page before a place is read backwards from it, then put in chain
	// order.
	order := "ASC"
	if f.Before != 0 && f.Limit > 0 {
		order = "DESC"
	}
	var limit *int
	if f.Limit > 0 {
		limit = &f.Limit
	}
	q := `SELECT ` + eventColumns + auditWhere + `
ORDER BY e.seq ` + order + `
LIMIT $9`
	events := []Event{}
	if err := sqlx.SelectContext(ctx, s.db, &events, q, append(auditArgs(f), limit)...); err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", dbError(err))
	}
	if order == "DESC" {
		slices.Reverse(events)
	}
	return events, nil
}

// AuditPage is a page of the audit log: its events in chain order, and
// whether the filter selects events before its first and after its last,
// which is where the previous and the next page start.
type AuditPage struct {
	Events  []Event `json:"events"`
	Earlier bool    `json:"earlier"`
	Later   bool    `json:"later"`
}

// AuditPage returns a page of at most f.Limit events the filter selects: the
// first ones after f.After, or the last ones before f.Before (a page back),
// or the first ones of all.
func (s *Store) AuditPage(ctx context.Context, f AuditFilter) (AuditPage, error) {
	if f.Limit <= 0 {
		return AuditPage{}, errorf(ErrInvalid, "a page needs a limit of events, not %d", f.Limit)
	}
	if f.After != 0 && f.Before != 0 {
		return AuditPage{}, errorf(ErrInvalid, "a page starts after an event or ends before one, not both")
	}
	probe := f
	probe.Limit = f.Limit + 1
	events, err := s.AuditLog(ctx, probe)
	if err != nil {
		return AuditPage{}, err
	}
	var p AuditPage
	backwards := f.Before != 0
	if len(events) > f.Limit {
		if backwards {
			events, p.Earlier = events[1:], true
		} else {
			events, p.Later = events[:f.Limit], true
		}
	}
	p.Events = events
	// The other side: is there anything beyond the place the page was
	// asked from?
	other := f
	other.After, other.Before, other.Limit = 0, 0, 1
	switch {
	case backwards && len(events) > 0:
		other.After = events[len(events)-1].Seq
	case backwards:
		other.After = f.Before - 1
	case f.After != 0 && len(events) > 0:
		other.Before = events[0].Seq
	case f.After != 0:
		other.Before = f.After + 1
	default:
		return p, nil
	}
	beyond, err := s.AuditLog(ctx, other)
	if err != nil {
		return AuditPage{}, err
	}
	if backwards {
		p.Later = len(beyond) > 0
	} else {
		p.Earlier = len(beyond) > 0
	}
	return p, nil
}

// RecordScheduleChange records that a person set or deleted a provider's
// yearly schedule (action ActionScheduleSet or ActionScheduleDeleted). The
// schedule itself lives in Temporal, so this is written after Temporal took
// the change, in a transaction of its own.
func (s *Store) RecordScheduleChange(ctx context.Context, actor, action, scheduleID string, payload map[string]any) error {
	if action != ActionScheduleSet && action != ActionScheduleDeleted {
		return errorf(ErrInvalid, "%q is not a schedule action", action)
	}
	// The event is the whole change: one INSERT, which commits by itself, is
	// its transaction (no BEGIN and COMMIT to wait for).
	return record(ctx, s.db, actor, action, scheduleID, "", payload)
}
