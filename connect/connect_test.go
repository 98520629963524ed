package connect_test

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/connect"
	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/workflows"
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

// TestWorkflowProvider reads the provider from every kind of workflow ID
// OHO makes, the runs of a yearly schedule included.
func TestWorkflowProvider(t *testing.T) {
	cycle := review.CycleID("HARJU-2", 2027)
	restarted := review.CycleRef{Provider: "DEMO", Year: 2027, Attempt: 2}.ID()
	scheduled := workflows.YearlyStartWorkflowID("HARJU-2") + "-" + time.Date(2027, 8, 1, 5, 0, 0, 0, time.UTC).Format(time.RFC3339)
	zoned := workflows.YearlyStartWorkflowID("DEMO") + "-" + time.Date(2027, 8, 1, 8, 0, 0, 0, time.FixedZone("EEST", 3*3600)).Format(time.RFC3339)
	for id, want := range map[string]string{
		cycle:                                   "HARJU-2",
		review.UnitReviewID(cycle, "NORTH"):     "HARJU-2",
		review.SignOffWorkflowID(cycle, "N", 3): "HARJU-2",
		restarted:                               "DEMO",
		review.UnitReviewID(restarted, "NORTH"): "DEMO",
		workflows.YearlyStartWorkflowID("DEMO"): "DEMO",
		scheduled:                               "HARJU-2",
		zoned:                                   "DEMO",
		workflows.YearlyStartWorkflowID("A-2027"): "A-2027",
		"bench-roundtrip-1":                       "",
		"yearly-start/DEMO/other":                 "",
		"":                                        "",
	} {
		if got := connect.WorkflowProvider(id); got != want {
			t.Errorf("WorkflowProvider(%q): got %q, want %q", id, got, want)
		}
	}
}

// TestTemporalRefusesUnreadableKeys stops the dial, before any server is
// contacted, with a line naming the key setting.
func TestTemporalRefusesUnreadableKeys(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	t.Setenv("OHO_PAYLOAD_KEYS", "")
	t.Setenv("OHO_PAYLOAD_ENCRYPTION", "")
	t.Setenv("OHO_PAYLOAD_KEYS_FILE", t.TempDir()+"/no-such-file")
	_, err := connect.Temporal(context.Background(), slog.New(slog.DiscardHandler))
	if err == nil || !strings.HasPrefix(err.Error(), "OHO_PAYLOAD_KEYS_FILE: cannot read the payload keys") {
		t.Errorf("got %v, want the key file's setting named", err)
	}
	t.Setenv("OHO_PAYLOAD_KEYS_FILE", "")
	t.Setenv("OHO_PAYLOAD_ENCRYPTION", "required")
	_, err = connect.Temporal(context.Background(), slog.New(slog.DiscardHandler))
	if err == nil || !strings.HasPrefix(err.Error(), "OHO_PAYLOAD_ENCRYPTION=required, but no payload keys are configured") {
		t.Errorf("got %v, want the missing keys named", err)
	}
}
