package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/schema"
	"github.com/oho-dev/oho/store"
)

// importedContent is a plan a provider brings: the default sections, two
// with text, and an annex of NORTH.
func importedContent() review.PlanContent {
	c := review.PlanContent{}.Reshape(review.DefaultSections).Apply([]review.Change{
		{Section: "communal", Text: "Two supervisors at every break."},
		{Section: "individual", Text: "The nurse is in on weekdays."},
	})
	c.Annexes = []review.Annex{{Unit: "NORTH", Title: "North campus arrangements", Text: "North's welfare group meets monthly."}}
	return c
}

// TestImportPlan imports a provider's plan as its first version, reads it
// back, and runs the next cycle from it: the cycle's baseline is the imported
// version, an import is refused while the cycle runs, the unit heads'
// sign-offs say what they cover, and the annex change is traced into the
// published version.
func TestImportPlan(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME", "BETA")

	basis, err := s.PlanBasis(ctx, "ACME")
	if err != nil {
		t.Fatal(err)
	}
	if want := []review.Unit{{Code: "NORTH", Name: "North campus"}, {Code: "SOUTH", Name: "South campus"}}; !slices.Equal(basis.Units, want) || basis.Current != nil || basis.Running != "" {
		t.Fatalf("got basis %+v, want the units, no version and no running cycle", basis)
	}
	content := importedContent()
	in := store.PlanImport{Provider: "ACME", Content: content, EffectiveFrom: "2026-08-01", ImportedBy: "acme.manager", Title: "Student welfare plan 2024"}
	got, err := s.ImportPlan(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.Hash != content.Hash() || got.EffectiveFrom != "2026-08-01" || got.Unchanged {
		t.Errorf("got %+v, want version 1 with the content's hash, effective 2026-08-01", got)
	}
	e, payload := event(t, s, "", store.ActionPlanImported, "plan/ACME/v1")
	if e.Actor != "acme.manager" || e.CycleID != "" {
		t.Errorf("got event by %q in cycle %q, want by acme.manager in none", e.Actor, e.CycleID)
	}
	wantPayload := map[string]any{
		"provider": "ACME", "version": 1.0, "hash": content.Hash(), "effective_from": "2026-08-01",
		"sections": []any{"welfare_need", "communal", "individual", "cooperation", "common_practices", "monitoring"},
		"annexes":  []any{"NORTH"}, "empty": []any{"welfare_need", "cooperation", "common_practices", "monitoring"},
		"title": "Student welfare plan 2024",
	}
	if !equalJSON(payload, wantPayload) {
		t.Errorf("got payload %v, want %v", payload, wantPayload)
	}
	for _, tt := range []struct {
		provider string
		want     int
	}{{"ACME", 1}, {"BETA", 0}} {
		log, err := s.AuditLog(ctx, store.AuditFilter{Provider: tt.provider})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range log {
			if e.Action == store.ActionPlanImported {
				n++
			}
		}
		if n != tt.want {
			t.Errorf("the audit log of %s holds %d plan imports, want %d", tt.provider, n, tt.want)
		}
	}

	// The same text again records nothing; other text read against no
	// version, now that there is one, is refused.
	before := rowCounts(t, db)
	again, err := s.ImportPlan(ctx, store.PlanImport{Provider: "ACME", Content: content, EffectiveFrom: "2027-01-01", ImportedBy: "acme.manager"})
	if err != nil || again.Version != 1 || !again.Unchanged || again.EffectiveFrom != "2026-08-01" {
		t.Errorf("importing the same text again: got %+v, %v; want version 1 unchanged, effective as recorded", again, err)
	}
	if d := diff(before, rowCounts(t, db)); d != "" {
		t.Errorf("importing the same text again wrote rows: %s", d)
	}
	other := content.Apply([]review.Change{{Section: "monitoring", Text: "Reviewed each term."}})
	for _, tt := range []struct {
		name string
		in   store.PlanImport
		kind error
		says []string
	}{
		{"read against an older version", store.PlanImport{Provider: "ACME", Content: other, EffectiveFrom: "2026-09-01", ImportedBy: "acme.manager"},
			store.ErrDuplicate, []string{"version 1 of the plan of ACME was published while the import was read against version 0"}},
		{"a bad date", store.PlanImport{Provider: "ACME", Content: other, EffectiveFrom: "1.9.2026", ImportedBy: "acme.manager", Over: 1},
			store.ErrInvalid, []string{"YYYY-MM-DD", "1.9.2026"}},
		{"no importer", store.PlanImport{Provider: "ACME", Content: other, EffectiveFrom: "2026-09-01", Over: 1}, store.ErrInvalid, []string{"importer"}},
		{"an unknown provider", store.PlanImport{Provider: "NOPE", Content: other, EffectiveFrom: "2026-09-01", ImportedBy: "operator"},
			store.ErrNotFound, []string{`provider "NOPE" has not been imported`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			refused(t, db, tt.kind, func() error { _, err := s.ImportPlan(ctx, tt.in); return err }, tt.says...)
		})
	}

	doc, err := s.PlanDocument(ctx, "ACME", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !doc.Imported() || doc.Source != store.SourceImport || doc.ImportedBy != "acme.manager" || doc.ImportedByName != "Quality Manager" ||
		doc.CycleID != "" || doc.Round != 0 || doc.ApprovedBy != "" || doc.Signatures == nil || len(doc.Signatures) != 0 ||
		doc.Hash != content.Hash() || doc.Content.Hash() != content.Hash() || doc.EffectiveFrom != "2026-08-01" {
		t.Errorf("got document %+v, want the imported version by the manager, without cycle or signatures", doc)
	}
	if _, err := s.PlanVersion(ctx, "BETA", 0); err == nil {
		t.Error("BETA got a plan from ACME's import")
	}

	// The next cycle starts from the imported version, annex included.
	c := newCycle(t, s, db, "ACME", 2027, review.Config{})
	if c.setup.BaselineVersion != 1 || c.setup.Baseline.Hash() != content.Hash() || len(c.setup.PreviousChanges) != 0 {
		t.Errorf("got baseline version %d hash %s, previous changes %v; want the imported version 1 (%s) and none",
			c.setup.BaselineVersion, c.setup.Baseline.Hash(), c.setup.PreviousChanges, content.Hash())
	}
	if basis, err := s.PlanBasis(ctx, "ACME"); err != nil || basis.Running != c.id || basis.Current == nil || basis.Current.Version != 1 {
		t.Errorf("got basis %+v, %v; want version 1 and the running cycle %s", basis, err, c.id)
	}
	refused(t, db, store.ErrCycleRunning, func() error {
		_, err := s.ImportPlan(ctx, store.PlanImport{Provider: "ACME", Content: other, EffectiveFrom: "2027-09-01", ImportedBy: "acme.manager", Over: 1})
		return err
	}, "the plan of ACME cannot be imported while cycle review-cycle/ACME/2027 is running")

	annexChange := change{"C3", "annex/NORTH", "North's welfare group meets every two weeks."}
	southAnnex := change{"C4", "annex/SOUTH", "South's nurse is in room 4."}
	pub := c.run(round1Changes, append(slices.Clone(round2Changes), annexChange, southAnnex))
	if pub.Version != 2 {
		t.Errorf("the cycle published version %d, want 2 after the imported 1", pub.Version)
	}
	published, err := s.PlanVersion(ctx, "ACME", 2)
	if err != nil {
		t.Fatal(err)
	}
	wantAnnexes := []review.Annex{
		{Unit: "NORTH", Title: "North campus arrangements", Text: annexChange.text},
		{Unit: "SOUTH", Title: "South campus annex", Text: southAnnex.text},
	}
	if published.Source != store.SourceCycle || published.CycleID != c.id || !slices.Equal(published.Content.Annexes, wantAnnexes) {
		t.Errorf("got version 2 from %s (%s) with annexes %+v, want the cycle's with %+v", published.Source, published.CycleID, published.Content.Annexes, wantAnnexes)
	}

	var meanings []string
	if err := db.SelectContext(ctx, &meanings, `SELECT round || ' ' || meaning FROM signoffs ORDER BY round, unit_code`); err != nil {
		t.Fatal(err)
	}
	wantMeanings := []string{
		"1 changes requested for unit NORTH: the common part and NORTH's annex",
		"2 approved for unit NORTH: the common part and NORTH's annex",
		"2 approved for unit SOUTH: the common part and SOUTH's annex",
	}
	if !slices.Equal(meanings, wantMeanings) {
		t.Errorf("got sign-off meanings %q, want %q", meanings, wantMeanings)
	}

	// Round 1's draft had NORTH's annex only: a sign-off of SOUTH's there
	// means the common part, and the database holds it to that.
	h1 := c.drafts[1].Hash()
	insert := func(meaning string) error {
		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		_, err = tx.ExecContext(ctx, `INSERT INTO signoffs (cycle_id, round, unit_code, signer, role, decision, version_hash, meaning, task_id)
VALUES ($1, 1, 'SOUTH', 'acme.head.south', 'unit_head', 'approve', $2, $3, $4)`, c.id, h1, meaning, c.task(review.KindSignOff, 1, "SOUTH").ID)
		return err
	}
	for _, tt := range []struct{ meaning, says string }{
		{"approved for unit SOUTH", "signoffs_meaning_scope"},
		{"approved for unit SOUTH: the common part and SOUTH's annex", "signoffs_meaning_scope"},
		{"approved for unit SOUTH: all of it", "signoffs_meaning_check"},
		{"approved for unit SOUTH: the common part (SOUTH has no annex)", ""},
	} {
		err := insert(tt.meaning)
		switch {
		case tt.says == "" && err != nil:
			t.Errorf("sign-off meaning %q: got %v, want it accepted", tt.meaning, err)
		case tt.says != "" && (err == nil || !strings.Contains(err.Error(), tt.says)):
			t.Errorf("sign-off meaning %q: got %v, want a refusal by %s", tt.meaning, err, tt.says)
		}
	}

	// The report traces the annex change into the published version.
	tr, err := s.TraceReport(ctx, "ACME", 2027)
	if err != nil {
		t.Fatal(err)
	}
	var traced []string
	for _, ch := range tr.Changes {
		traced = append(traced, fmt.Sprintf("%s %s %v", ch.ID, ch.Section, ch.InPublished))
	}
	if want := []string{"C1 communal true", "C2 individual true", "C3 annex/NORTH true", "C4 annex/SOUTH true"}; !slices.Equal(traced, want) {
		t.Errorf("got traced changes %v, want %v", traced, want)
	}
	changes, err := s.PlanChanges(ctx, "ACME", 1, 2)
	if err != nil || len(changes) != 4 {
		t.Errorf("got changes %+v, %v between the imported and the published version, want the cycle's four", changes, err)
	}

	// After the cycle, a plan can be imported again: it becomes version 3.
	again, err = s.ImportPlan(ctx, store.PlanImport{Provider: "ACME", Content: other, EffectiveFrom: "2028-01-01", ImportedBy: store.ActorOperator, Over: 2})
	if err != nil || again.Version != 3 || again.Unchanged {
		t.Errorf("importing after the cycle: got %+v, %v; want version 3", again, err)
	}
}

// TestPlanVersionSourcesAreHeldByTheDatabase inserts versions past the store,
// as a careless script would: a version is either a cycle's, bound to its
// approval, or an import, naming its importer, never half of each; and an
// imported version is as unchangeable as a published one.
func TestPlanVersionSourcesAreHeldByTheDatabase(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	if _, err := s.ImportPlan(ctx, store.PlanImport{Provider: "ACME", Content: importedContent(), EffectiveFrom: "2026-08-01", ImportedBy: "acme.manager"}); err != nil {
		t.Fatal(err)
	}
	hash := strings.Repeat("c", 64)
	insert := `INSERT INTO plan_versions (plan_id, version, content, content_hash, effective_from, source, imported_by, cycle_id, round, approved_by, approval_decision)
SELECT id, 2, '{}', '` + hash + `', '2026-09-01', `
	for _, tt := range []struct{ name, stmt, says string }{
		{"an import with a cycle", insert + `'import', 'acme.manager', NULL, 1, NULL, NULL FROM plans`, "plan_versions_source_check"},
		{"an import without its importer", insert + `'import', '', NULL, NULL, NULL, NULL FROM plans`, "plan_versions_source_check"},
		{"an import that claims an approver", insert + `'import', 'acme.manager', NULL, NULL, 'acme.approver', NULL FROM plans`, "plan_versions_source_check"},
		{"a cycle's version without a cycle", insert + `'cycle', NULL, NULL, NULL, 'acme.approver', 'approve' FROM plans`, "plan_versions_source_check"},
		{"a cycle's version that names an importer", insert + `'cycle', 'acme.manager', NULL, 1, 'acme.approver', 'approve' FROM plans`, "plan_versions_source_check"},
		{"another source", insert + `'upload', 'acme.manager', NULL, NULL, NULL, NULL FROM plans`, "plan_versions_source_check"},
		{"a cycle's version without its approval", `INSERT INTO plan_versions (plan_id, version, content, content_hash, effective_from, cycle_id, round, approved_by)
SELECT id, 2, '{}', '` + hash + `', '2026-09-01', 'no-cycle', 1, 'acme.approver' FROM plans`, "plan_versions"},
		{"an edit of the imported version", `UPDATE plan_versions SET imported_by = 'acme.auditor'`, "never changed or removed"},
		{"removing the imported version", `DELETE FROM plan_versions`, "never changed or removed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := rowCounts(t, db)
			_, err := db.ExecContext(ctx, tt.stmt)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("got error %v, want a refusal naming %s", err, tt.says)
			}
			if d := diff(before, rowCounts(t, db)); d != "" {
				t.Errorf("the refused statement changed rows: %s", d)
			}
		})
	}
}

