package store_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// seqs lists the chain positions of events.
func seqs(events []store.Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Seq
	}
	return out
}

// TestAuditLogPages pages through a provider's trail forwards and backwards
// by the keys of the pages, with the action and time filters, and checks
// that the pages are the filter's events in chain order, each once, with
// the neighbours each page says it has.
func TestAuditLogPages(t *testing.T) {
	s, db := imported(t, "ACME", "BETA")
	ctx := context.Background()
	newCycle(t, s, db, "ACME", 2025, review.Config{})
	c := newCycle(t, s, db, "ACME", 2026, review.Config{})
	c.open(review.PhaseEvaluate, 0, c.task(review.KindEvaluate, 0, "NORTH"), c.task(review.KindEvaluate, 0, "SOUTH"),
		c.task(review.KindConsult, 0, "NORTH"), c.task(review.KindConsult, 0, "SOUTH"))
	newCycle(t, s, db, "BETA", 2026, review.Config{})

	all, err := s.AuditLog(ctx, store.AuditFilter{Provider: "ACME"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 7 {
		t.Fatalf("ACME has %d events; the test needs at least 7", len(all))
	}
	page := func(f store.AuditFilter) store.AuditPage {
		t.Helper()
		p, err := s.AuditPage(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Forwards, three at a time, to the end.
	var forwards []store.Event
	var pages []store.AuditPage
	f := store.AuditFilter{Provider: "ACME", Limit: 3}
	for i := 0; ; i++ {
		p := page(f)
		if len(p.Events) == 0 || len(p.Events) > 3 {
			t.Fatalf("page %d has %d events, want 1 to 3", i+1, len(p.Events))
		}
		if p.Earlier != (i > 0) {
			t.Errorf("page %d says earlier=%v", i+1, p.Earlier)
		}
		forwards = append(forwards, p.Events...)
		pages = append(pages, p)
		if !p.Later {
			break
		}
		f.After = p.Events[len(p.Events)-1].Seq
	}
	if fmt.Sprint(seqs(forwards)) != fmt.Sprint(seqs(all)) {
		t.Errorf("paging forwards gave %v, want %v", seqs(forwards), seqs(all))
	}

	// Backwards from the last page: the pages before it, the same as
	// forwards, each saying it has a later one.
	last := page(store.AuditFilter{Provider: "ACME", Limit: 3, Before: math.MaxInt64})
	if last.Later || fmt.Sprint(seqs(last.Events)) != fmt.Sprint(seqs(all[len(all)-3:])) {
		t.Errorf("the last page is %v (later %v), want the last three events %v", seqs(last.Events), last.Later, seqs(all[len(all)-3:]))
	}
	second := pages[1]
	back := page(store.AuditFilter{Provider: "ACME", Limit: 3, Before: second.Events[0].Seq})
	if fmt.Sprint(seqs(back.Events)) != fmt.Sprint(seqs(pages[0].Events)) || back.Earlier || !back.Later {
		t.Errorf("back from page 2: got %v (earlier %v, later %v), want page 1 %v with a later page only",
			seqs(back.Events), back.Earlier, back.Later, seqs(pages[0].Events))
	}
	if len(pages) > 2 {
		back = page(store.AuditFilter{Provider: "ACME", Limit: 3, Before: pages[2].Events[0].Seq})
		if fmt.Sprint(seqs(back.Events)) != fmt.Sprint(seqs(second.Events)) || !back.Earlier || !back.Later {
			t.Errorf("back from page 3: got %v (earlier %v, later %v), want page 2 %v", seqs(back.Events), back.Earlier, back.Later, seqs(second.Events))
		}
	}
	// Past either end: an empty page that says where the events are.
	beyond := page(store.AuditFilter{Provider: "ACME", Limit: 3, After: all[len(all)-1].Seq})
	if len(beyond.Events) != 0 || !beyond.Earlier || beyond.Later {
		t.Errorf("after the last event: got %+v, want no events and an earlier page", beyond)
	}

	// The action filter: only those, in chain order, paged.
	opened := page(store.AuditFilter{Provider: "ACME", Action: store.ActionTaskOpened, Limit: 3})
	if len(opened.Events) != 3 || !opened.Later {
		t.Fatalf("the first page of task.opened has %d events (later %v), want 3 of 4 and more", len(opened.Events), opened.Later)
	}
	rest := page(store.AuditFilter{Provider: "ACME", Action: store.ActionTaskOpened, Limit: 3, After: opened.Events[2].Seq})
	if len(rest.Events) != 1 || rest.Later || !rest.Earlier {
		t.Errorf("the second page of task.opened: got %d events (earlier %v, later %v), want the fourth alone", len(rest.Events), rest.Earlier, rest.Later)
	}
	for _, e := range append(opened.Events, rest.Events...) {
		if e.Action != store.ActionTaskOpened || e.CycleID != c.id {
			t.Errorf("the task.opened filter gave %s %s of %s", e.Action, e.Subject, e.CycleID)
		}
	}

	// Until is before that time; since at or after it.
	at := all[3].At
	before, err := s.AuditLog(ctx, store.AuditFilter{Provider: "ACME", Until: at})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range before {
		if !e.At.Before(at) {
			t.Errorf("until %s gave an event at %s", at, e.At)
		}
	}
	from, err := s.AuditLog(ctx, store.AuditFilter{Provider: "ACME", Since: at})
	if err != nil {
		t.Fatal(err)
	}
	if len(before)+len(from) != len(all) || !slices.Contains(seqs(from), all[3].Seq) {
		t.Errorf("until and since the same time split %d events into %d and %d", len(all), len(before), len(from))
	}
	if n, err := s.AuditLog(ctx, store.AuditFilter{Provider: "ACME", Until: time.Now().Add(-24 * time.Hour)}); err != nil || len(n) != 0 {
		t.Errorf("until yesterday: got %d events, %v", len(n), err)
	}

	// A page needs a limit, and one direction.
	for _, bad := range []store.AuditFilter{{Provider: "ACME"}, {Provider: "ACME", Limit: 3, After: 1, Before: 5}} {
		if _, err := s.AuditPage(ctx, bad); err == nil {
			t.Errorf("AuditPage(%+v) was not refused", bad)
		}
	}
}

// TestPlanVersions lists a provider's versions, newest first, with who
// made each, and none for a provider without a plan.
func TestPlanVersions(t *testing.T) {
	s, _ := imported(t, "ACME", "BETA")
	ctx := context.Background()
	content := importedContent()
	if _, err := s.ImportPlan(ctx, store.PlanImport{Provider: "ACME", Content: content, EffectiveFrom: "2026-08-01", ImportedBy: "acme.manager"}); err != nil {
		t.Fatal(err)
	}
	other := content.Apply([]review.Change{{Section: "monitoring", Text: "Reviewed each term."}})
	if _, err := s.ImportPlan(ctx, store.PlanImport{Provider: "ACME", Content: other, EffectiveFrom: "2026-09-01", ImportedBy: store.ActorOperator, Over: 1}); err != nil {
		t.Fatal(err)
	}
	versions, err := s.PlanVersions(ctx, "ACME")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range versions {
		got = append(got, fmt.Sprintf("%d %s %s %s %q %s", v.Version, v.EffectiveFrom, v.Source, v.ImportedBy, v.ImportedByName, v.Hash))
		if len(v.Content.Sections) != 0 {
			t.Errorf("version %d is listed with its text", v.Version)
		}
	}
	want := []string{
		fmt.Sprintf("2 2026-09-01 import operator \"\" %s", other.Hash()),
		fmt.Sprintf("1 2026-08-01 import acme.manager \"Quality Manager\" %s", content.Hash()),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got versions\n%v\nwant\n%v", got, want)
	}
	if none, err := s.PlanVersions(ctx, "BETA"); err != nil || none == nil || len(none) != 0 {
		t.Errorf("BETA's versions: got %v, %v; want an empty list", none, err)
	}
}

// TestAuditActionsListsEveryAction holds AuditActions to the Action
// constants declared in the package's files.
func TestAuditActionsListsEveryAction(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := regexp.MustCompile(`(?m)^\s+Action\w+\s+=\s+"([a-z_.]+)"`)
	var want []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range declared.FindAllStringSubmatch(string(b), -1) {
			want = append(want, m[1])
		}
	}
	got := slices.Clone(store.AuditActions)
	slices.Sort(got)
	slices.Sort(want)
	if len(want) < 30 || !slices.Equal(got, want) {
		t.Errorf("AuditActions has\n%v\nthe constants are\n%v", got, want)
	}
}
