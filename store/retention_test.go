package store_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// wordPattern is PostgreSQL's pattern for s standing as a whole word, as
// pseudonymise_text defines one.
func wordPattern(s string) string {
	return `(?<![[:alnum:]._@+-])` + regexp.QuoteMeta(s) + `(?![[:alnum:]_@+-])(?!\.[[:alnum:]])`
}

// tracesOf counts, table by table, the rows of the schema that hold any of
// the words, read as whole rows' text.
func tracesOf(t *testing.T, db *sqlx.DB, words ...string) map[string]int {
	t.Helper()
	var tables []string
	if err := db.Select(&tables, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	found := map[string]int{}
	for _, table := range tables {
		for _, w := range words {
			var n int
			q := fmt.Sprintf(`SELECT count(*) FROM %q r WHERE r::text ~* $1`, table)
			if err := db.Get(&n, q, wordPattern(w)); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if n > 0 {
				found[table+" ("+w+")"] += n
			}
		}
	}
	return found
}

// TestPseudonymise runs a whole cycle, disables the nurse and the head of
// NORTH who took part in it and a look-alike of the nurse, and pseudonymises
// them one by one: afterwards no row of any table names them (ID, address
// or name), the look-alike's own ID survives the nurse's turn, the records
// they made are still there under their pseudonyms, and the audit chain
// verifies, an import event rewritten once for each of the three. Then
// edits made around the database's refusals are found: a rewritten event
// changed again, and a redaction nobody certified.
func TestPseudonymise(t *testing.T) {
	ctx := context.Background()
	const nurse, head, manager = "acme.nurse.north", "acme.head.north", "acme.manager"
	lookalike := store.OrgPerson{ID: "acme.nurse.north-2", Name: "Nurse of NORTH", Email: "two@acme.example",
		Roles: []store.PersonRole{{Role: review.RoleWelfareStaff, Unit: "SOUTH"}}}
	// Names of their own: "Nora Northcote" is also BETA's nurse's name,
	// which no pseudonymisation of ACME's may touch.
	s, db := imported(t, "BETA")
	org := dbtest.Org("ACME")
	for i, p := range org.People {
		switch p.ID {
		case nurse:
			org.People[i].Name = "Nora Northcote"
		case head:
			org.People[i].Name = "Heikki Hovi"
		}
	}
	org.People = append(org.People, lookalike)
	if _, err := s.ImportOrg(ctx, store.ActorOperator, org); err != nil {
		t.Fatal(err)
	}
	c := newCycle(t, s, db, "ACME", 2025, review.Config{}.WithDefaults())
	c.run(round1Changes, round2Changes)
	if _, err := s.Invite(ctx, manager, nurse, "oho_link_SECRET", strings.Repeat("1", 64), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateToken(ctx, store.Token{ID: "tok_0123456789", Person: nurse, Name: "reports of acme.nurse.north", Scope: "read",
		ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}, strings.Repeat("2", 64)); err != nil {
		t.Fatal(err)
	}

	// Nobody who has not left is pseudonymised; nor anyone unknown.
	if _, err := s.Pseudonymise(ctx, manager, nurse); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "has not left") {
		t.Fatalf("pseudonymising an active person: got %v, want ErrInvalid saying they have not left", err)
	}
	if _, err := s.Pseudonymise(ctx, manager, "acme.nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pseudonymising nobody: got %v, want ErrNotFound", err)
	}
	for _, p := range []string{nurse, head, lookalike.ID} {
		if err := s.Disable(ctx, manager, p, "Left "+p+"'s post in June."); err != nil {
			t.Fatal(err)
		}
	}
	left, err := s.LeftBefore(ctx, "ACME", time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 3 || left[0].ID != head || left[1].ID != nurse || left[1].OpenTask != "" {
		t.Fatalf("people who left: got %+v, want the head, the nurse and the look-alike", left)
	}
	if left, err := s.LeftBefore(ctx, "ACME", time.Now().Add(-time.Hour)); err != nil || len(left) != 0 {
		t.Fatalf("people who left an hour ago: got %+v, %v; want none", left, err)
	}

	before := tracesOf(t, db, nurse, dbtest.Email(nurse), "Nora Northcote")
	for _, want := range []string{"audit_events", "tasks", "people", "accounts", "api_tokens", "person_roles", "notifications"} {
		if !hasTable(before, want) {
			t.Errorf("before: no trace of the nurse in %s (%v): the test would prove nothing there", want, before)
		}
	}

	if before := tracesOf(t, db, head); !hasTable(before, "signoffs") {
		t.Errorf("before: no trace of the head in signoffs (%v)", before)
	}
	if beta := tracesOf(t, db, "Nurse of NORTH"); !hasTable(beta, "people") {
		t.Fatalf("BETA's nurse has another name: %v", beta)
	}

	p, err := s.Pseudonymise(ctx, manager, nurse)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Pseudonym, "former-") || p.AuditEvents == 0 || p.Seq == 0 {
		t.Fatalf("got %+v, want a former- pseudonym, rewritten audit events and the event's seq", p)
	}
	if after := tracesOf(t, db, nurse, dbtest.Email(nurse), "Nora Northcote"); len(after) != 0 {
		t.Errorf("after pseudonymising the nurse, still found them in %v", after)
	}
	if after := tracesOf(t, db, lookalike.ID); !hasTable(after, "audit_events") || !hasTable(after, "people") {
		t.Errorf("the look-alike %s vanished with the nurse: %v", lookalike.ID, after)
	}
	v := verified(t, s, -1)
	if v.Pseudonymised != p.AuditEvents || v.Pseudonymisations != 1 {
		t.Errorf("verified %+v, want %d events pseudonymised by 1 run", v, p.AuditEvents)
	}

	// What they did is still there, under the pseudonym.
	d, err := s.PersonData(ctx, p.Pseudonym)
	if err != nil {
		t.Fatal(err)
	}
	if d.Person.Status != "pseudonymised" || d.Person.Name != "" || d.Person.Email != "" || len(d.Roles) != 0 || len(d.Tokens) != 0 ||
		len(d.Records.Findings) == 0 || len(d.Audit.Events) == 0 {
		t.Errorf("the pseudonym's data: got %+v, want pseudonymised, no name, address, role or token, and the findings and events", d.Person)
	}
	if _, err := s.PersonData(ctx, nurse); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the nurse's data after: got %v, want ErrNotFound", err)
	}
	if _, err := s.Pseudonymise(ctx, manager, p.Pseudonym); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("pseudonymising a pseudonym: got %v, want ErrInvalid", err)
	}
	// The organisation file that still lists her does not bring her back.
	if _, err := s.ImportOrg(ctx, store.ActorOperator, org); !errors.Is(err, store.ErrInvalid) ||
		!strings.Contains(err.Error(), "left and were pseudonymised, so they are not added again: "+nurse+";") {
		t.Errorf("importing the file that lists the nurse: got %v, want ErrInvalid naming her", err)
	}
	if after := tracesOf(t, db, nurse); len(after) != 0 {
		t.Errorf("the refused import left traces of the nurse: %v", after)
	}

	// The head signed; the look-alike shares the import event with both.
	for _, who := range []string{head, lookalike.ID} {
		if _, err := s.Pseudonymise(ctx, manager, who); err != nil {
			t.Fatal(err)
		}
	}
	if after := tracesOf(t, db, nurse, head, lookalike.ID, dbtest.Email(head), "Heikki Hovi", lookalike.Email); len(after) != 0 {
		t.Errorf("after pseudonymising all three, still found them in %v", after)
	}
	if beta := tracesOf(t, db, "Nurse of NORTH"); !hasTable(beta, "people") {
		t.Errorf("BETA's nurse lost her name, which ACME's nurse had too: %v", beta)
	}
	var twice int
	if err := db.Get(&twice, `SELECT count(*) FROM (SELECT seq FROM audit_redactions GROUP BY seq HAVING count(*) = 3) x`); err != nil {
		t.Fatal(err)
	}
	if twice == 0 {
		t.Error("no event was rewritten for each of the three, though the import named them all")
	}
	if v := verified(t, s, -1); v.Pseudonymisations != 3 {
		t.Errorf("verified %+v, want 3 pseudonymisations", v)
	}

	// Edits around the refusals: a rewritten event changed again, and a
	// redaction that no pseudonymisation certified.
	var seq int64
	var actor string
	if err := db.Get(&seq, `SELECT min(seq) FROM audit_redactions`); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&actor, `SELECT actor FROM audit_events WHERE seq = $1`, seq); err != nil {
		t.Fatal(err)
	}
	privileged(t, db, fmt.Sprintf(`UPDATE audit_events SET actor = 'acme.nurse.north' WHERE seq = %d`, seq))
	if v, err := s.VerifyAudit(ctx); err != nil || v.Broken == nil || v.Broken.Seq != seq || !strings.Contains(v.Broken.Reason, "certified") {
		t.Errorf("after putting a name back into event %d: got %+v, %v; want a break there", seq, v.Broken, err)
	}
	privileged(t, db, fmt.Sprintf(`UPDATE audit_events SET actor = '%s' WHERE seq = %d`, actor, seq))
	verified(t, s, -1)

	for _, p := range []string{"acme.head.south", "acme.nurse.south"} {
		if err := s.Disable(ctx, manager, p, "Left."); err != nil {
			t.Fatal(err)
		}
	}
	events, err := s.Events(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	// Two disablings: the first "rewritten" in the name of the second.
	last, target := events[len(events)-1], events[len(events)-2]
	if _, err := db.Exec(`INSERT INTO audit_redactions (seq, by_seq, hash) VALUES ($1, $2, $3)`, target.Seq, last.Seq, store.AuditHash(target)); err != nil {
		t.Fatal(err)
	}
	if v, err := s.VerifyAudit(ctx); err != nil || v.Broken == nil || v.Broken.Seq != last.Seq || !strings.Contains(v.Broken.Reason, "no pseudonymisation that certified them") {
		t.Errorf("after a redaction in the name of event %d: got %+v, %v; want a break naming it", last.Seq, v.Broken, err)
	}
}

