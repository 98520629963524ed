package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/review"
)

// Org is an organisation file: a provider, its units and its people with
// their roles. Importing it makes the database match it.
type Org struct {
	Provider OrgProvider `json:"provider"`
	Units    []OrgUnit   `json:"units" validate:"required,min=1,max=500,dive"`
	People   []OrgPerson `json:"people" validate:"required,min=1,max=10000,dive"`
}

// OrgProvider is the education provider an org file describes.
type OrgProvider struct {
	Code string `json:"code" validate:"required,code"`
	Name string `json:"name" validate:"required,max=200"`
	// TimeZone is the IANA zone in which the provider's times are shown
	// (documents, notices, pages); empty means review.DefaultTimeZone.
	TimeZone string `json:"time_zone,omitempty" validate:"omitempty,timezone"`
}

// Zone is the provider's time zone: the one the file names, or
// review.DefaultTimeZone when it names none. A file is the whole truth about
// its provider, so a file without a zone puts the provider back in the
// default one.
func (p OrgProvider) Zone() string {
	if p.TimeZone == "" {
		return review.DefaultTimeZone
	}
	return p.TimeZone
}

// OrgUnit is a unit (a campus, a school) in an org file.
type OrgUnit struct {
	Code string `json:"code" validate:"required,code"`
	Name string `json:"name" validate:"required,max=200"`
}

// OrgPerson is a member of staff or a student representative in an org file,
// with every role they hold. Only their name and work e-mail are kept, never
// other personal details; the e-mail is where notices go, and without one
// they are only logged.
type OrgPerson struct {
	ID    string       `json:"id" validate:"required,person"`
	Name  string       `json:"name" validate:"required,max=200"`
	Email string       `json:"email" validate:"omitempty,email,max=254"`
	Roles []PersonRole `json:"roles" validate:"max=100,dive"`
	// OIDCSubject is the subject the person logs in with at an identity
	// provider that finds people by subject (MPASSid): for a student
	// representative's role account, the current representative's.
	OIDCSubject string `json:"oidc_subject,omitempty" validate:"omitempty,max=255"`
}

// PersonRole is a role a person holds in a unit, or for the whole provider
// when Unit is empty.
type PersonRole struct {
	Role review.Role `db:"role" json:"role" validate:"required,oneof=manager unit_head welfare_staff student_rep plan_editor approver auditor"`
	Unit string      `db:"unit_code" json:"unit,omitempty" validate:"omitempty,code"`
}

// Validate checks the file: its fields, and then the rules that span fields.
// Unit codes and person IDs are unique; a role's unit must be one of the
// file's units; unit heads, welfare staff and student representatives work
// for a unit, plan editors and approvers for the whole provider. The error
// wraps ErrInvalid and lists every problem found.
//
// Uniqueness is checked here rather than with the validator's unique tag so
// that the message can name the code or ID that is listed twice.
func (o Org) Validate() error {
	var problems []string
	if err := check.Struct(o); err != nil {
		problems = append(problems, err.Error())
	}
	units := make([]string, len(o.Units))
	for i, u := range o.Units {
		if slices.Contains(units[:i], u.Code) {
			problems = append(problems, fmt.Sprintf("units[%d]: unit code %q is listed twice", i, u.Code))
		}
		units[i] = u.Code
	}
	ids := map[string]bool{}
	subjects := map[string]string{}
	for i, p := range o.People {
		if ids[p.ID] {
			problems = append(problems, fmt.Sprintf("people[%d]: person ID %q is listed twice", i, p.ID))
		}
		ids[p.ID] = true
		if p.OIDCSubject != "" {
			if other, ok := subjects[p.OIDCSubject]; ok {
				problems = append(problems, fmt.Sprintf("people[%d]: oidc_subject %q is also person %q's", i, p.OIDCSubject, other))
			}
			subjects[p.OIDCSubject] = p.ID
		}
		if slices.Contains(ReservedActors, p.ID) {
			problems = append(problems, fmt.Sprintf("people[%d]: person ID %q is reserved: the audit trail uses it for %s", i, p.ID, reservedFor[p.ID]))
		}
	}
	for i, p := range o.People {
		seen := map[PersonRole]bool{}
		for j, r := range p.Roles {
			where := fmt.Sprintf("person %q (people[%d].roles[%d])", p.ID, i, j)
			if r.Unit != "" && !slices.Contains(units, r.Unit) {
				problems = append(problems, fmt.Sprintf("%s: unit %q is not one of the file's units (%s)", where, r.Unit, listSome(units)))
			}
			// The roles a cycle needs in every unit are held in a unit, those
			// it needs for the provider provider-wide; the manager and the
			// auditor may be either.
			if slices.Contains(review.RequiredUnitRoles, r.Role) && r.Unit == "" {
				problems = append(problems, fmt.Sprintf("%s: %s needs a unit", where, r.Role))
			}
			if slices.Contains(review.RequiredProviderRoles, r.Role) && r.Unit != "" {
				problems = append(problems, fmt.Sprintf("%s: %s is provider-wide, so its unit must be empty (got %q)", where, r.Role, r.Unit))
			}
			if seen[r] {
				problems = append(problems, fmt.Sprintf("%s: %s is listed twice", where, review.Pool(r.Role, r.Unit)))
			}
			seen[r] = true
		}
	}
	if len(problems) > maxProblems {
		problems = append(problems[:maxProblems], fmt.Sprintf("and %d more problems", len(problems)-maxProblems))
	}
	if len(problems) > 0 {
		return errorf(ErrInvalid, "%s", strings.Join(problems, "; "))
	}
	return nil
}

