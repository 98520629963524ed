package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

func TestOrgValidate(t *testing.T) {
	person := func(o *store.Org, id string) *store.OrgPerson {
		for i := range o.People {
			if o.People[i].ID == id {
				return &o.People[i]
			}
		}
		t.Fatalf("fixture has no person %s", id)
		return nil
	}
	tests := []struct {
		name   string
		change func(o *store.Org)
		says   []string
	}{
		{"provider code", func(o *store.Org) { o.Provider.Code = "ac me" }, []string{"provider.code must be 1-32 letters"}},
		{"provider name", func(o *store.Org) { o.Provider.Name = "" }, []string{"provider.name is required"}},
		{"provider time zone", func(o *store.Org) { o.Provider.TimeZone = "Mars/Base" },
			[]string{`provider.time_zone "Mars/Base" is not a time zone (IANA name such as Europe/Helsinki)`}},
		{"no units", func(o *store.Org) { o.Units = nil }, []string{"units is required"}},
		{"unit code", func(o *store.Org) { o.Units[0].Code = "NORTH/1" }, []string{"units[0].code must be 1-32 letters"}},
		{"unit twice", func(o *store.Org) { o.Units[1].Code = "NORTH" }, []string{`units[1]: unit code "NORTH" is listed twice`}},
		{"person twice", func(o *store.Org) { o.People[1].ID = o.People[0].ID }, []string{`people[1]: person ID "acme.manager" is listed twice`}},
		{"person ID", func(o *store.Org) { o.People[0].ID = "Anna Virtanen" }, []string{"people[0].id must be a person ID"}},
		{"unknown role", func(o *store.Org) { o.People[0].Roles[0].Role = "principal" }, []string{"people[0].roles[0].role must be one of manager, unit_head", `(got "principal")`}},
		{"unit not in file", func(o *store.Org) { person(o, "acme.head.north").Roles[0].Unit = "WEST" },
			[]string{`person "acme.head.north"`, `unit "WEST" is not one of the file's units (NORTH, SOUTH)`}},
		{"unit role without unit", func(o *store.Org) { person(o, "acme.rep.south").Roles[0].Unit = "" },
			[]string{`person "acme.rep.south"`, "student_rep needs a unit"}},
		{"provider role with unit", func(o *store.Org) { person(o, "acme.approver").Roles[0].Unit = "NORTH" },
			[]string{`person "acme.approver"`, `approver is provider-wide, so its unit must be empty (got "NORTH")`}},
		{"role twice", func(o *store.Org) {
			p := person(o, "acme.nurse.north")
			p.Roles = append(p.Roles, p.Roles[0])
		}, []string{`person "acme.nurse.north" (people[5].roles[1]): welfare_staff@NORTH is listed twice`}},
		{"every problem at once", func(o *store.Org) {
			o.Provider.Name = ""
			person(o, "acme.editor").Roles[0].Unit = "SOUTH"
			person(o, "acme.head.south").Roles[0].Unit = ""
		}, []string{"provider.name is required", "plan_editor is provider-wide", "unit_head needs a unit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := dbtest.Org("ACME")
			tt.change(&org)
			err := org.Validate()
			wantKind(t, err, store.ErrInvalid, tt.says...)
		})
	}
	if err := dbtest.Org("ACME").Validate(); err != nil {
		t.Errorf("the fixture org: got %v, want it valid", err)
	}
	// Managers and auditors may work for a unit or the whole provider.
	org := dbtest.Org("ACME")
	person(&org, "acme.auditor").Roles = append(person(&org, "acme.auditor").Roles, store.PersonRole{Role: review.RoleManager, Unit: "NORTH"})
	if err := org.Validate(); err != nil {
		t.Errorf("a unit manager: got %v, want it valid", err)
	}
}

