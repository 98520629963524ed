package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// TestExportPerson: a person exports their own data, and their provider's
// auditors and managers and the operator anyone's; each export is recorded
// in the audit trail, where the person's next export shows it. Colleagues
// and other providers' people are refused, naming why.
func TestExportPerson(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	act := func(person string) service.Actor {
		t.Helper()
		a, err := f.svc.Act(ctx, person, review.Via{Channel: review.ChannelWeb, Ref: "s_" + person})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	const nurse = "acme.nurse.north"

	for _, c := range []struct {
		actor service.Actor
		want  string
	}{
		{act("acme.nurse.south"), `refused: "acme.nurse.south" may not export the personal data of acme.nurse.north: only the person themselves and the auditors and managers of their provider may`},
		{act("acme.head.north"), `refused: "acme.head.north" may not export the personal data of acme.nurse.north: only the person themselves`},
		{act("beta.auditor"), `refused: "beta.auditor" may not export the personal data of acme.nurse.north`},
		{act("beta.manager"), `refused: "beta.manager" may not export the personal data of acme.nurse.north`},
	} {
		_, err := f.svc.ExportPerson(ctx, c.actor, nurse)
		if !errors.Is(err, service.ErrForbidden) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s exporting %s: got %v, want it forbidden: %s", c.actor.ID(), nurse, err, c.want)
		}
	}
	if n := len(exports(t, f, nurse)); n != 0 {
		t.Fatalf("refused exports recorded %d person.exported events", n)
	}

	got, err := f.svc.ExportPerson(ctx, act("acme.auditor"), nurse)
	if err != nil {
		t.Fatal(err)
	}
	if got.ExportedBy != "acme.auditor" || got.Person.ID != nurse || got.Person.Provider != "ACME" || len(got.Tasks) == 0 {
		t.Errorf("the auditor's export: by %q of %+v with %d tasks, want the nurse's by acme.auditor", got.ExportedBy, got.Person, len(got.Tasks))
	}
	if _, err := f.svc.ExportPerson(ctx, act("acme.manager"), nurse); err != nil {
		t.Errorf("the manager exporting the nurse: %v", err)
	}
	if _, err := f.svc.ExportPerson(ctx, service.Operator(review.Via{Channel: review.ChannelCLI, Ref: "root"}), nurse); err != nil {
		t.Errorf("the operator exporting the nurse: %v", err)
	}
	own, err := f.svc.ExportPerson(ctx, act(nurse), nurse)
	if err != nil {
		t.Fatal(err)
	}
	// The nurse's own export shows who exported their data before.
	var before []string
	for _, e := range own.Audit.Events {
		if e.Action == store.ActionPersonExported {
			before = append(before, e.Actor+" via "+string(e.Channel))
		}
	}
	if strings.Join(before, ", ") != "acme.auditor via web, acme.manager via web, operator via cli" {
		t.Errorf("the nurse's export shows the exports %v, want the auditor's, the manager's and the operator's", before)
	}
	if got := exports(t, f, nurse); len(got) != 4 || got[3].Actor != nurse || got[3].Subject != "person/"+nurse {
		t.Errorf("got person.exported events %+v, want 4, the last the nurse's own", got)
	}
	var workflows []string
	for _, e := range own.Elsewhere {
		if e.Where == "temporal" {
			workflows = e.Workflows
		}
	}
	if strings.Join(workflows, " ") != "review-cycle/ACME/2024 review-cycle/ACME/2025" {
		t.Errorf("the export names the workflows %v, want the cycles whose tasks the nurse holds or is offered", workflows)
	}

	if _, err := f.svc.ExportPerson(ctx, act("acme.auditor"), "nobody.here"); !errors.Is(err, service.ErrNotFound) || !strings.Contains(err.Error(), `there is no person "nobody.here"`) {
		t.Errorf("an unknown person: got %v, want not found", err)
	}
	if _, err := f.svc.ExportPerson(ctx, act("acme.auditor"), "Nobody Here"); !errors.Is(err, service.ErrInvalid) || !strings.Contains(err.Error(), "is not a person ID") {
		t.Errorf("a malformed ID: got %v, want invalid", err)
	}

	// The list of the provider's people to choose from: its auditors and
	// managers only.
	if _, err := f.svc.People(ctx, act(nurse), "ACME"); !errors.Is(err, service.ErrForbidden) || !strings.Contains(err.Error(), "only the provider's auditors and managers may") {
		t.Errorf("the nurse listing ACME's people: got %v, want it forbidden", err)
	}
	if _, err := f.svc.People(ctx, act("beta.auditor"), "ACME"); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("BETA's auditor listing ACME's people: got %v, want it forbidden", err)
	}
	people, err := f.svc.People(ctx, act("acme.auditor"), "ACME")
	if err != nil || len(people) != 10 || people[0].ID != "acme.approver" {
		t.Errorf("the auditor listing ACME's people: got %d people (%v), want the 10 of the fixture", len(people), err)
	}
}

// exports are the person.exported events of a person, in chain order.
func exports(t *testing.T, f *fixture, person string) []store.Event {
	t.Helper()
	events, err := f.st.AuditLog(context.Background(), store.AuditFilter{Action: store.ActionPersonExported})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Event
	for _, e := range events {
		if e.Subject == store.PersonSubject(person) {
			out = append(out, e)
		}
	}
	return out
}
