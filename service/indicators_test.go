package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
)

// TestIndicatorTrendsAuthorizedAsReport asks for ACME's indicator trends as
// every row of the matrix and as people of another provider: each is
// allowed exactly when the traceability report is.
func TestIndicatorTrendsAuthorizedAsReport(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	via := review.Via{Channel: review.ChannelAPI, Ref: "tok_test"}
	people := []string{"operator", "beta.manager", "beta.auditor"}
	for _, role := range rows {
		if role != "operator" {
			people = append(people, personOf[role])
		}
	}
	allowed := 0
	for _, person := range people {
		a := service.Operator(via)
		if person != "operator" {
			var err error
			if a, err = f.svc.Act(ctx, person, via); err != nil {
				t.Fatal(err)
			}
		}
		_, reportErr := f.svc.Report(ctx, a, "ACME", 2025)
		trends, err := f.svc.IndicatorTrends(ctx, a, "ACME")
		switch {
		case reportErr == nil && (err != nil || trends == nil || len(trends) != 0):
			t.Errorf("%s: got trends %v, %v; want them allowed as the report is, and empty (no catalogue)", person, trends, err)
		case reportErr != nil && !errors.Is(err, service.ErrForbidden):
			t.Errorf("%s: got %v, want it forbidden as the report is (%v)", person, err, reportErr)
		case reportErr != nil && !strings.Contains(err.Error(), "the indicator trends of ACME"):
			t.Errorf("%s: got %q, want the refusal to name the indicator trends of ACME", person, err)
		case reportErr == nil:
			allowed++
		}
	}
	if allowed != 7 {
		t.Errorf("got %d of %d allowed, want 7 (everyone of ACME but the student rep, and the operator)", allowed, len(people))
	}
	for _, tt := range []struct {
		provider string
		kind     error
		says     string
	}{
		{"NOPE", service.ErrNotFound, `provider "NOPE" has not been imported`},
		{"no such", service.ErrInvalid, `provider "no such" is not a provider code`},
	} {
		_, err := f.svc.IndicatorTrends(ctx, service.Operator(via), tt.provider)
		if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("trends of %q: got %v, want %v saying %q", tt.provider, err, tt.kind, tt.says)
		}
	}
}

// TestCatalogueUnitsCheckedBeforeStarting refuses a cycle or a schedule
// whose catalogue targets a unit the provider does not have, naming the
// field, before anything reaches Temporal.
func TestCatalogueUnitsCheckedBeforeStarting(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	manager, err := f.svc.Act(ctx, "acme.manager", review.Via{Channel: review.ChannelCLI, Ref: "test"})
	if err != nil {
		t.Fatal(err)
	}
	target := 8.0
	config := func(unit string) review.Config {
		return review.Config{Indicators: review.Catalogue{{Code: "ABSENT", NameFI: "Poissaolot", NameEN: "Absences", Better: "lower",
			Target: &target, UnitTargets: []review.UnitTarget{{Unit: unit, Target: &target}}}}}
	}
	const field = "config.indicators[0].unit_targets[0].unit"
	for _, tt := range []struct {
		name string
		call func(review.Config) error
	}{
		{"cycle start", func(cfg review.Config) error {
			_, err := f.svc.StartCycle(ctx, manager, service.StartCycle{Provider: "ACME", Year: 2026, Config: cfg})
			return err
		}},
		{"schedule set", func(cfg review.Config) error {
			_, err := f.svc.SetSchedule(ctx, manager, service.SetSchedule{Provider: "ACME", YearlyDate: service.YearlyDate{Month: 8, Day: 15, Hour: 6}, Config: cfg})
			return err
		}},
	} {
		err := tt.call(config("WEST"))
		if !errors.Is(err, service.ErrInvalid) || !strings.Contains(err.Error(), `the cycle config: indicators[0].unit_targets[0].unit "WEST" of indicator ABSENT is not a unit of the provider (units: NORTH, SOUTH)`) ||
			!strings.Contains(service.FieldsOf(err)[field], `"WEST"`) {
			t.Errorf("%s with unit WEST: got %v (fields %v), want it refused naming %s", tt.name, err, service.FieldsOf(err), field)
		}
		if err := tt.call(config("SOUTH")); !errors.Is(err, errReached) {
			t.Errorf("%s with unit SOUTH: got %v, want it to reach Temporal", tt.name, err)
		}
	}
}