func TestImportOrgTwiceChangesNothing(t *testing.T) {
	ctx := context.Background()
	s, db := newStore(t)
	org := dbtest.Org("ACME")

	res, err := s.ImportOrg(ctx, store.ActorOperator, org)
	if err != nil {
		t.Fatal(err)
	}
	// 1 provider, 2 units, 10 people, 10 roles.
	if res.Added != 23 || res.Changed != 0 || res.Removed != 0 {
		t.Errorf("first import: got %+v, want 23 added", res)
	}
	if got := actions(t, s, ""); !maps.Equal(got, map[string]int{store.ActionOrgImported: 1}) {
		t.Errorf("first import: got audit actions %v, want one org.imported", got)
	}

	before := rowCounts(t, db)
	res, err = s.ImportOrg(ctx, store.ActorOperator, org)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added+res.Changed+res.Removed != 0 || len(res.Changes) != 0 {
		t.Errorf("second import: got %+v, want no changes", res)
	}
	if d := diff(before, rowCounts(t, db)); d != "" {
		t.Errorf("second import wrote rows: %s", d)
	}

	// A changed file: a unit renamed, a role moved from one person to another.
	org.Units[0].Name = "North campus (Oulu)"
	for i, p := range org.People {
		switch p.ID {
		case "acme.auditor":
			org.People[i].Roles = nil
		case "acme.manager":
			org.People[i].Roles = append(org.People[i].Roles, store.PersonRole{Role: review.RoleAuditor})
		}
	}
	res, err = s.ImportOrg(ctx, store.ActorOperator, org)
	if err != nil {
		t.Fatal(err)
	}
	want := store.ImportResult{Added: 1, Changed: 1, Removed: 1, Changes: []string{
		"unit NORTH renamed", "role auditor of acme.manager added", "role auditor of acme.auditor removed",
	}}
	if res.Added != want.Added || res.Changed != want.Changed || res.Removed != want.Removed || !slices.Equal(res.Changes, want.Changes) {
		t.Errorf("third import: got %+v, want %+v", res, want)
	}
	if n := actions(t, s, "")[store.ActionOrgImported]; n != 2 {
		t.Errorf("got %d org.imported events, want 2", n)
	}
	p, err := s.Person(ctx, "acme.manager")
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.PersonRole{{Role: review.RoleAuditor}, {Role: review.RoleManager}}; !slices.Equal(p.Roles, want) || p.Provider != "ACME" || p.Name != "Quality Manager" {
		t.Errorf("got person %+v, want ACME's Quality Manager with roles %v", p, want)
	}
}

func TestImportOrgRefusals(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")

	beta := dbtest.Org("BETA")
	beta.People[0].ID = "acme.manager"
	before := rowCounts(t, db)
	_, err := s.ImportOrg(ctx, store.ActorOperator, beta)
	wantKind(t, err, store.ErrDuplicate, "acme.manager (of ACME)")
	if d := diff(before, rowCounts(t, db)); d != "" {
		t.Errorf("the refused import wrote rows: %s", d)
	}

	bad := dbtest.Org("BETA")
	bad.Units = nil
	_, err = s.ImportOrg(ctx, store.ActorOperator, bad)
	wantKind(t, err, store.ErrInvalid, "units is required")
	if d := diff(before, rowCounts(t, db)); d != "" {
		t.Errorf("the invalid import wrote rows: %s", d)
	}
}

