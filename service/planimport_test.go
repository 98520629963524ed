package service_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

const plan2024 = `# Harjula student welfare plan 2024

## Communal welfare

Two supervisors at every break.

## Individual welfare

The nurse is in on weekdays.

## Digital welfare services {#digital}

Counselling can be booked online.

## Annex NORTH: North Campus arrangements

North's welfare group meets monthly.
`

func TestImportPlanThroughService(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t)
	st := store.New(db)
	// BETA is in Reykjavik, which keeps UTC all year.
	for _, p := range []string{"ACME", "BETA"} {
		org := dbtest.Org(p)
		if p == "BETA" {
			org.Provider.TimeZone = "Atlantic/Reykjavik"
		}
		if _, err := st.ImportOrg(ctx, store.ActorOperator, org); err != nil {
			t.Fatal(err)
		}
	}
	// Half past eleven on New Year's Eve in UTC is New Year's Day in Helsinki,
	// ACME's zone (the default), and still New Year's Eve in BETA's: the
	// default effective date is today where the provider is.
	now := time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)
	svc := service.New(service.Config{Store: st, Now: func() time.Time { return now }})
	via := review.Via{Channel: review.ChannelCLI, Ref: "tester"}
	act := func(person string) service.Actor {
		a, err := svc.Act(ctx, person, via)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	in := service.ImportPlan{Provider: "ACME", Markdown: plan2024, Name: "plan.md", AddSections: true}

	for _, tt := range []struct {
		name  string
		actor service.Actor
		in    service.ImportPlan
		kind  error
		says  string
		field string
	}{
		{"a nurse", act("acme.nurse.north"), in, service.ErrForbidden, `"acme.nurse.north" may not administer the plan of ACME: only the provider's managers may`, ""},
		{"the unit head", act("acme.head.north"), in, service.ErrForbidden, "only the provider's managers may", ""},
		{"the auditor", act("acme.auditor"), in, service.ErrForbidden, "only the provider's managers may", ""},
		{"another provider's manager", act("beta.manager"), in, service.ErrForbidden, `"beta.manager" may not administer the plan of ACME`, ""},
		{"a provider that is no code", act("acme.manager"), service.ImportPlan{Provider: "AC ME", Markdown: plan2024}, service.ErrInvalid, "is not a provider code", "provider"},
		{"a provider never imported", service.Operator(via), service.ImportPlan{Provider: "NOPE", Markdown: plan2024}, service.ErrNotFound, `provider "NOPE" has not been imported`, ""},
		{"a date that is no date", act("acme.manager"), service.ImportPlan{Provider: "ACME", Markdown: plan2024, EffectiveFrom: "1.8.2026"}, service.ErrInvalid,
			`effective_from "1.8.2026" is not a date written as YYYY-MM-DD`, "effective_from"},
		{"a new section without add sections", act("acme.manager"), service.ImportPlan{Provider: "ACME", Markdown: plan2024, Name: "plan.md"}, service.ErrInvalid,
			`plan.md: line 11: {#digital} is not a section of the plan; the known sections are "Overall welfare need and services" {#welfare_need}`, "markdown"},
		{"an empty plan", act("acme.manager"), service.ImportPlan{Provider: "ACME"}, service.ErrInvalid, "the plan: the document has no section headings", "markdown"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.ImportPlan(ctx, tt.actor, tt.in)
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("got %v, want %v saying %q", err, tt.kind, tt.says)
			}
			if tt.field != "" && service.FieldsOf(err)[tt.field] == "" {
				t.Errorf("got fields %v, want %s named", service.FieldsOf(err), tt.field)
			}
		})
	}
	if _, err := st.PlanVersion(ctx, "ACME", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused import recorded a version (%v)", err)
	}

	got, err := svc.ImportPlan(ctx, act("acme.manager"), in)
	if err != nil {
		t.Fatal(err)
	}
	want := service.ImportedPlan{Provider: "ACME", Version: 1, Hash: got.Hash, EffectiveFrom: "2027-01-01",
		Sections: []string{"communal", "individual", "digital", "welfare_need", "cooperation", "common_practices", "monitoring"},
		Annexes:  []string{"NORTH"}, Added: []string{"digital"}, Empty: []string{"welfare_need", "cooperation", "common_practices", "monitoring"}}
	if !equalImport(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	events, err := st.Events(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if last.Action != store.ActionPlanImported || last.Actor != "acme.manager" || last.Channel != review.ChannelCLI || last.ChannelRef != "tester" {
		t.Errorf("got last event %+v, want plan.imported by acme.manager through the command line", last)
	}

	// The operator imports the next version; the sections of version 1 are
	// now the known ones, so "digital" needs no add sections.
	next := strings.Replace(plan2024, "booked online.", "booked online or by phone.", 1)
	got, err = svc.ImportPlan(ctx, service.Operator(via), service.ImportPlan{Provider: "ACME", Markdown: next, EffectiveFrom: "2027-08-01"})
	if err != nil || got.Version != 2 || got.EffectiveFrom != "2027-08-01" || len(got.Added) != 0 {
		t.Fatalf("the operator's import: got %+v, %v; want version 2 adding nothing", got, err)
	}
	doc, err := svc.Plan(ctx, act("acme.nurse.north"), "ACME", 0)
	if err != nil || doc.ImportedBy != store.ActorOperator || doc.Source != store.SourceImport {
		t.Errorf("the nurse reads version %+v, %v; want the operator's import", doc.PlanVersion, err)
	}
	again, err := svc.ImportPlan(ctx, act("acme.manager"), service.ImportPlan{Provider: "ACME", Markdown: next})
	if err != nil || !again.Unchanged || again.Version != 2 {
		t.Errorf("the same text again: got %+v, %v; want version 2 unchanged", again, err)
	}

	// While a cycle runs, the import is refused, naming the cycle; the
	// refusal of someone who may not import comes first.
	if _, err := st.SetupCycle(ctx, review.SetupCycleInput{CycleID: review.CycleID("ACME", 2027), Provider: "ACME", Year: 2027}); err != nil {
		t.Fatal(err)
	}
	_, err = svc.ImportPlan(ctx, act("acme.manager"), in)
	if !errors.Is(err, service.ErrConflict) || !strings.Contains(err.Error(), "cannot be imported while cycle review-cycle/ACME/2027 is running") {
		t.Errorf("importing while the cycle runs: got %v, want a conflict naming the cycle", err)
	}
	if _, err := svc.ImportPlan(ctx, act("acme.nurse.north"), in); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("a nurse importing while the cycle runs: got %v, want forbidden", err)
	}
	beta, err := svc.ImportPlan(ctx, act("beta.manager"), service.ImportPlan{Provider: "BETA", Markdown: plan2024, AddSections: true})
	if err != nil {
		t.Errorf("BETA's manager importing BETA's plan while ACME's cycle runs: %v", err)
	}
	if beta.EffectiveFrom != "2026-12-31" {
		t.Errorf("BETA's plan: got effective from %s, want 2026-12-31, today in Reykjavik", beta.EffectiveFrom)
	}
}

func equalImport(a, b service.ImportedPlan) bool {
	return a.Provider == b.Provider && a.Version == b.Version && a.Hash == b.Hash && a.EffectiveFrom == b.EffectiveFrom &&
		a.Unchanged == b.Unchanged && slices.Equal(a.Sections, b.Sections) && slices.Equal(a.Annexes, b.Annexes) &&
		slices.Equal(a.Added, b.Added) && slices.Equal(a.Empty, b.Empty)
}
