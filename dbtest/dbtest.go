// Package dbtest gives each test its own freshly migrated PostgreSQL
// database, dropped when the test ends, and fixtures shared by the tests of
// several packages. Tests never skip for want of a database: a test that
// cannot reach PostgreSQL fails and says how to start it.
//
// A test database is created and migrated by an administrator connection (a
// superuser, as the tests that simulate a DBA's tampering need). Tests that
// prove what the programs can do connect as the application role AppRole,
// exactly as the worker and the command line do in development; NewEmpty
// leaves the migrating to the owner role OwnerRole, as `make up` does. Both
// roles are cluster-wide: dbtest creates them when missing, with LOGIN and
// no password, which suits the trust-auth servers tests run against.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/schema"
	"github.com/oho-dev/oho/store"
)

// DefaultURL names the server tests use when DATABASE_URL is not set: the
// one 'make up' prepares, or the machine's own. Only its host, port and
// parameters matter; tests make their own databases there.
const DefaultURL = "postgres://oho_app@127.0.0.1:5432/oho?sslmode=disable"

// The roles of schema/005_least_privilege.sql, as scripts/devenv.sh creates
// them.
const (
	// AppRole is the group role the programs' logins belong to; in
	// development it logs in itself.
	AppRole = "oho_app"
	// OwnerRole owns the development database and runs its migrations.
	OwnerRole = "oho_owner"
)

// adminUser is who creates roles and databases unless ADMIN_DATABASE_URL
// says otherwise.
const adminUser = "postgres"

// New creates a database named oho_test_<random>, migrates it as the
// administrator, and returns it open, as the administrator, with its URL.
// The database is closed and dropped when the test and its subtests end.
//
// The server is the one of DATABASE_URL (default DefaultURL); databases and
// roles are created through ADMIN_DATABASE_URL, by default the same server
// as user postgres.
func New(t testing.TB) (db *sqlx.DB, databaseURL string) {
	t.Helper()
	db, databaseURL = create(t, adminURL(t), "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := schema.Migrate(ctx, db.DB); err != nil {
		t.Fatalf("migrating test database %s: %v", store.Target(databaseURL), err)
	}
	return db, databaseURL
}

// NewEmpty creates a database like New, owned by OwnerRole and not migrated,
// as `make up` leaves the development database: migrating it as the owner
// (OwnerURL) is the test's business. It returns the database open as the
// administrator, and the administrator's URL.
func NewEmpty(t testing.TB) (db *sqlx.DB, databaseURL string) {
	t.Helper()
	return create(t, adminURL(t), OwnerRole)
}

// NewEmptyOn is NewEmpty on the server of adminURL, a superuser's URL: a
// server the test runs itself (a cluster it stops and starts), rather than
// the one of DATABASE_URL. The roles are created there when missing.
func NewEmptyOn(t testing.TB, adminURL string) (db *sqlx.DB, databaseURL string) {
	t.Helper()
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("dbtest.NewEmptyOn needs a postgres:// URL (got %s)", store.Target(adminURL))
	}
	return create(t, u, OwnerRole)
}

// NewWithApp is New that also returns the database open as AppRole, closed
// when the test ends: admin sets up and tampers, app does what the programs
// do.
func NewWithApp(t testing.TB) (admin, app *sqlx.DB) {
	t.Helper()
	admin, databaseURL := New(t)
	return admin, Open(t, AppURL(t, databaseURL))
}

// AppURL is the URL of the test database as AppRole: the URL the programs get
// as DATABASE_URL.
func AppURL(t testing.TB, databaseURL string) string {
	t.Helper()
	return asUser(t, databaseURL, AppRole)
}

// OwnerURL is the URL of the test database as OwnerRole: the URL `starter
// migrate` gets as MIGRATION_DATABASE_URL for a database from NewEmpty.
func OwnerURL(t testing.TB, databaseURL string) string {
	t.Helper()
	return asUser(t, databaseURL, OwnerRole)
}

