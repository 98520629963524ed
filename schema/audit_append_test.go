package schema_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/schema"
	"github.com/oho-dev/oho/store"
)

// hashCases are fields to hash: with and without a cycle, a channel or only
// its reference, multi-byte text, quotes and line breaks, a payload whose
// text form PostgreSQL normalises, microseconds and a large seq.
const hashCases = `
SELECT seq, at, actor, action, subject, cycle_id, workflow_id, run_id, payload::jsonb AS payload, prev_hash, channel, channel_ref
FROM (VALUES
    (1::bigint, '2026-12-01 09:00:00.000001+00'::timestamptz, 'system', 'org.imported', 'provider/ACME', '', '', '', '{"units": 2}', repeat('0', 64), '', ''),
    (2, '2026-12-01 11:30:15.5+02', 'acme.nurse', 'task.completed', 'ACME/2026/evaluate/NORTH', 'review-cycle/ACME/2026',
        'review-cycle/ACME/2026/unit/NORTH', 'run-1', '{"b": [1, 2.50], "a": "Ähtäri – ”lainaus”\n", "c": {}}', repeat('a', 64), 'web', 'session 7'),
    (9007199254740993, '1999-12-31 23:59:59.999999+00', 'x', 'y', '', '', '', '', '{}', repeat('f', 64), '', 'operator'),
    (4, '2026-06-01 00:00:00+03', 'åsa', 'schedule.set', 'yearly-start/ACME', '', '', '', '{"note": "\"quoted\"\\back\tslash"}', repeat('0', 64), 'api', '')
) AS f(seq, at, actor, action, subject, cycle_id, workflow_id, run_id, payload, prev_hash, channel, channel_ref)`

// TestAuditAppendMigrationKeepsTheHash applies 016_audit_append to a
// database whose audit trail was written before it: audit_hash gives the
// same hash for the same fields as the function it replaces did, and as
// store.AuditHash does, and the events written before and after it verify as
// one chain, the later ones appended by oho_app through the store.
func TestAuditAppendMigrationKeepsTheHash(t *testing.T) {
	ctx := context.Background()
	db, databaseURL := dbtest.New(t)
	if _, err := db.ExecContext(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}
	m := migration(t, "audit_append")
	applyUpTo(t, db, m.Version)
	if _, err := db.ExecContext(ctx, `
INSERT INTO audit_events (actor, action, subject, cycle_id, channel, channel_ref, payload) VALUES
    ('system', 'org.imported', 'provider/ACME', NULL, '', '', '{"units": 2}'),
    ('acme.manager', 'cycle.started', 'c1', 'c1', 'web', 'ref', '{"reason": "a \"quoted\"\nline, Ähtäri"}'),
    ('acme.nurse', 'task.completed', 't1', 'c1', 'cli', '', '{"b": 1, "a": [1, 2]}')`); err != nil {
		t.Fatal(err)
	}
	// hashed is a case's fields and the hash audit_hash gave them.
	type hashed struct {
		Hash  string
		Event store.Event
	}
	hashes := func() []hashed {
		t.Helper()
		var rows []struct {
			Seq        int64     `db:"seq"`
			At         time.Time `db:"at"`
			Actor      string    `db:"actor"`
			Action     string    `db:"action"`
			Subject    string    `db:"subject"`
			CycleID    string    `db:"cycle_id"`
			WorkflowID string    `db:"workflow_id"`
			RunID      string    `db:"run_id"`
			Payload    string    `db:"payload"`
			PrevHash   string    `db:"prev_hash"`
			Channel    string    `db:"channel"`
			ChannelRef string    `db:"channel_ref"`
			Hash       string    `db:"hash"`
		}
		q := `SELECT seq, at, actor, action, subject, cycle_id, workflow_id, run_id, payload::text AS payload, prev_hash, channel, channel_ref,
    audit_hash(seq, at, actor, action, subject, cycle_id, workflow_id, run_id, payload, prev_hash, channel, channel_ref) AS hash
FROM (` + hashCases + `) c ORDER BY seq`
		if err := db.SelectContext(ctx, &rows, q); err != nil {
			t.Fatal(err)
		}
		var out []hashed
		for _, r := range rows {
			out = append(out, hashed{Hash: r.Hash, Event: store.Event{Seq: r.Seq, At: r.At, Actor: r.Actor, Action: r.Action,
				Subject: r.Subject, CycleID: r.CycleID, WorkflowID: r.WorkflowID, RunID: r.RunID, Channel: review.Channel(r.Channel),
				ChannelRef: r.ChannelRef, Payload: json.RawMessage(r.Payload), PrevHash: r.PrevHash}})
		}
		return out
	}
	before := hashes()
	if len(before) != 4 {
		t.Fatalf("got %d hashed cases, want 4", len(before))
	}

	applied, err := schema.Migrate(ctx, db.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || applied[0] != "016_audit_append" {
		t.Fatalf("got applied %v, want 016_audit_append first", applied)
	}
	after := hashes()
	for i := range before {
		if after[i].Hash != before[i].Hash {
			t.Errorf("seq %d: audit_hash gives %s after 016, %s before", before[i].Event.Seq, after[i].Hash, before[i].Hash)
		}
		if got := store.AuditHash(after[i].Event); got != after[i].Hash {
			t.Errorf("seq %d: store.AuditHash gives %s, audit_hash %s", before[i].Event.Seq, got, after[i].Hash)
		}
	}

	app := dbtest.Open(t, dbtest.AppURL(t, databaseURL))
	s := store.New(app)
	for i := range 3 {
		if err := s.RecordScheduleChange(ctx, "acme.manager", store.ActionScheduleSet, "yearly-start/ACME", map[string]any{"n": i, "ä": "ö"}); err != nil {
			t.Fatal(err)
		}
	}
	v, err := s.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Broken != nil || v.Events != 6 || v.Head == nil || v.Head.Seq != 6 {
		t.Fatalf("got verification %+v, want 6 events chained across the migration", v)
	}
	var seqs []int64
	if err := db.SelectContext(ctx, &seqs, `SELECT seq FROM audit_events ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs, []int64{1, 2, 3, 4, 5, 6}) {
		t.Errorf("got seqs %v in the order written, want 1 to 6", seqs)
	}
}