// maxProblems is how many problems of an organisation file its refusal
// names: a file of ten thousand people with a unit misspelt would name it
// ten thousand times in one line otherwise.
const maxProblems = 10

// listSome lists codes for a message, the first ten of a long list.
func listSome(codes []string) string {
	if len(codes) > 10 {
		return strings.Join(codes[:10], ", ") + fmt.Sprintf(" and %d more", len(codes)-10)
	}
	return strings.Join(codes, ", ")
}

// ReservedActors are the actor IDs of the audit trail that are no person's:
// nobody may be given one of them as ID.
var ReservedActors = []string{ActorSystem, ActorOperator}

var reservedFor = map[string]string{
	ActorSystem:   "what the workflows do by themselves",
	ActorOperator: "the operator at the command line",
}

// ImportResult tells what an import changed; importing the same file again
// changes nothing.
type ImportResult struct {
	Added   int      `json:"added"`
	Changed int      `json:"changed"`
	Removed int      `json:"removed"`
	Changes []string `json:"changes"`
}

// ImportOrg makes the database match the org file in one transaction, on
// the actor's behalf (recorded in the audit trail): it
// adds or renames the provider, its units and its people, and makes each
// listed person's roles exactly those in the file. Units and people the file
// does not list are kept, because past cycles refer to them. A person ID that
// belongs to another provider is refused with ErrDuplicate.
func (s *Store) ImportOrg(ctx context.Context, actor string, org Org) (ImportResult, error) {
	res := ImportResult{Changes: []string{}}
	if err := org.Validate(); err != nil {
		return res, fmt.Errorf("importing org: %w", err)
	}
	code := org.Provider.Code
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		res = ImportResult{Changes: []string{}}
		if err := refuseForeignPeople(ctx, tx, org); err != nil {
			return err
		}
		if err := refuseDeparted(ctx, tx, org); err != nil {
			return err
		}
		note := func(added, changed bool, what string) {
			switch {
			case added:
				res.Added++
				res.Changes = append(res.Changes, what+" added")
			case changed:
				res.Changed++
				res.Changes = append(res.Changes, what+" renamed")
			}
		}

		// The provider as it was, so that a change says what it changed
		// from: the audit trail never hides an earlier value it can keep.
		var was struct {
			Name     string `db:"name"`
			TimeZone string `db:"time_zone"`
		}
		const qWas = `SELECT name, time_zone FROM providers WHERE code = $1 FOR UPDATE`
		if err := sqlx.GetContext(ctx, tx, &was, qWas, code); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("reading provider %s: %w", code, dbError(err))
		}
		const qProvider = `
INSERT INTO providers (code, name, time_zone) VALUES ($1, $2, $3)
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, time_zone = EXCLUDED.time_zone
WHERE (providers.name, providers.time_zone) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.time_zone)
RETURNING (xmax = 0) AS inserted`
		zone := org.Provider.Zone()
		added, changed, err := upsert(ctx, tx, qProvider, code, org.Provider.Name, zone)
		if err != nil {
			return fmt.Errorf("importing provider %s: %w", code, err)
		}
		switch {
		case changed && was.TimeZone != zone:
			what := "provider " + code
			if was.Name != org.Provider.Name {
				what += " renamed and"
			}
			res.Changed++
			res.Changes = append(res.Changes, fmt.Sprintf("%s time zone changed from %s to %s", what, was.TimeZone, zone))
		default:
			note(added, changed, "provider "+code)
		}

		const qUnit = `
INSERT INTO units (provider_code, code, name) VALUES ($1, $2, $3)
ON CONFLICT (provider_code, code) DO UPDATE SET name = EXCLUDED.name
WHERE units.name IS DISTINCT FROM EXCLUDED.name
RETURNING (xmax = 0) AS inserted`
		for _, u := range org.Units {
			added, changed, err := upsert(ctx, tx, qUnit, code, u.Code, u.Name)
			if err != nil {
				return fmt.Errorf("importing unit %s: %w", u.Code, err)
			}
			note(added, changed, "unit "+u.Code)
		}

		const qPerson = `
INSERT INTO people (id, provider_code, name, email, oidc_subject) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, oidc_subject = EXCLUDED.oidc_subject
WHERE (people.name, people.email, people.oidc_subject) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.email, EXCLUDED.oidc_subject)
  AND people.provider_code = EXCLUDED.provider_code
RETURNING (xmax = 0) AS inserted`
		// A login subject that moves to another person (a new student
		// representative) is first taken from the one who had it, so that
		// the unique index sees no two people with it at any moment.
		var subjects, holders []string
		for _, p := range org.People {
			if p.OIDCSubject != "" {
				subjects, holders = append(subjects, p.OIDCSubject), append(holders, p.ID)
			}
		}
		const qMoved = `
UPDATE people p SET oidc_subject = ''
FROM unnest($2::text[], $3::text[]) AS f(subject, person)
WHERE p.provider_code = $1 AND p.oidc_subject = f.subject AND p.id <> f.person
RETURNING p.id`
		var lost []string
		if err := sqlx.SelectContext(ctx, tx, &lost, qMoved, code, pq.Array(subjects), pq.Array(holders)); err != nil {
			return fmt.Errorf("moving login subjects: %w", dbError(err))
		}
		for _, id := range lost {
			res.Changed++
			res.Changes = append(res.Changes, "person "+id+" changed")
		}
		for _, p := range org.People {
			added, changed, err := upsert(ctx, tx, qPerson, p.ID, code, p.Name, p.Email, p.OIDCSubject)
			if err != nil {
				return fmt.Errorf("importing person %s: %w", p.ID, err)
			}
			if changed {
				// A person's name or e-mail changed; "renamed" would not say which.
				res.Changed++
				res.Changes = append(res.Changes, "person "+p.ID+" changed")
			} else {
				note(added, false, "person "+p.ID)
			}
			if err := syncRoles(ctx, tx, p, &res); err != nil {
				return err
			}
		}

		if res.Added+res.Changed+res.Removed == 0 {
			return nil
		}
		payload := map[string]any{"provider": code, "added": res.Added, "changed": res.Changed, "removed": res.Removed, "changes": res.Changes}
		return record(ctx, tx, actor, ActionOrgImported, "provider/"+code, "", payload)
	})
	if err != nil {
		return ImportResult{Changes: []string{}}, err
	}
	return res, nil
}

