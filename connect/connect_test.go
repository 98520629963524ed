package connect_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/oho-dev/oho/connect"
	"github.com/oho-dev/oho/dbtest"
)

func TestMigrationDatabaseURL(t *testing.T) {
	const app, owner = "postgres://app@db.example/oho", "postgres://owner@db.example/oho"
	for _, tc := range []struct {
		name, databaseURL, migrationURL, want string
	}{
		{"both set", app, owner, owner},
		{"one role for everything", app, "", app},
		{"development defaults", "", "", connect.DefaultMigrationDatabaseURL},
		{"only the migration URL", "", owner, owner},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DATABASE_URL", tc.databaseURL)
			t.Setenv("MIGRATION_DATABASE_URL", tc.migrationURL)
			if got := connect.MigrationDatabaseURL(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestMissingRoleSaysWhereRolesComeFrom logs in as a role that does not
// exist, as a machine set up before the roles were split does.
func TestMissingRoleSaysWhereRolesComeFrom(t *testing.T) {
	_, databaseURL := dbtest.New(t)
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User("oho_no_such_role")
	t.Setenv("DATABASE_URL", u.String())
	t.Setenv("MIGRATION_DATABASE_URL", u.String())
	for name, open := range map[string]func(context.Context) error{
		"Database":          func(ctx context.Context) error { _, err := connect.Database(ctx); return err },
		"MigrationDatabase": func(ctx context.Context) error { _, err := connect.MigrationDatabase(ctx); return err },
	} {
		err := open(context.Background())
		if err == nil || !strings.Contains(err.Error(), `role "oho_no_such_role" does not exist`) ||
			!strings.Contains(err.Error(), "'make up' creates the development roles") {
			t.Errorf("%s: got %v, want the missing role named and where roles come from", name, err)
		}
	}
}
