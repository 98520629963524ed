package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/oho-dev/oho/workflows"
)

func TestPlanDocumentAndChanges(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	pub1 := newCycle(t, s, db, "ACME", 2024, workflows.Config{}).run(round1Changes, round2Changes)
	pub2 := newCycle(t, s, db, "ACME", 2025, workflows.Config{}).run(round1Changes, []change{{"C7", "monitoring", "Indicators are reviewed every term."}})

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
