package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// itemLines lists every finding and feedback item of the cycle in the
// database with the disposition of the round that stands, as
// "UNIT/ID kind decision change reason".
func itemLines(t *testing.T, c *cycle, round int) []string {
	t.Helper()
	var lines []string
	const q = `
SELECT i.ref || ' ' || i.kind || ' ' || COALESCE(d.decision, '-') || ' ' || COALESCE(d.change_id, '') || ' ' || COALESCE(d.reason, '')
FROM (SELECT unit_code || '/' || item_id AS ref, 'finding' AS kind FROM findings WHERE cycle_id = $1
      UNION ALL
      SELECT unit_code || '/' || item_id, 'feedback' FROM feedback_items WHERE cycle_id = $1) i
LEFT JOIN dispositions d ON d.cycle_id = $1 AND d.round = $2 AND d.item_ref = i.ref
ORDER BY 1`
	if err := c.db.SelectContext(context.Background(), &lines, q, c.id, round); err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines) // in Go's order, not the database's collation
	return lines
}

// traceLines lists the report's items as itemLines does.
func traceLines(tr store.Trace) []string {
	var lines []string
	for _, u := range tr.Units {
		for _, it := range append(slices.Clone(u.Findings), u.Feedback...) {
			decision, change, reason := "-", "", ""
			if d := it.Disposition; d != nil {
				decision, change, reason = d.Decision, d.ChangeID, d.Reason
			}
			lines = append(lines, strings.Join([]string{it.Ref, it.Kind, decision, change, reason}, " "))
		}
	}
	slices.Sort(lines)
	return lines
}

