package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oho-dev/oho/schema"
)

// workerStopsAtStart runs a worker that must exit by itself and returns its
// exit status and output.
func (e *env) workerStopsAtStart() (code int, output string) {
	e.t.Helper()
	w := &worker{cmd: exec.Command(filepath.Join(binDir, "worker")), done: make(chan struct{})}
	w.cmd.Env = e.vars
	w.cmd.Stdout, w.cmd.Stderr = w, w
	if err := w.cmd.Start(); err != nil {
		e.t.Fatalf("starting the worker: %v", err)
	}
	go func() { _ = w.cmd.Wait(); close(w.done) }()
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		w.stop(syscall.SIGKILL)
		e.t.Fatalf("the worker did not stop by itself within 30s:\n%s", w.output())
	}
	return w.cmd.ProcessState.ExitCode(), w.output()
}

// TestMigrationsRunAsTheOwner walks the deployment order on a new database:
// a worker started before the migrations stops and says what to run;
// migrating as the application role, which is what a missing
// MIGRATION_DATABASE_URL amounts to here, is refused and says which variable
// to set; migrating as the owner works, and then the worker starts, as the
// application role.
func TestMigrationsRunAsTheOwner(t *testing.T) {
	e := newUnmigratedEnv(t)
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	last := ms[len(ms)-1]

	code, out := e.workerStopsAtStart()
	want := fmt.Sprintf("the database has no OHO schema yet, this version of OHO needs %03d: run 'starter migrate' (as the owning role)", last.Version)
	if code != 1 || !strings.Contains(out, want) {
		t.Errorf("a worker on an empty database: got exit %d and output\n%s\nwant exit 1 and %q", code, out, want)
	}
	if n := strings.Count(strings.TrimSpace(out), "\n"); n != 0 {
		t.Errorf("a worker on an empty database wrote %d lines, want the one that says what to run:\n%s", n+1, out)
	}

	// MIGRATION_DATABASE_URL unset: migrate falls back to DATABASE_URL.
	r := e.starterWith([]string{"MIGRATION_DATABASE_URL="}, "migrate")
	if r.code != 1 || !strings.Contains(r.stderr, "permission denied for schema public") || !strings.Contains(r.stderr, "MIGRATION_DATABASE_URL, which falls back to DATABASE_URL") {
		t.Errorf("migrate as the application role: got %s, want exit 1, the refusal and a word on MIGRATION_DATABASE_URL", r)
	}
	if n := e.count(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`); n != 0 {
		t.Errorf("the refused migration left %d tables, want none", n)
	}

	out = e.ok("migrate")
	if !strings.Contains(out, "applied 001_init\n") || !strings.HasSuffix(out, "applied "+last.String()+"\n") {
		t.Errorf("migrate as the owner printed %q, want every migration from 001_init to %s", out, last)
	}
	if got := e.ok("migrate"); got != "database schema is up to date\n" {
		t.Errorf("migrate again printed %q, want that the schema is up to date", got)
	}
	var owner string
	if err := e.db.Get(&owner, `SELECT tableowner FROM pg_tables WHERE tablename = 'audit_events'`); err != nil || owner != "oho_owner" {
		t.Errorf("audit_events is owned by %q (%v), want oho_owner, who migrated", owner, err)
	}

	// The worker keeps the sessions it opened at start in its pool.
	w := e.startWorker()
	var users []string
	if err := e.db.Select(&users, `SELECT DISTINCT usename FROM pg_stat_activity
WHERE datname = current_database() AND usename <> current_user ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(users, ",") != "oho_app" {
		t.Errorf("the worker's sessions log in as %v, want oho_app only", users)
	}
	w.stop(syscall.SIGTERM)
}
