package schema_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/schema"
	"github.com/oho-dev/oho/store"
)

// tablePrivileges are the privileges a table can be granted, in the order
// appPrivileges lists them.
var tablePrivileges = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}

// appPrivileges returns what oho_app holds on each table of the schema, as
// "SELECT INSERT".
func appPrivileges(t *testing.T, db *sqlx.DB) map[string]string {
	t.Helper()
	var rows []struct {
		Table string `db:"tablename"`
		Privs string `db:"privs"`
	}
	const q = `
SELECT tablename, concat_ws(' ', VARIADIC ARRAY(
    SELECT p FROM unnest($1::text[]) WITH ORDINALITY AS x(p, i)
    WHERE has_table_privilege('oho_app', format('%I.%I', schemaname, tablename), p)
    ORDER BY i)) AS privs
FROM pg_tables
WHERE schemaname = current_schema()`
	if err := db.Select(&rows, q, "{"+strings.Join(tablePrivileges, ",")+"}"); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.Table] = r.Privs
	}
	return out
}

// wantAppPrivileges checks oho_app's rights on the tables, sequences, schema
// and chain function against 005_least_privilege.sql. Tables it does not
// name (a later migration's) must be readable and never truncated,
// referenced or triggered.
func wantAppPrivileges(t *testing.T, db *sqlx.DB) {
	t.Helper()
	const (
		readWrite  = "SELECT INSERT UPDATE DELETE"
		appendOnly = "SELECT INSERT"
		readOnly   = "SELECT"
	)
	want := map[string]string{
		"audit_events": appendOnly, "signoffs": appendOnly, "approvals": appendOnly,
		"plan_drafts": appendOnly, "plan_versions": appendOnly,
		"audit_chain_head": readOnly, "schema_migrations": readOnly,
	}
	for _, table := range []string{"providers", "units", "people", "person_roles", "cycles", "tasks",
		"indicators", "findings", "effectiveness_ratings", "consultations", "feedback_items",
		"plan_changes", "dispositions", "plans", "notifications"} {
		want[table] = readWrite
	}
	got := appPrivileges(t, db)
	for table, w := range want {
		if got[table] != w {
			t.Errorf("oho_app on %s: got %q, want %q", table, got[table], w)
		}
	}
	for table, g := range got {
		if _, ok := want[table]; ok {
			continue
		}
		if !strings.HasPrefix(g, "SELECT") || strings.Contains(g, "TRUNCATE") || strings.Contains(g, "REFERENCES") || strings.Contains(g, "TRIGGER") {
			t.Errorf("oho_app on %s, a table 005 does not know: got %q, want SELECT and no TRUNCATE, REFERENCES or TRIGGER", table, g)
		}
	}

	var checks []struct {
		What string `db:"what"`
		OK   bool   `db:"ok"`
	}
	const q = `
SELECT 'USAGE on the schema' AS what, has_schema_privilege('oho_app', current_schema(), 'USAGE') AS ok
UNION ALL SELECT 'no CREATE on the schema', NOT has_schema_privilege('oho_app', current_schema(), 'CREATE')
UNION ALL SELECT 'no CREATE on the database', NOT has_database_privilege('oho_app', current_database(), 'CREATE')
UNION ALL SELECT 'USAGE, SELECT and no UPDATE on ' || s, has_sequence_privilege('oho_app', s, 'USAGE')
    AND has_sequence_privilege('oho_app', s, 'SELECT') AND NOT has_sequence_privilege('oho_app', s, 'UPDATE')
    FROM unnest(ARRAY['plans_id_seq', 'audit_events_id_seq']) AS s
UNION ALL SELECT 'the chain trigger runs as its owner, with search_path ' || current_schema() || ', pg_temp',
    prosecdef AND proconfig IS NOT DISTINCT FROM ARRAY[format('search_path=%I, pg_temp', current_schema())]
    FROM pg_proc WHERE oid = 'audit_events_chain()'::regprocedure
UNION ALL SELECT 'no EXECUTE of the chain trigger', NOT has_function_privilege('oho_app', 'audit_events_chain()', 'EXECUTE')
UNION ALL SELECT 'not a superuser', NOT rolsuper AND NOT rolbypassrls AND NOT rolcreaterole AND NOT rolcreatedb
    FROM pg_roles WHERE rolname = 'oho_app'`
	if err := db.Select(&checks, q); err != nil {
		t.Fatal(err)
	}
	if len(checks) != 8 {
		t.Errorf("got %d privilege checks, want 8: %+v", len(checks), checks)
	}
	for _, c := range checks {
		if !c.OK {
			t.Errorf("oho_app: want %s", c.What)
		}
	}
}

