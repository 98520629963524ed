package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

func TestPlanDocumentAndChanges(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	pub1 := newCycle(t, s, db, "ACME", 2024, review.Config{}).run(round1Changes, round2Changes)
	pub2 := newCycle(t, s, db, "ACME", 2025, review.Config{}).run(round1Changes, []change{{"C7", "monitoring", "Indicators are reviewed every term."}})

	doc, err := s.PlanDocument(ctx, "ACME", 0)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Version != pub2.Version || doc.Hash != pub2.Hash || doc.Content.Hash() != doc.Hash || doc.ProviderName != "Provider ACME" {
		t.Fatalf("got the latest document version %d hash %s (content hashes to %s), provider %q; want version %d hash %s",
			doc.Version, doc.Hash, doc.Content.Hash(), doc.ProviderName, pub2.Version, pub2.Hash)
	}
	var got []string
	for _, sig := range doc.Signatures {
		if sig.Hash != doc.Hash {
			t.Errorf("signature %+v is not of the published hash", sig)
		}
		got = append(got, fmt.Sprintf("%s %s %s %s", sig.Kind, sig.Signer, sig.Role, sig.Meaning))
	}
	want := fmt.Sprint([]string{
		"signoff acme.head.north unit_head approved for unit NORTH",
		"signoff acme.head.south unit_head approved for unit SOUTH",
		"approve acme.approver approver approved for the provider",
	})
	if fmt.Sprint(got) != want {
		t.Errorf("got signatures %v, want %s (round 2's only: round 1 was sent back)", got, want)
	}
	if first, err := s.PlanDocument(ctx, "ACME", pub1.Version); err != nil || first.Hash != pub1.Hash {
		t.Errorf("version %d: got %s, %v; want hash %s", pub1.Version, first.Hash, err, pub1.Hash)
	}
	if _, err := s.PlanDocument(ctx, "ACME", 9); err == nil {
		t.Error("got a document for version 9")
	}

	changes, err := s.PlanChanges(ctx, "ACME", pub1.Version, pub2.Version)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].ChangeID != "C7" || changes[0].Version != pub2.Version {
		t.Errorf("got changes %+v between versions %d and %d, want the second cycle's C7", changes, pub1.Version, pub2.Version)
	}
	all, err := s.PlanChanges(ctx, "ACME", 0, pub2.Version)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(round2Changes)+1 {
		t.Errorf("got %d changes since the start, want %d", len(all), len(round2Changes)+1)
	}
}

func TestPlanDocumentSaysWhatIsMissing(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME", "BETA")
	_, err := s.PlanDocument(ctx, "NOPE", 0)
	wantKind(t, err, store.ErrNotFound, `provider "NOPE" has not been imported`)
	_, err = s.PlanDocument(ctx, "ACME", 0)
	wantKind(t, err, store.ErrNotFound, "provider ACME has no published plan")
	_, err = s.PlanDocument(ctx, "ACME", 1)
	wantKind(t, err, store.ErrNotFound, "provider ACME has no plan version 1")

	// Another provider's version is not ACME's.
	newCycle(t, s, db, "BETA", 2024, review.Config{}).run(round1Changes, round2Changes)
	_, err = s.PlanDocument(ctx, "ACME", 1)
	wantKind(t, err, store.ErrNotFound, "provider ACME has no plan version 1")
	if changes, err := s.PlanChanges(ctx, "ACME", 0, 1); err != nil || len(changes) != 0 {
		t.Errorf("got ACME's changes %+v, %v; want none (BETA's are not ACME's)", changes, err)
	}
	if doc, err := s.PlanDocument(ctx, "BETA", 1); err != nil || doc.Provider != "BETA" || len(doc.Signatures) == 0 {
		t.Errorf("got BETA's version 1 %+v, %v", doc, err)
	}
}