// TestPlanImportMigrationOverExistingData applies 009_plan_import to a
// database with a published plan and its sign-offs, as a deployed one has:
// the version reads as before, now from a cycle; the audit chain still
// verifies; and a plan imported afterwards becomes the next version, from
// which the next cycle starts.
func TestPlanImportMigrationOverExistingData(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t)
	if _, err := db.ExecContext(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public;
CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m schema.Migration) bool { return m.Name == "plan_import" })
	if i < 0 || ms[i].Version != 9 {
		t.Fatalf("got migrations %v, want 009_plan_import among them", ms)
	}
	// Every migration but 009: the ones after it change tables 009 does not
	// touch, and the store writes the published plan with today's code,
	// which needs them.
	for _, m := range slices.Delete(slices.Clone(ms), i, i+1) {
		if _, err := db.ExecContext(ctx, m.SQL); err != nil {
			t.Fatalf("applying %03d_%s: %v", m.Version, m.Name, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	s := store.New(db)
	if _, err := s.ImportOrg(ctx, store.ActorOperator, dbtest.Org("ACME")); err != nil {
		t.Fatal(err)
	}
	pub := newCycle(t, s, db, "ACME", 2025, review.Config{}).run(round1Changes, round2Changes)
	type row struct {
		Version    int    `db:"version"`
		Hash       string `db:"content_hash"`
		CycleID    string `db:"cycle_id"`
		Round      int    `db:"round"`
		ApprovedBy string `db:"approved_by"`
	}
	var before []row
	const qRows = `SELECT version, content_hash, cycle_id, round, approved_by FROM plan_versions ORDER BY version`
	if err := db.SelectContext(ctx, &before, qRows); err != nil {
		t.Fatal(err)
	}
	var meaningsBefore []string
	if err := db.SelectContext(ctx, &meaningsBefore, `SELECT meaning FROM signoffs ORDER BY round, unit_code`); err != nil {
		t.Fatal(err)
	}
	eventsBefore, err := s.Events(ctx, "")
	if err != nil {
		t.Fatal(err)
	}

	applied, err := schema.Migrate(ctx, db.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || applied[0] != "009_plan_import" {
		t.Fatalf("got applied %v, want 009_plan_import first", applied)
	}

	v, err := s.VerifyAudit(ctx)
	if err != nil || v.Broken != nil || v.Events != int64(len(eventsBefore)) {
		t.Fatalf("after the migration: %+v, %v; want the %d events chained as before", v, err, len(eventsBefore))
	}
	doc, err := s.PlanDocument(ctx, "ACME", pub.Version)
	if err != nil {
		t.Fatal(err)
	}
	b := before[0]
	if len(before) != 1 || doc.Source != store.SourceCycle || doc.Imported() || doc.Version != b.Version || doc.Hash != b.Hash ||
		doc.CycleID != b.CycleID || doc.Round != b.Round || doc.ApprovedBy != b.ApprovedBy || len(doc.Signatures) != 3 {
		t.Errorf("got version %+v after the migration, want %+v from a cycle with its three signatures", doc.PlanVersion, before)
	}
	var meaningsAfter []string
	if err := db.SelectContext(ctx, &meaningsAfter, `SELECT meaning FROM signoffs ORDER BY round, unit_code`); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(meaningsAfter, meaningsBefore) {
		t.Errorf("got sign-off meanings %q after the migration, want them as they were: %q", meaningsAfter, meaningsBefore)
	}

	imp, err := s.ImportPlan(ctx, store.PlanImport{Provider: "ACME", Content: importedContent(), EffectiveFrom: "2026-01-01", ImportedBy: "acme.manager", Over: pub.Version})
	if err != nil || imp.Version != pub.Version+1 {
		t.Fatalf("importing after the migration: got %+v, %v; want version %d", imp, err, pub.Version+1)
	}
	next := newCycle(t, s, db, "ACME", 2026, review.Config{})
	if next.setup.BaselineVersion != imp.Version || next.setup.Baseline.Hash() != imp.Hash {
		t.Errorf("the next cycle starts from version %d (%s), want the imported %d (%s)", next.setup.BaselineVersion, next.setup.Baseline.Hash(), imp.Version, imp.Hash)
	}
	if got := next.setup.PreviousChanges; !slices.Equal(got, []string{"C1", "C2"}) {
		t.Errorf("got previous changes %v, want the 2025 cycle's C1 and C2, still rated after an import", got)
	}
	if v, err := s.VerifyAudit(ctx); err != nil || v.Broken != nil {
		t.Errorf("after the import and the next cycle: %+v, %v", v, err)
	}
}
