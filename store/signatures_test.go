package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/oho-dev/oho/review"
)

// TestSignaturesCannotBeRewritten checks that the database itself keeps a
// signature on the version it signed: no UPDATE, DELETE or TRUNCATE of a
// sign-off, an approval, a signed draft or a published version, whoever asks.
func TestSignaturesCannotBeRewritten(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	c.run(round1Changes, round2Changes)
	h1, h2 := c.drafts[1].Hash(), c.drafts[2].Hash()

	for _, stmt := range []string{
		`UPDATE signoffs SET version_hash = '` + h1 + `' WHERE round = 2 AND unit_code = 'NORTH'`,
		`UPDATE signoffs SET meaning = 'approved for unit SOUTH', unit_code = 'SOUTH' WHERE round = 1`,
		`UPDATE approvals SET version_hash = '` + h1 + `'`,
		`UPDATE approvals SET role = 'manager'`,
		`DELETE FROM signoffs WHERE round = 1`,
		`DELETE FROM approvals`,
		`TRUNCATE signoffs`,
		`UPDATE plan_drafts SET content = '{"sections": []}' WHERE round = 2`,
		`DELETE FROM plan_drafts WHERE round = 1`,
		`UPDATE plan_versions SET effective_from = '2030-01-01'`,
		`DELETE FROM plan_versions`,
	} {
		t.Run(stmt, func(t *testing.T) {
			before := rowCounts(t, db)
			_, err := db.ExecContext(ctx, stmt)
			if err == nil || !strings.Contains(err.Error(), "never changed or removed") {
				t.Errorf("got error %v, want the database to refuse it as a signed record", err)
			}
			if d := diff(before, rowCounts(t, db)); d != "" {
				t.Errorf("the refused statement changed rows: %s", d)
			}
		})
	}
	var got []string
	if err := db.SelectContext(ctx, &got, `SELECT round || ' ' || unit_code || ' ' || version_hash FROM signoffs ORDER BY round, unit_code`); err != nil {
		t.Fatal(err)
	}
	if want := []string{"1 NORTH " + h1, "2 NORTH " + h2, "2 SOUTH " + h2}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got sign-offs %q, want them unchanged %q", got, want)
	}
}

// TestSignatureBoundToTheRoundsDraft inserts signatures past the store, as a
// careless script would: a hash that is not the round's draft, or a meaning
// that is not the decision's sentence, is refused by the database.
func TestSignatureBoundToTheRoundsDraft(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	c.run(round1Changes, round2Changes)
	h1, h2 := c.drafts[1].Hash(), c.drafts[2].Hash()
	southR1 := c.task(review.KindSignOff, 1, "SOUTH").ID // superseded, never signed
	const insertSignOff = `
INSERT INTO signoffs (cycle_id, round, unit_code, signer, role, decision, version_hash, meaning, task_id)
VALUES ($1, 1, 'SOUTH', 'acme.head.south', 'unit_head', 'approve', $2, $3, $4)`
	const insertApproval = `
INSERT INTO approvals (cycle_id, round, approver, role, decision, version_hash, meaning, task_id)
VALUES ($1, 1, 'acme.approver', 'approver', 'return', $2, $3, $4)`
	approveR2 := c.task(review.KindApprove, 2, "").ID

	tests := []struct {
		name  string
		stmt  string
		args  []any
		says  string
		valid bool
	}{
		{"sign-off of the round's draft", insertSignOff, []any{c.id, h1, "approved for unit SOUTH", southR1}, "", true},
		{"sign-off of the next round's draft", insertSignOff, []any{c.id, h2, "approved for unit SOUTH", southR1}, "signoffs_draft_fkey", false},
		{"sign-off of no draft at all", insertSignOff, []any{c.id, strings.Repeat("ab", 32), "approved for unit SOUTH", southR1}, "signoffs_draft_fkey", false},
		{"sign-off with another meaning", insertSignOff, []any{c.id, h1, "approved", southR1}, "signoffs_meaning_check", false},
		{"sign-off meaning another unit", insertSignOff, []any{c.id, h1, "approved for unit NORTH", southR1}, "signoffs_meaning_check", false},
		{"approval of the round's draft", insertApproval, []any{c.id, h1, "returned for the provider", approveR2}, "", true},
		{"approval of another draft", insertApproval, []any{c.id, h2, "returned for the provider", approveR2}, "approvals_draft_fkey", false},
		{"approval with the old meaning", insertApproval, []any{c.id, h1, "returned", approveR2}, "approvals_meaning_check", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := db.BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			_, err = tx.ExecContext(ctx, tt.stmt, tt.args...)
			switch {
			case tt.valid && err != nil:
				t.Errorf("got error %v, want the insert accepted", err)
			case !tt.valid && (err == nil || !strings.Contains(err.Error(), tt.says)):
				t.Errorf("got error %v, want a refusal by %s", err, tt.says)
			}
		})
	}

	// A version can only be published from an approved round: the round 1
	// draft was never approved.
	var planID int64
	if err := db.GetContext(ctx, &planID, `SELECT plan_id FROM plan_versions`); err != nil {
		t.Fatal(err)
	}
	other := newCycle(t, s, db, "ACME", 2026, review.Config{})
	other.open(review.PhaseUpdate, 1, other.task(review.KindDraft, 1, ""))
	other.draft(1, round1Changes)
	_, err := db.ExecContext(ctx, `
INSERT INTO plan_versions (plan_id, version, content, content_hash, effective_from, cycle_id, round, approved_by)
VALUES ($1, 2, '{}', $2, '2026-08-01', $3, 1, 'acme.approver')`, planID, other.drafts[1].Hash(), other.id)
	if err == nil || !strings.Contains(err.Error(), "plan_versions_approval_fkey") {
		t.Errorf("publishing an unapproved draft past the store: got error %v, want a refusal by plan_versions_approval_fkey", err)
	}
}

// TestSignatureRolesAndMeanings checks what each signature records: the
// signer's role and the plain sentence of its meaning, returned drafts
// included.
func TestSignatureRolesAndMeanings(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	c.open(review.PhaseUpdate, 1, c.task(review.KindDraft, 1, ""))
	c.draft(1, round1Changes)
	c.open(review.PhaseSignOff, 1, c.task(review.KindSignOff, 1, "NORTH"), c.task(review.KindSignOff, 1, "SOUTH"))
	c.signOff(1, "NORTH", review.DecisionApprove, "")
	c.signOff(1, "SOUTH", review.DecisionApprove, "")
	c.open(review.PhaseApprove, 1, c.task(review.KindApprove, 1, ""))
	c.complete(c.task(review.KindApprove, 1, ""), `{"decision": "return", "comment": "The board wants the budget named."}`, nil)

	var got []string
	const q = `
SELECT signer || ' | ' || role || ' | ' || meaning || ' | ' || (version_hash = $1) FROM signoffs
UNION ALL
SELECT approver || ' | ' || role || ' | ' || meaning || ' | ' || (version_hash = $1) FROM approvals
ORDER BY 1`
	if err := db.SelectContext(ctx, &got, q, c.drafts[1].Hash()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"acme.approver | approver | returned for the provider | true",
		"acme.head.north | unit_head | approved for unit NORTH | true",
		"acme.head.south | unit_head | approved for unit SOUTH | true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got signatures\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