// TestPseudonymiseWaitsForOpenTasks holds back a person who left while a
// task is still assigned to them, naming it, and then, once it is
// reassigned, while the cycle in whose pools they still hold a role runs;
// once the cycle has ended they are pseudonymised.
func TestPseudonymiseWaitsForOpenTasks(t *testing.T) {
	ctx := context.Background()
	const nurse = "acme.nurse.north"
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{}.WithDefaults())
	north := c.task(review.KindEvaluate, 0, "NORTH")
	c.open(review.PhaseEvaluate, 0, north)
	c.taskOp(review.TaskOpInput{Task: north, Op: review.OpReassign, Seq: 1, Actor: "acme.manager", Assignee: nurse,
		Reason: "Yours.", DueAt: north.DueAt})
	if err := s.Disable(ctx, "acme.manager", nurse, "Left."); err != nil {
		t.Fatal(err)
	}
	held := func(want string) {
		t.Helper()
		left, err := s.LeftBefore(ctx, "", time.Now().Add(time.Minute))
		if err != nil || len(left) != 1 || !strings.Contains(left[0].HeldBack(), want) {
			t.Fatalf("got %+v, %v; want the nurse held back by %s", left, err, want)
		}
		_, err = s.Pseudonymise(ctx, "acme.manager", nurse)
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want ErrInvalid naming %s", err, want)
		}
	}
	held("open task " + north.ID)
	c.taskOp(review.TaskOpInput{Task: north, Op: review.OpReassign, Seq: 2, Actor: "acme.manager", Assignee: "acme.manager",
		Reason: "She has left.", DueAt: north.DueAt})
	held("cycle " + c.id + " runs")

	if err := s.CancelCycle(ctx, review.CancelCycleInput{CycleID: c.id, Actor: "acme.manager", Reason: "Started by mistake."}); err != nil {
		t.Fatal(err)
	}
	if left, err := s.LeftBefore(ctx, "", time.Now().Add(time.Minute)); err != nil || len(left) != 1 || left[0].HeldBack() != "" {
		t.Fatalf("after the cycle: got %+v, %v; want the nurse, free to go", left, err)
	}
	if _, err := s.Pseudonymise(ctx, "acme.manager", nurse); err != nil {
		t.Fatal(err)
	}
	verified(t, s, -1)
}