func TestTraceReportOfAPublishedCycle(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	pub := c.run(round1Changes, round2Changes)

	tr, err := s.TraceReport(ctx, "ACME", 2025)
	if err != nil {
		t.Fatal(err)
	}
	if tr.ProviderName != "Provider ACME" || tr.Cycle.ID != c.id || tr.Cycle.Status != review.CycleCompleted || tr.FinalRound != 2 {
		t.Errorf("got provider %q, cycle %s %s, final round %d; want Provider ACME, %s completed, round 2", tr.ProviderName, tr.Cycle.ID, tr.Cycle.Status, tr.FinalRound, c.id)
	}
	if p := tr.Published; p == nil || p.Number != pub.Version || p.Hash != pub.Hash || p.Round != 2 || p.EffectiveFrom != "2025-08-01" || p.ApprovedBy != "acme.approver" || p.ApprovedByName != "Director" {
		t.Errorf("got published %+v, want version %d, hash %s, round 2, effective 2025-08-01", tr.Published, pub.Version, pub.Hash)
	}

	// Every finding and feedback item in the database, with its disposition.
	if got, want := traceLines(tr), itemLines(t, c, 2); !slices.Equal(got, want) || len(want) != 6 {
		t.Errorf("got items\n%s\nwant (from the database, 6 of them)\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The chain of an addressed item: disposition → change → published version.
	north := tr.Units[0]
	if north.Code != "NORTH" || north.Name != "North campus" || len(north.Findings) != 2 || len(north.Feedback) != 1 {
		t.Fatalf("got first unit %+v, want NORTH with 2 findings and 1 feedback item", north)
	}
	f1 := north.Findings[0]
	if d := f1.Disposition; f1.Ref != "NORTH/F1" || f1.Severity != "major" || d == nil || d.Decision != "addressed" || d.Round != 2 ||
		d.Change == nil || d.Change.ID != "C1" || d.Change.Text != round2Changes[0].text || !d.Change.InPublished {
		t.Errorf("got NORTH/F1 %+v with disposition %+v, want addressed by the round 2 C1, in the published version", f1, f1.Disposition)
	}
	if f2 := north.Findings[1]; f2.Disposition != nil || f2.Severity != "minor" {
		t.Errorf("got NORTH/F2 %+v, want a minor finding without a disposition", f2)
	}
	for _, ch := range tr.Changes {
		if !ch.InPublished || ch.Round != 2 {
			t.Errorf("got change %+v, want it in the published version", ch)
		}
	}
	if len(tr.Changes) != 2 {
		t.Errorf("got %d changes, want the 2 of round 2", len(tr.Changes))
	}
	if len(tr.Deferrals) != 1 || tr.Deferrals[0].Ref != "NORTH/S1" || !strings.Contains(tr.Deferrals[0].Disposition.Reason, "intranet") {
		t.Errorf("got deferrals %+v, want NORTH/S1 with its reason", tr.Deferrals)
	}

	// Evidence per unit.
	wantIndicators := []store.TraceIndicator{
		{Name: "Wellbeing survey: feels safe at school", Value: ptr(78.5), Target: 85, Unit: "%", Better: "higher", Met: false},
		{Name: "Students absent over 10% of lessons", Value: ptr(12.0), Target: 8, Unit: "%", Better: "lower", Met: false},
	}
	if !equalJSON(north.Indicators, wantIndicators) {
		t.Errorf("got NORTH indicators %+v, want %+v", north.Indicators, wantIndicators)
	}
	if c := north.Consultation; c == nil || *c != (store.TraceConsultation{Method: "council", Participants: 14, HeldOn: "2025-03-12"}) {
		t.Errorf("got NORTH consultation %+v, want a council of 14 on 2025-03-12", north.Consultation)
	}
	if south := tr.Units[1]; south.Code != "SOUTH" || south.Consultation == nil || south.Consultation.Participants != 212 || len(south.Feedback) != 2 {
		t.Errorf("got SOUTH %+v, want a survey of 212 with 2 feedback items", south)
	}

	// Every round's signatures, the sent-back round included.
	if len(tr.Rounds) != 2 {
		t.Fatalf("got %d rounds, want 2", len(tr.Rounds))
	}
	r1, r2 := tr.Rounds[0], tr.Rounds[1]
	if r1.DraftHash != c.drafts[1].Hash() || r1.DraftedBy != "acme.editor" || r1.DraftedByName != "Plan Editor" || r1.Approval != nil || len(r1.SignOffs) != 1 {
		t.Errorf("got round 1 %+v, want the round 1 draft with one sign-off and no approval", r1)
	}
	if so := r1.SignOffs[0]; so.Signer != "acme.head.north" || so.SignerName != "Head of NORTH" || so.Role != "unit_head" ||
		so.Meaning != "changes requested for unit NORTH" || so.Hash != c.drafts[1].Hash() || so.Comment == "" || so.SignedAt.IsZero() {
		t.Errorf("got round 1 sign-off %+v, want changes requested for unit NORTH by the head on the round 1 hash", so)
	}
	if fmt.Sprint(r1.Unsigned) != "[{1 signoff SOUTH superseded}]" {
		t.Errorf("got round 1 unsigned %v, want SOUTH's superseded sign-off", r1.Unsigned)
	}
	var meanings []string
	for _, so := range r2.SignOffs {
		meanings = append(meanings, so.Meaning)
		if so.Hash != pub.Hash {
			t.Errorf("got round 2 sign-off %+v, want it on the published hash", so)
		}
	}
	if fmt.Sprint(meanings) != "[approved for unit NORTH approved for unit SOUTH]" || len(r2.Unsigned) != 0 {
		t.Errorf("got round 2 meanings %v and unsigned %v, want both units approving and none unsigned", meanings, r2.Unsigned)
	}
	if a := r2.Approval; a == nil || a.Signer != "acme.approver" || a.Role != "approver" || a.Meaning != "approved for the provider" ||
		a.Hash != pub.Hash || a.EffectiveFrom != "2025-08-01" {
		t.Errorf("got round 2 approval %+v, want approved for the provider by acme.approver on the published hash", r2.Approval)
	}
}

// TestTraceReportOfARunningCycle reads the report of a second year while it
// runs: last year's changes rated, a draft not yet published.
func TestTraceReportOfARunningCycle(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	newCycle(t, s, db, "ACME", 2024, review.Config{}).run(round1Changes, round2Changes)
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	eval := c.task(review.KindEvaluate, 0, "NORTH")
	c.open(review.PhaseEvaluate, 0, eval, c.task(review.KindEvaluate, 0, "SOUTH"))
	c.complete(eval, `{"indicators": [{"name": "Feels safe", "value": 86, "target": 85, "unit": "%"}],
  "findings": [{"id": "F7", "section": "communal", "severity": "major", "text": "The procedure works on North campus only."}],
  "effectiveness": [{"change_id": "C1", "rating": "partly", "note": "North only."},
                    {"change_id": "C2", "rating": "effective", "note": ""}]}`, nil)

	tr, err := s.TraceReport(ctx, "ACME", 2025)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Cycle.Status != review.CycleRunning || tr.Published != nil || tr.FinalRound != 0 || len(tr.Rounds) != 0 {
		t.Errorf("got cycle %s, published %v, final round %d, %d rounds; want running, none, 0, 0", tr.Cycle.Status, tr.Published, tr.FinalRound, len(tr.Rounds))
	}
	if tr.PreviousCycle != review.CycleID("ACME", 2024) {
		t.Errorf("got previous cycle %q, want 2024's", tr.PreviousCycle)
	}
	want := []store.TraceRating{
		{ChangeID: "C1", ChangeSection: "communal", ChangeText: round2Changes[0].text, Rating: "partly", Note: "North only."},
		{ChangeID: "C2", ChangeSection: "individual", ChangeText: round2Changes[1].text, Rating: "effective"},
	}
	if got := tr.Units[0].Effectiveness; !equalJSON(got, want) {
		t.Errorf("got NORTH ratings %+v, want %+v", got, want)
	}
	if ind := tr.Units[0].Indicators; len(ind) != 1 || !ind[0].Met || ind[0].Better != "higher" {
		t.Errorf("got NORTH indicators %+v, want one met (86 against a minimum of 85)", ind)
	}
	if f := tr.Units[0].Findings; len(f) != 1 || f[0].Ref != "NORTH/F7" || f[0].Disposition != nil {
		t.Errorf("got NORTH findings %+v, want F7 without a disposition yet", f)
	}

	// Drafted but not published: the changes are not in any version.
	c.open(review.PhaseUpdate, 1, c.task(review.KindDraft, 1, ""))
	c.draft(1, round1Changes)
	if tr, err = s.TraceReport(ctx, "ACME", 2025); err != nil {
		t.Fatal(err)
	}
	if tr.FinalRound != 1 || len(tr.Changes) != 1 || tr.Changes[0].InPublished || len(tr.Rounds) != 1 || len(tr.Rounds[0].SignOffs) != 0 {
		t.Errorf("got final round %d, changes %+v, rounds %+v; want round 1 with C1 not published and no signature", tr.FinalRound, tr.Changes, tr.Rounds)
	}
}

func TestTraceReportRefusals(t *testing.T) {
	ctx := context.Background()
	s, _ := imported(t, "ACME")
	_, err := s.TraceReport(ctx, "NOPE", 2025)
	wantKind(t, err, store.ErrNotFound, `provider "NOPE" has not been imported`)
	_, err = s.TraceReport(ctx, "ACME", 2031)
	wantKind(t, err, store.ErrNotFound, "provider ACME has no cycle for 2031")
}

func TestIndicatorDirectionIsChecked(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	task := c.task(review.KindEvaluate, 0, "NORTH")
	c.open(review.PhaseEvaluate, 0, task)
	err := s.CompleteTask(ctx, review.CompleteTaskInput{Task: task, Actor: "acme.nurse.north", Outcome: []byte(
		`{"indicators": [{"name": "Absences", "value": 6, "target": 8, "unit": "%", "better": "down"}]}`)})
	wantKind(t, err, store.ErrInvalid, "indicators[0].better must be one of higher, lower")
}