// TestImportOrgTimeZone imports a provider's time zone: the default when
// the file names none, the file's otherwise, and a change of zone counted
// and audited like any change of the provider, with the zone it replaced.
func TestImportOrgTimeZone(t *testing.T) {
	ctx := context.Background()
	s, db := newStore(t)
	zoneOf := func(provider string) string {
		t.Helper()
		zone, err := s.ProviderTimeZone(ctx, provider)
		if err != nil {
			t.Fatal(err)
		}
		return zone
	}
	lastChanges := func() []string {
		t.Helper()
		events, err := s.Events(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		last := events[len(events)-1]
		var payload struct {
			Changes []string `json:"changes"`
		}
		if err := json.Unmarshal(last.Payload, &payload); err != nil {
			t.Fatal(err)
		}
		if last.Action != store.ActionOrgImported || last.Subject != "provider/ACME" {
			t.Fatalf("got last event %s on %s, want org.imported on provider/ACME", last.Action, last.Subject)
		}
		return payload.Changes
	}

	org := dbtest.Org("ACME")
	if _, err := s.ImportOrg(ctx, store.ActorOperator, org); err != nil {
		t.Fatal(err)
	}
	if got := zoneOf("ACME"); got != review.DefaultTimeZone {
		t.Errorf("a file without a zone: got %s, want %s", got, review.DefaultTimeZone)
	}
	// Naming the default zone is no change.
	org.Provider.TimeZone = "Europe/Helsinki"
	before := rowCounts(t, db)
	if res, err := s.ImportOrg(ctx, store.ActorOperator, org); err != nil || res.Changed+res.Added+res.Removed != 0 {
		t.Errorf("naming the default zone: got %+v, %v; want no change", res, err)
	}
	if d := diff(before, rowCounts(t, db)); d != "" {
		t.Errorf("naming the default zone wrote rows: %s", d)
	}

	for _, tt := range []struct {
		name, zone, rename, want, change string
	}{
		{"another zone", "Europe/Stockholm", "", "Europe/Stockholm",
			"provider ACME time zone changed from Europe/Helsinki to Europe/Stockholm"},
		{"renamed and the zone left out", "", "Acme College", "Europe/Helsinki",
			"provider ACME renamed and time zone changed from Europe/Stockholm to Europe/Helsinki"},
		{"renamed only", "", "Acme Vocational College", "Europe/Helsinki", "provider ACME renamed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			org.Provider.TimeZone = tt.zone
			if tt.rename != "" {
				org.Provider.Name = tt.rename
			}
			res, err := s.ImportOrg(ctx, store.ActorOperator, org)
			if err != nil {
				t.Fatal(err)
			}
			if res.Added != 0 || res.Changed != 1 || res.Removed != 0 || !slices.Equal(res.Changes, []string{tt.change}) {
				t.Errorf("got %+v, want one change: %s", res, tt.change)
			}
			if got := zoneOf("ACME"); got != tt.want {
				t.Errorf("got zone %s, want %s", got, tt.want)
			}
			if got := lastChanges(); !slices.Equal(got, []string{tt.change}) {
				t.Errorf("the audit event says %v, want %q", got, tt.change)
			}
		})
	}
	if n := actions(t, s, "")[store.ActionOrgImported]; n != 4 {
		t.Errorf("got %d org.imported events, want 4 (the first import and three changes)", n)
	}

	// A new provider with a zone of its own.
	beta := dbtest.Org("BETA")
	beta.Provider.TimeZone = "Atlantic/Reykjavik"
	if _, err := s.ImportOrg(ctx, store.ActorOperator, beta); err != nil {
		t.Fatal(err)
	}
	if got := zoneOf("BETA"); got != "Atlantic/Reykjavik" {
		t.Errorf("BETA: got zone %s, want Atlantic/Reykjavik", got)
	}
	if _, err := s.ProviderTimeZone(ctx, "NOPE"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a provider never imported: got %v, want ErrNotFound", err)
	}
	// A zone Go cannot load is refused before anything is written.
	before = rowCounts(t, db)
	beta.Provider.TimeZone = "Mars/Base"
	_, err := s.ImportOrg(ctx, store.ActorOperator, beta)
	wantKind(t, err, store.ErrInvalid, `provider.time_zone "Mars/Base" is not a time zone (IANA name such as Europe/Helsinki)`)
	if d := diff(before, rowCounts(t, db)); d != "" {
		t.Errorf("the refused import wrote rows: %s", d)
	}
}