func hasTable(found map[string]int, table string) bool {
	for k := range found {
		if strings.HasPrefix(k, table+" (") {
			return true
		}
	}
	return false
}

// TestPseudonymisationsOneAtATime pseudonymises the nurse while the head's
// pseudonymisation, in another transaction, has rewritten the import event
// that names them both and not yet committed: the nurse's waits for it, and
// then starts from the head's text, so neither name is put back.
func TestPseudonymisationsOneAtATime(t *testing.T) {
	ctx := context.Background()
	const nurse, head = "acme.nurse.north", "acme.head.north"
	s, db := imported(t, "ACME")
	for _, p := range []string{nurse, head} {
		if err := s.Disable(ctx, "acme.manager", p, "Left."); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SELECT pseudonymise_person($1, 'former-00000000000000aa', 'operator', 'cli', 'test')`, head); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Pseudonymise(ctx, "acme.manager", nurse)
		done <- err
	}()
	// The nurse's pseudonymisation waits for the head's.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var waiting int
		if err := db.Get(&waiting, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%pseudonymise_person%' AND pid <> pg_backend_pid()`); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the nurse's pseudonymisation ended (%v) while the head's was open", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the nurse's pseudonymisation never waited for the head's")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if found := tracesOf(t, db, nurse, head); len(found) != 0 {
		t.Errorf("after both, still found them in %v", found)
	}
	verified(t, s, -1)
}