// Open connects to databaseURL and closes the connection when the test ends.
func Open(t testing.TB, databaseURL string) *sqlx.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, databaseURL)
	if err != nil {
		t.Fatalf("opening the test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// create makes the roles and a fresh database owned by owner (the
// administrator when empty) on the server of the administrator's URL u, and
// returns it open as the administrator.
func create(t testing.TB, u *url.URL, owner string) (db *sqlx.DB, databaseURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	admin, err := store.Open(ctx, withDatabase(u, "postgres"))
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s; run 'make up' or set DATABASE_URL (and ADMIN_DATABASE_URL): %v", store.Target(u.String()), err)
	}
	// The migrations need AppRole, and a database from NewEmpty its owner.
	if err := ensureRoles(ctx, admin, u.Host, AppRole, OwnerRole); err != nil {
		admin.Close()
		t.Fatal(err)
	}

	name := "oho_test_" + randomHex(8)
	stmt := "CREATE DATABASE " + pq.QuoteIdentifier(name)
	if owner != "" {
		stmt += " OWNER " + pq.QuoteIdentifier(owner)
	}
	if _, err := admin.ExecContext(ctx, stmt); err != nil {
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
		// FORCE ends the sessions still open, such as a worker's as AppRole.
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
		admin.Close()
	})

	db, err = store.Open(ctx, databaseURL)
	if err != nil {
		t.Fatalf("opening test database: %v", err)
	}
	return db, databaseURL
}

// adminURL is ADMIN_DATABASE_URL, or the server of DATABASE_URL (default
// DefaultURL) as user postgres. A DATABASE_URL that names postgres already
// keeps its password.
func adminURL(t testing.TB) *url.URL {
	t.Helper()
	for _, v := range []string{"ADMIN_DATABASE_URL", "DATABASE_URL"} {
		base := os.Getenv(v)
		if base == "" {
			continue
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			t.Fatalf("%s must be a URL such as %s (got %s)", v, DefaultURL, store.Target(base))
		}
		if v == "DATABASE_URL" && (u.User == nil || u.User.Username() != adminUser) {
			u.User = url.User(adminUser)
		}
		return u
	}
	u, err := url.Parse(DefaultURL)
	if err != nil {
		panic("dbtest.DefaultURL: " + err.Error())
	}
	u.User = url.User(adminUser)
	return u
}

// asUser is databaseURL with the user replaced and no password: the roles
// tests log in as are password-less, like those of the development server.
func asUser(t testing.TB, databaseURL, user string) string {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatalf("reading the test database URL: %v", err)
	}
	u.User = url.User(user)
	return u.String()
}

// rolesReady remembers the roles this process has made sure of, by server
// ("host:port role"), so that a test binary asks each server once.
var rolesReady sync.Map

// ensureRoles creates each role that does not exist on the server admin is
// connected to (server, its host:port), with LOGIN. Test
// processes of several packages run at once and may both find a role
// missing: the loser's CREATE ROLE fails with duplicate_object (42710), or
// with unique_violation (23505) when both inserted into pg_authid before
// either committed, and either means the role is there.
func ensureRoles(ctx context.Context, admin *sqlx.DB, server string, roles ...string) error {
	for _, role := range roles {
		key := server + " " + role
		if _, ok := rolesReady.Load(key); ok {
			continue
		}
		var canLogin bool
		err := admin.GetContext(ctx, &canLogin, `SELECT rolcanlogin FROM pg_roles WHERE rolname = $1`, role)
		switch {
		case err == nil && !canLogin:
			return fmt.Errorf("role %s exists but cannot log in, and the tests connect as it: ALTER ROLE %s LOGIN ('make up' does)", role, role)
		case err == nil:
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("looking up role %s: %w", role, err)
		default:
			if _, err := admin.ExecContext(ctx, "CREATE ROLE "+pq.QuoteIdentifier(role)+" LOGIN"); err != nil {
				var pqErr *pq.Error
				if !errors.As(err, &pqErr) || (pqErr.Code != "42710" && pqErr.Code != "23505") {
					return fmt.Errorf("creating role %s: %w", role, err)
				}
			}
		}
		rolesReady.Store(key, true)
	}
	return nil
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