// TestLeastPrivilegeGrants checks what oho_app may do after the migrations,
// then applies 005 again over a database with records and checks that
// nothing changed: it is idempotent.
func TestLeastPrivilegeGrants(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t)
	wantAppPrivileges(t, db)

	if _, err := store.New(db).ImportOrg(ctx, store.ActorOperator, dbtest.Org("ACME")); err != nil {
		t.Fatal(err)
	}
	// Rights granted by hand beyond 005's are taken back by applying it.
	if _, err := db.ExecContext(ctx, `GRANT ALL ON audit_events, cycles TO oho_app`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, migration(t, "least_privilege").SQL); err != nil {
		t.Fatalf("applying 005 again: %v", err)
	}
	wantAppPrivileges(t, db)
	var people int
	if err := db.GetContext(ctx, &people, `SELECT count(*) FROM people`); err != nil || people == 0 {
		t.Errorf("got %d people (%v) after applying 005 again, want the imported ones", people, err)
	}
}

// migration returns the embedded migration of that name.
func migration(t *testing.T, name string) schema.Migration {
	t.Helper()
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m schema.Migration) bool { return m.Name == name })
	if i < 0 {
		t.Fatalf("no migration named %s", name)
	}
	return ms[i]
}

// applyUpTo applies the migrations before version, as the connection's
// role, recording them as Migrate would.
func applyUpTo(t *testing.T, db *sqlx.DB, version int) {
	t.Helper()
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version >= version {
			break
		}
		if _, err := db.Exec(m.SQL); err != nil {
			t.Fatalf("applying %s: %v", m, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrateAsTheOwner migrates a database as its owner, a role with no
// more rights than owning it, as `starter migrate` does with
// MIGRATION_DATABASE_URL: the migrations need no superuser, the chain
// trigger then moves the head for oho_app, and a table a later migration
// creates is oho_app's to use without a grant of its own.
func TestMigrateAsTheOwner(t *testing.T) {
	ctx := context.Background()
	admin, url := dbtest.NewEmpty(t)
	owner := dbtest.Open(t, dbtest.OwnerURL(t, url))
	app := dbtest.Open(t, dbtest.AppURL(t, url))

	var super bool
	if err := owner.GetContext(ctx, &super, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`); err != nil || super {
		t.Fatalf("the owner role is a superuser (%v): the test would prove nothing", err)
	}
	applied, err := schema.Migrate(ctx, owner.DB)
	if err != nil {
		t.Fatalf("migrating as the owner: %v", err)
	}
	if ms, _ := schema.Migrations(); len(applied) != len(ms) {
		t.Errorf("applied %v, want all %d migrations", applied, len(ms))
	}
	wantAppPrivileges(t, admin)
	var definer string
	if err := admin.GetContext(ctx, &definer, `SELECT proowner::regrole::text FROM pg_proc WHERE oid = 'audit_events_chain()'::regprocedure`); err != nil || definer != dbtest.OwnerRole {
		t.Errorf("the chain trigger runs as %q (%v), want %s, who migrated", definer, err, dbtest.OwnerRole)
	}

	s := store.New(app)
	if _, err := s.ImportOrg(ctx, store.ActorOperator, dbtest.Org("ACME")); err != nil {
		t.Fatalf("importing as oho_app: %v", err)
	}
	v, err := s.VerifyAudit(ctx)
	if err != nil || v.Broken != nil || v.Events == 0 {
		t.Fatalf("verifying as oho_app: %+v, %v; want the import's events chained", v, err)
	}

	// A later migration, run by the owner, adds a table with a sequence.
	if _, err := owner.ExecContext(ctx, `CREATE TABLE later_records (id bigserial PRIMARY KEY, note text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if got := appPrivileges(t, admin)["later_records"]; got != "SELECT INSERT UPDATE DELETE" {
		t.Errorf("oho_app on a table created after 005: got %q, want SELECT INSERT UPDATE DELETE", got)
	}
	for _, q := range []string{
		`INSERT INTO later_records (note) VALUES ('x')`,
		`UPDATE later_records SET note = 'y'`,
		`DELETE FROM later_records`,
	} {
		if _, err := app.ExecContext(ctx, q); err != nil {
			t.Errorf("%s as oho_app: %v", q, err)
		}
	}
	if _, err := app.ExecContext(ctx, `TRUNCATE later_records`); err == nil {
		t.Error("oho_app truncated a table created after 005, want it refused")
	}
}

// TestLeastPrivilegeMigrationNeedsTheRole applies 005 as if the role it
// grants to were missing (its name replaced by one that does not exist, as
// the role is cluster-wide and other tests need it): it fails and says what
// to do.
func TestLeastPrivilegeMigrationNeedsTheRole(t *testing.T) {
	db, _ := dbtest.New(t)
	missing := "oho_app_missing_" + strings.ReplaceAll(t.Name(), "/", "_")
	sql := strings.ReplaceAll(migration(t, "least_privilege").SQL, "oho_app", missing)
	_, err := db.Exec(sql)
	want := fmt.Sprintf("role %s does not exist: create it first (scripts/devenv.sh up does; see README)", missing)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestLeastPrivilegeMigrationNeedsTheOwner applies 005 as the database's
// owner over tables another role created (a development database migrated
// as postgres before the roles were split): rather than GRANTs that would
// only warn, it fails and names the object and its owner.
func TestLeastPrivilegeMigrationNeedsTheOwner(t *testing.T) {
	admin, url := dbtest.NewEmpty(t)
	applyUpTo(t, admin, migration(t, "least_privilege").Version)
	owner := dbtest.Open(t, dbtest.OwnerURL(t, url))
	var superuser string
	if err := admin.Get(&superuser, `SELECT current_user`); err != nil {
		t.Fatal(err)
	}
	_, err := owner.Exec(migration(t, "least_privilege").SQL)
	want := fmt.Sprintf("is owned by %s, not by %s, who runs the migrations", superuser, dbtest.OwnerRole)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error saying %q", err, want)
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	last, beforeLast := ms[len(ms)-1], ms[len(ms)-2]
	fix := "run 'starter migrate' (as the owning role)"
	for _, tc := range []struct {
		name  string
		setup string // run by the administrator on a migrated database
		empty bool   // a database never migrated
		want  string // "" for no error
		at    int    // BehindError.At, when one is wanted
	}{
		{name: "migrated"},
		{name: "a newer build's migration too", setup: `INSERT INTO schema_migrations (version, name) VALUES (999, 'later')`},
		{name: "never migrated", empty: true,
			want: fmt.Sprintf("the database has no OHO schema yet, this version of OHO needs %03d: %s", last.Version, fix)},
		{name: "the last migration missing", setup: fmt.Sprintf(`DELETE FROM schema_migrations WHERE version = %d`, last.Version),
			want: fmt.Sprintf("the database schema is at %03d, this version of OHO needs %03d: %s", beforeLast.Version, last.Version, fix),
			at:   beforeLast.Version},
		{name: "a migration in the middle missing", setup: `DELETE FROM schema_migrations WHERE version = 2`,
			want: fmt.Sprintf("the database schema is at %03d but lacks 002_tasks, which this version of OHO needs: %s", last.Version, fix),
			at:   last.Version},
		// Before 005 oho_app could not read schema_migrations at all.
		{name: "not readable", setup: `REVOKE SELECT ON schema_migrations FROM oho_app`,
			want: "cannot read which migrations the database has (permission denied for table schema_migrations): " + fix},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var admin *sqlx.DB
			var url string
			if tc.empty {
				admin, url = dbtest.NewEmpty(t)
			} else {
				admin, url = dbtest.New(t)
			}
			if tc.setup != "" {
				if _, err := admin.ExecContext(ctx, tc.setup); err != nil {
					t.Fatal(err)
				}
			}
			// As the programs call it: connected as the application role.
			err := schema.Check(ctx, dbtest.Open(t, dbtest.AppURL(t, url)).DB)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			var behind *schema.BehindError
			if errors.As(err, &behind) && (behind.At != tc.at || behind.Need != last.Version) {
				t.Errorf("got %+v, want At %d and Need %d", behind, tc.at, last.Version)
			}
		})
	}
}