// refuseForeignPeople refuses a file that lists people of another provider:
// a person ID names one person everywhere, and an import must not move them.
func refuseForeignPeople(ctx context.Context, q sqlx.QueryerContext, org Org) error {
	ids := make([]string, len(org.People))
	for i, p := range org.People {
		ids[i] = p.ID
	}
	const qForeign = `
SELECT id || ' (of ' || provider_code || ')' FROM people
WHERE id = ANY($1) AND provider_code <> $2
ORDER BY id`
	var foreign []string
	if err := sqlx.SelectContext(ctx, q, &foreign, qForeign, pq.Array(ids), org.Provider.Code); err != nil {
		return fmt.Errorf("checking person IDs: %w", dbError(err))
	}
	if len(foreign) > 0 {
		return errorf(ErrDuplicate, "importing org: these person IDs already belong to another provider: %s", strings.Join(foreign, ", "))
	}
	return nil
}

// refuseDeparted refuses a file that lists people who left and were
// pseudonymised (departed_people, 018): adding them again would make a new,
// active person of someone who left. A person who returns gets a new ID.
func refuseDeparted(ctx context.Context, q sqlx.QueryerContext, org Org) error {
	byHash := map[string]string{}
	hashes := make([]string, 0, len(org.People))
	for _, p := range org.People {
		sum := sha256.Sum256([]byte(p.ID))
		h := hex.EncodeToString(sum[:])
		byHash[h] = p.ID
		hashes = append(hashes, h)
	}
	var found []string
	if err := sqlx.SelectContext(ctx, q, &found, `SELECT id_hash FROM departed_people WHERE id_hash = ANY($1)`, pq.Array(hashes)); err != nil {
		return fmt.Errorf("checking person IDs: %w", dbError(err))
	}
	if len(found) == 0 {
		return nil
	}
	ids := make([]string, len(found))
	for i, h := range found {
		ids[i] = byHash[h]
	}
	slices.Sort(ids)
	return errorf(ErrInvalid, "importing org: these people left and were pseudonymised, so they are not added again: %s; remove them from the file (a person who returns gets a new ID)",
		strings.Join(ids, ", "))
}

