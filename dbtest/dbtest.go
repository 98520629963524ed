// Package dbtest gives each test its own freshly migrated PostgreSQL
// database, dropped when the test ends, and fixtures shared by the tests of
// several packages. Tests never skip for want of a database: a test that
// cannot reach PostgreSQL fails and says how to start it.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/schema"
	"github.com/oho-dev/oho/store"
)

// DefaultURL is the server tests use when DATABASE_URL is not set: the one
// 'make up' starts, or the machine's own.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/oho?sslmode=disable"

// New creates a database named oho_test_<random>, migrates it, and returns
// it open with its URL. The database is closed and dropped when the test and
// its subtests end.
func New(t testing.TB) (db *sqlx.DB, databaseURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	base := os.Getenv("DATABASE_URL")
	if base == "" {
		base = DefaultURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("DATABASE_URL must be a URL such as %s (got %s)", DefaultURL, store.Target(base))
	}
	admin, err := store.Open(ctx, withDatabase(u, "postgres"))
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s; run 'make up' or set DATABASE_URL: %v", store.Target(base), err)
	}

	name := "oho_test_" + randomHex(8)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		admin.Close()
		t.Fatalf("creating test database %s: %v", name, err)
	}
	databaseURL = withDatabase(u, name)
	t.Cleanup(func() {
		if db != nil {
			db.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
		admin.Close()
	})

	db, err = store.Open(ctx, databaseURL)
	if err != nil {
		t.Fatalf("opening test database: %v", err)
	}
	if _, err := schema.Migrate(ctx, db.DB); err != nil {
		t.Fatalf("migrating test database %s: %v", name, err)
	}
	return db, databaseURL
}

func withDatabase(u *url.URL, name string) string {
	c := *u
	c.Path = "/" + name
	return c.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("reading random bytes: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// Org returns a small valid org file for the provider: units NORTH and SOUTH,
// each with a unit head, welfare staff and a student representative, and a
// provider-wide manager, plan editor, approver and auditor. Person IDs start
// with the lower-cased provider code, so two providers' files do not clash.
// Everyone has the e-mail address ID@provider.example (lower case) except the
// student representatives, role accounts whose notices are only logged.
func Org(provider string) store.Org {
	p := strings.ToLower(provider)
	unitPeople := func(unit string) []store.OrgPerson {
		u := strings.ToLower(unit)
		return []store.OrgPerson{
			{ID: p + ".head." + u, Name: "Head of " + unit, Roles: []store.PersonRole{{Role: review.RoleUnitHead, Unit: unit}}},
			{ID: p + ".nurse." + u, Name: "Nurse of " + unit, Roles: []store.PersonRole{{Role: review.RoleWelfareStaff, Unit: unit}}},
			{ID: p + ".rep." + u, Name: "Student rep of " + unit, Roles: []store.PersonRole{{Role: review.RoleStudentRep, Unit: unit}}},
		}
	}
	people := []store.OrgPerson{
		{ID: p + ".manager", Name: "Quality Manager", Roles: []store.PersonRole{{Role: review.RoleManager}}},
		{ID: p + ".editor", Name: "Plan Editor", Roles: []store.PersonRole{{Role: review.RolePlanEditor}}},
		{ID: p + ".approver", Name: "Director", Roles: []store.PersonRole{{Role: review.RoleApprover}}},
		{ID: p + ".auditor", Name: "Auditor", Roles: []store.PersonRole{{Role: review.RoleAuditor}}},
	}
	people = append(people, unitPeople("NORTH")...)
	people = append(people, unitPeople("SOUTH")...)
	for i, person := range people {
		if person.Roles[0].Role != review.RoleStudentRep {
			people[i].Email = Email(person.ID)
		}
	}
	return store.Org{
		Provider: store.OrgProvider{Code: provider, Name: "Provider " + provider},
		Units:    []store.OrgUnit{{Code: "NORTH", Name: "North campus"}, {Code: "SOUTH", Name: "South campus"}},
		People:   people,
	}
}

// Email is the address Org gives a person: "acme.nurse.north" has
// "acme.nurse.north@acme.example".
func Email(person string) string {
	provider, _, _ := strings.Cut(person, ".")
	return person + "@" + provider + ".example"
}
