package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

func TestProviderLocation(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t)
	st := store.New(db)
	// ACME's file names no zone, BETA's Stockholm's.
	for _, p := range []string{"ACME", "BETA"} {
		org := dbtest.Org(p)
		if p == "BETA" {
			org.Provider.TimeZone = "Europe/Stockholm"
		}
		if _, err := st.ImportOrg(ctx, store.ActorOperator, org); err != nil {
			t.Fatal(err)
		}
	}
	svc := service.New(service.Config{Store: st})
	via := review.Via{Channel: review.ChannelCLI, Ref: "tester"}
	act := func(person string) service.Actor {
		a, err := svc.Act(ctx, person, via)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, tt := range []struct {
		name     string
		actor    service.Actor
		provider string
		zone     string
		kind     error
		says     string
	}{
		{"a nurse, her own provider's default zone", act("acme.nurse.north"), "ACME", "Europe/Helsinki", nil, ""},
		{"a student representative", act("acme.rep.south"), "ACME", "Europe/Helsinki", nil, ""},
		{"the auditor of a provider with a zone", act("beta.auditor"), "BETA", "Europe/Stockholm", nil, ""},
		{"the operator, any provider", service.Operator(via), "BETA", "Europe/Stockholm", nil, ""},
		{"another provider's manager", act("beta.manager"), "ACME", "", service.ErrForbidden, `"beta.manager" may not read_plan the time zone of ACME`},
		{"a provider never imported", service.Operator(via), "NOPE", "", service.ErrNotFound, `provider "NOPE" has not been imported`},
		{"no provider code", service.Operator(via), "AC ME", "", service.ErrInvalid, "is not a provider code"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := svc.ProviderLocation(ctx, tt.actor, tt.provider)
			if tt.kind != nil {
				if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.says) {
					t.Fatalf("got %v, %v; want %v saying %q", loc, err, tt.kind, tt.says)
				}
				return
			}
			if err != nil || loc.String() != tt.zone {
				t.Fatalf("got %v, %v; want %s", loc, err, tt.zone)
			}
		})
	}

	// A zone that does not load can only have been written by hand; it is
	// named, not replaced by another.
	if _, err := db.ExecContext(ctx, `UPDATE providers SET time_zone = 'Mars/Base' WHERE code = 'BETA'`); err != nil {
		t.Fatal(err)
	}
	if loc, err := svc.ProviderLocation(ctx, act("beta.manager"), "BETA"); err == nil || !strings.Contains(err.Error(), `the time zone of provider BETA: time zone "Mars/Base" cannot be used`) {
		t.Errorf("a zone written by hand that does not load: got %v, %v; want an error naming it", loc, err)
	}
	if got := svc.Location().String(); got != review.DefaultTimeZone {
		t.Errorf("the default zone: got %s, want %s", got, review.DefaultTimeZone)
	}
}