// upsert runs an INSERT … ON CONFLICT DO UPDATE … WHERE changed RETURNING
// (xmax = 0) and reports whether it added a row or changed one; no row back
// means the row was already as asked.
func upsert(ctx context.Context, q sqlx.QueryerContext, query string, args ...any) (added, changed bool, err error) {
	var inserted bool
	err = q.QueryRowxContext(ctx, query, args...).Scan(&inserted)
	switch {
	case err == nil:
		return inserted, !inserted, nil
	case errors.Is(err, sql.ErrNoRows):
		return false, false, nil
	default:
		return false, false, dbError(err)
	}
}

// syncRoles makes the person's roles exactly those listed.
func syncRoles(ctx context.Context, tx *sqlx.Tx, p OrgPerson, res *ImportResult) error {
	const qCurrent = `SELECT role, unit_code FROM person_roles WHERE person_id = $1 ORDER BY role, unit_code`
	var current []PersonRole
	if err := sqlx.SelectContext(ctx, tx, &current, qCurrent, p.ID); err != nil {
		return fmt.Errorf("reading roles of %s: %w", p.ID, dbError(err))
	}
	for _, r := range current {
		if slices.Contains(p.Roles, r) {
			continue
		}
		const qDelete = `DELETE FROM person_roles WHERE person_id = $1 AND role = $2 AND unit_code = $3`
		if _, err := tx.ExecContext(ctx, qDelete, p.ID, r.Role, r.Unit); err != nil {
			return fmt.Errorf("removing role %s of %s: %w", r.Role, p.ID, dbError(err))
		}
		res.Removed++
		res.Changes = append(res.Changes, fmt.Sprintf("role %s of %s removed", review.Pool(r.Role, r.Unit), p.ID))
	}
	for _, r := range p.Roles {
		if slices.Contains(current, r) {
			continue
		}
		const qInsert = `INSERT INTO person_roles (person_id, role, unit_code) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`
		if _, err := tx.ExecContext(ctx, qInsert, p.ID, r.Role, r.Unit); err != nil {
			return fmt.Errorf("adding role %s of %s: %w", r.Role, p.ID, dbError(err))
		}
		res.Added++
		res.Changes = append(res.Changes, fmt.Sprintf("role %s of %s added", review.Pool(r.Role, r.Unit), p.ID))
	}
	return nil
}

// CheckReady reports whether the provider can start a cycle: it must have
// been imported, and every unit needs people in review.RequiredUnitRoles
// and the provider people in review.RequiredProviderRoles. The error wraps
// ErrNotFound or ErrNotReady and lists every missing role holder.
func (s *Store) CheckReady(ctx context.Context, provider string) error {
	return checkReady(ctx, s.db, provider)
}

