// Package schema holds OHO's PostgreSQL schema as embedded SQL migrations and
// applies them.
//
// Migrations are files named NNN_name.sql, applied in version order, each in
// its own transaction together with its row in schema_migrations. A session
// advisory lock serialises concurrent runs, so two deployments migrating at
// once apply each migration once.
//
// Migrate runs as the role that owns the schema (`starter migrate` with
// MIGRATION_DATABASE_URL); the programs connect as the application role,
// which may not change the schema (005_least_privilege.sql), and only Check
// that the database has every migration they were built with.
package schema

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/lib/pq"
)

//go:embed *.sql
var files embed.FS

// lockKey is the advisory lock key held while migrating ("oho" in ASCII), so
// that it does not collide with locks other applications take.
const lockKey = 0x6f686f

// Migration is one embedded migration file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

var fileName = regexp.MustCompile(`^(\d+)_([a-z0-9_]+)\.sql$`)

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("listing migrations: %w", err)
	}
	var out []Migration
	for _, name := range names {
		m := fileName.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("migration file %q is not named NNN_name.sql", name)
		}
		version, err := strconv.Atoi(m[1])
		if err != nil {
			return nil, fmt.Errorf("migration file %q: %w", name, err)
		}
		b, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading migration %q: %w", name, err)
		}
		out = append(out, Migration{Version: version, Name: m[2], SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("two migrations have version %d (%s and %s)", out[i].Version, out[i-1].Name, out[i].Name)
		}
	}
	return out, nil
}

// Migrate applies the migrations the database does not have yet and returns
// their names ("001_init"), in the order applied. It is safe to run again and
// from several processes at once.
func Migrate(ctx context.Context, db *sql.DB) (applied []string, err error) {
	migrations, err := Migrations()
	if err != nil {
		return nil, err
	}
	// A session-level advisory lock belongs to one connection, so the whole
	// run uses one dedicated connection from the pool.
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting to migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return nil, fmt.Errorf("taking the migration lock: %w", err)
	}
	defer func() {
		// Unlock even when ctx is done. If that fails the connection still
		// holds the lock, so it must not go back to the pool: ErrBadConn makes
		// database/sql close it, which releases the lock.
		_, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey)
		if uerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			if err == nil {
				err = fmt.Errorf("releasing the migration lock: %w", uerr)
			}
		}
	}()

	const create = `
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    int PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return nil, fmt.Errorf("creating schema_migrations: %w", err)
	}
	done, err := appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}
	for _, m := range migrations {
		if done[m.Version] {
			continue
		}
		if err := apply(ctx, conn, m); err != nil {
			return applied, err
		}
		applied = append(applied, m.String())
	}
	return applied, nil
}

// BehindError reports a database that lacks migrations this build of OHO was
// made with. Its message says what to run, for the operator who reads it as
// the one line a program stops with.
type BehindError struct {
	// At is the highest migration version the database has, 0 for none.
	At int
	// Need is the highest version this build embeds.
	Need int
	// Missing lists the embedded migrations the database lacks, as
	// "004_signatures", in version order.
	Missing []string
}

func (e *BehindError) Error() string {
	const fix = "run 'starter migrate' (as the owning role)"
	switch {
	case e.At == 0:
		return fmt.Sprintf("the database has no OHO schema yet, this version of OHO needs %03d: %s", e.Need, fix)
	case e.At >= e.Need:
		// Every version up to At was applied in order by Migrate, so this
		// takes a database migrated by hand or by a branch that numbered
		// its migrations differently.
		return fmt.Sprintf("the database schema is at %03d but lacks %s, which this version of OHO needs: %s",
			e.At, strings.Join(e.Missing, ", "), fix)
	}
	return fmt.Sprintf("the database schema is at %03d, this version of OHO needs %03d: %s", e.At, e.Need, fix)
}

// Check returns a *BehindError when the database lacks any embedded
// migration, and nil when it has them all. Migrations the database has and
// this build does not know do not stop it: during a rollout the database is
// migrated before the new programs replace the old ones.
//
// It only reads schema_migrations, which the application role may from
// 005_least_privilege on, so the programs call it at start instead of
// migrating. Before 005 that role may not read it at all, and Check says so.
func Check(ctx context.Context, db *sql.DB) error {
	migrations, err := Migrations()
	if err != nil {
		return err
	}
	const q = `SELECT version FROM schema_migrations`
	rows, err := db.QueryContext(ctx, q)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "42P01" { // undefined_table: never migrated
		return &BehindError{Need: migrations[len(migrations)-1].Version, Missing: names(migrations)}
	}
	if errors.As(err, &pqErr) && pqErr.Code == "42501" { // insufficient_privilege
		return fmt.Errorf("cannot read which migrations the database has (%s): run 'starter migrate' (as the owning role), "+
			"which grants the application role oho_app its rights, and connect as a member of oho_app", pqErr.Message)
	}
	if err != nil {
		return fmt.Errorf("reading applied migrations: %w", err)
	}
	done, err := scanVersions(rows)
	if err != nil {
		return err
	}
	behind := &BehindError{Need: migrations[len(migrations)-1].Version}
	for v := range done {
		behind.At = max(behind.At, v)
	}
	for _, m := range migrations {
		if !done[m.Version] {
			behind.Missing = append(behind.Missing, m.String())
		}
	}
	if len(behind.Missing) > 0 {
		return behind
	}
	return nil
}

// String names the migration as its file does, without ".sql": "001_init".
func (m Migration) String() string {
	return fmt.Sprintf("%03d_%s", m.Version, m.Name)
}

func names(ms []Migration) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.String()
	}
	return out
}

func appliedVersions(ctx context.Context, conn *sql.Conn) (map[int]bool, error) {
	const q = `SELECT version FROM schema_migrations`
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("reading applied migrations: %w", err)
	}
	return scanVersions(rows)
}

// scanVersions reads a column of migration versions and closes rows.
func scanVersions(rows *sql.Rows) (map[int]bool, error) {
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("reading applied migrations: %w", err)
		}
		done[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading applied migrations: %w", err)
	}
	return done, nil
}

func apply(ctx context.Context, conn *sql.Conn, m Migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("applying migration %03d_%s: %w", m.Version, m.Name, err)
	}
	defer tx.Rollback()
	// No arguments: lib/pq then uses the simple protocol, which runs a file of
	// several statements.
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("applying migration %03d_%s: %w", m.Version, m.Name, err)
	}
	const q = `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`
	if _, err := tx.ExecContext(ctx, q, m.Version, m.Name); err != nil {
		return fmt.Errorf("recording migration %03d_%s: %w", m.Version, m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing migration %03d_%s: %w", m.Version, m.Name, err)
	}
	return nil
}