func TestCheckReady(t *testing.T) {
	ctx := context.Background()
	s, _ := imported(t, "ACME")
	if err := s.CheckReady(ctx, "ACME"); err != nil {
		t.Errorf("ACME: got %v, want ready", err)
	}
	err := s.CheckReady(ctx, "NOPE")
	wantKind(t, err, store.ErrNotFound, `provider "NOPE" has not been imported`)

	// BETA lacks SOUTH's student rep and unit head, and its approver.
	org := dbtest.Org("BETA")
	var people []store.OrgPerson
	for _, p := range org.People {
		if p.ID != "beta.rep.south" && p.ID != "beta.head.south" && p.ID != "beta.approver" {
			people = append(people, p)
		}
	}
	org.People = people
	if _, err := s.ImportOrg(ctx, store.ActorOperator, org); err != nil {
		t.Fatal(err)
	}
	err = s.CheckReady(ctx, "BETA")
	wantKind(t, err, store.ErrNotReady, `provider "BETA" cannot start a cycle: unit SOUTH has no student_rep; unit SOUTH has no unit_head; the provider has no approver`)
	if strings.Contains(err.Error(), "NORTH") {
		t.Errorf("got %q, which names NORTH, whose roles are filled", err)
	}

	_, err = s.Person(ctx, "nobody")
	wantKind(t, err, store.ErrNotFound, `person "nobody"`)
}

// TestLoginSubjects imports the subjects people log in with at an identity
// provider: one per person, unique in the file, and a subject moving from
// one person to another in a single import (a new student representative).
func TestLoginSubjects(t *testing.T) {
	s, db := newStore(t)
	ctx := context.Background()
	org := dbtest.Org("ACME")
	setSubject := func(o *store.Org, person, subject string) {
		for i := range o.People {
			if o.People[i].ID == person {
				o.People[i].OIDCSubject = subject
			}
		}
	}
	setSubject(&org, "acme.rep.north", "mpass-1")
	if _, err := s.ImportOrg(ctx, store.ActorOperator, org); err != nil {
		t.Fatal(err)
	}
	if p, err := s.PersonByLogin(ctx, "ACME", "subject", "mpass-1"); err != nil || p != "acme.rep.north" {
		t.Errorf("PersonByLogin(subject mpass-1): got %q, %v", p, err)
	}
	// The subject moves to SOUTH's representative.
	setSubject(&org, "acme.rep.north", "")
	setSubject(&org, "acme.rep.south", "mpass-1")
	res, err := s.ImportOrg(ctx, store.ActorOperator, org)
	if err != nil {
		t.Fatalf("moving a subject: %v", err)
	}
	if res.Changed != 2 {
		t.Errorf("moving a subject: got %d changed, want 2 (%v)", res.Changed, res.Changes)
	}
	if p, err := s.PersonByLogin(ctx, "ACME", "subject", "mpass-1"); err != nil || p != "acme.rep.south" {
		t.Errorf("PersonByLogin after the move: got %q, %v", p, err)
	}
	// Another provider's subject finds nobody here.
	if _, err := s.PersonByLogin(ctx, "BETA", "subject", "mpass-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another provider's subject: got %v, want ErrNotFound", err)
	}
	// E-mail matching ignores case.
	if p, err := s.PersonByLogin(ctx, "ACME", "email", strings.ToUpper(dbtest.Email("acme.nurse.north"))); err != nil || p != "acme.nurse.north" {
		t.Errorf("PersonByLogin(email, upper case): got %q, %v", p, err)
	}
	// Two people with one subject in a file are refused, naming both.
	setSubject(&org, "acme.rep.north", "mpass-1")
	if _, err := s.ImportOrg(ctx, store.ActorOperator, org); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), `oidc_subject "mpass-1" is also person "acme.rep.north"'s`) {
		t.Errorf("a subject twice: got %v", err)
	}
	_ = db
}