func checkReady(ctx context.Context, q sqlx.QueryerContext, provider string) error {
	if err := providerExists(ctx, q, provider); err != nil {
		return err
	}
	var units []string
	const qUnits = `SELECT code FROM units WHERE provider_code = $1 ORDER BY code`
	if err := sqlx.SelectContext(ctx, q, &units, qUnits, provider); err != nil {
		return fmt.Errorf("reading units of %s: %w", provider, dbError(err))
	}
	var held []PersonRole
	const qHeld = `
SELECT DISTINCT pr.role, pr.unit_code
FROM person_roles pr JOIN people p ON p.id = pr.person_id
WHERE p.provider_code = $1`
	if err := sqlx.SelectContext(ctx, q, &held, qHeld, provider); err != nil {
		return fmt.Errorf("reading roles of %s: %w", provider, dbError(err))
	}
	var missing []string
	if len(units) == 0 {
		missing = append(missing, "it has no units")
	}
	for _, u := range units {
		for _, role := range review.RequiredUnitRoles {
			if !slices.Contains(held, PersonRole{Role: role, Unit: u}) {
				missing = append(missing, fmt.Sprintf("unit %s has no %s", u, role))
			}
		}
	}
	for _, role := range review.RequiredProviderRoles {
		if !slices.Contains(held, PersonRole{Role: role}) {
			missing = append(missing, fmt.Sprintf("the provider has no %s", role))
		}
	}
	if len(missing) > 0 {
		return errorf(ErrNotReady, "provider %q cannot start a cycle: %s; import an org file that fills these roles",
			provider, strings.Join(missing, "; "))
	}
	return nil
}

func providerExists(ctx context.Context, q sqlx.QueryerContext, provider string) error {
	var exists bool
	const qExists = `SELECT EXISTS (SELECT 1 FROM providers WHERE code = $1)`
	if err := sqlx.GetContext(ctx, q, &exists, qExists, provider); err != nil {
		return fmt.Errorf("reading provider %s: %w", provider, dbError(err))
	}
	if !exists {
		return errorf(ErrNotFound, "provider %q has not been imported", provider)
	}
	return nil
}

// ProviderTimeZone returns the IANA name of the provider's time zone
// (review.DefaultTimeZone unless its organisation file names another);
// ErrNotFound when the provider has not been imported.
func (s *Store) ProviderTimeZone(ctx context.Context, provider string) (string, error) {
	var zone string
	const q = `SELECT time_zone FROM providers WHERE code = $1`
	if err := sqlx.GetContext(ctx, s.db, &zone, q, provider); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", errorf(ErrNotFound, "provider %q has not been imported", provider)
		}
		return "", fmt.Errorf("reading the time zone of provider %s: %w", provider, dbError(err))
	}
	return zone, nil
}

// Person is someone who works in a provider's welfare planning, with roles.
type Person struct {
	ID       string       `db:"id" json:"id"`
	Provider string       `db:"provider_code" json:"provider"`
	Name     string       `db:"name" json:"name"`
	Email    string       `db:"email" json:"email,omitempty"`
	Roles    []PersonRole `db:"-" json:"roles"`
	// DisabledAt is when the person was disabled: they may not log in, and
	// nobody may act for them.
	DisabledAt *time.Time `db:"disabled_at" json:"disabled_at,omitempty"`
	// Language is the language the person chose for the pages, "fi" or
	// "en"; empty until they choose.
	Language string `db:"language" json:"language,omitempty"`
}

// Person returns the person with the ID and their roles, ordered by role and
// unit.
func (s *Store) Person(ctx context.Context, id string) (Person, error) {
	var p Person
	const q = `
SELECT p.id, p.provider_code, p.name, p.email, a.disabled_at, coalesce(a.language, '') AS language
FROM people p LEFT JOIN accounts a ON a.person_id = p.id
WHERE p.id = $1`
	if err := sqlx.GetContext(ctx, s.db, &p, q, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Person{}, errorf(ErrNotFound, "person %q is not known", id)
		}
		return Person{}, fmt.Errorf("reading person %s: %w", id, dbError(err))
	}
	const qRoles = `SELECT role, unit_code FROM person_roles WHERE person_id = $1 ORDER BY role, unit_code`
	p.Roles = []PersonRole{}
	if err := sqlx.SelectContext(ctx, s.db, &p.Roles, qRoles, id); err != nil {
		return Person{}, fmt.Errorf("reading roles of %s: %w", id, dbError(err))
	}
	return p, nil
}
