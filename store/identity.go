package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/review"
)

// Audit actions of identity: logins and what gives or takes away the
// means to log in.
const (
	ActionLoginSucceeded = "login.succeeded"
	ActionLoginFailed    = "login.failed"
	ActionLoginLocked    = "login.locked"
	ActionLogout         = "logout"
	ActionInvitationSent = "invitation.sent"
	ActionPasswordSet    = "password.set"
	ActionPersonDisabled = "person.disabled"
	ActionTokenCreated   = "token.created"
	ActionTokenRevoked   = "token.revoked"
	// ActionPersonExported records that someone read everything OHO holds
	// about a person (their right of access): a read, but one of all of a
	// person's data at once, which the person may ask about.
	ActionPersonExported = "person.exported"
	// ActionPayloadsDecoded records that a person read a provider's
	// workflow payloads decrypted: through the codec server (at most once an
	// hour per person and provider: service.DecodePayloads), or in an audit
	// export (every export that decrypted any: service.AuditExport).
	ActionPayloadsDecoded = "payloads.decoded"
)

// PersonSubject is the audit subject of events about a person's identity.
func PersonSubject(person string) string { return "person/" + person }

// Account is what logging in with a password needs of a person.
type Account struct {
	Person       string     `db:"person_id"`
	Provider     string     `db:"provider_code"`
	PasswordHash string     `db:"password_hash"`
	DisabledAt   *time.Time `db:"disabled_at"`
}

// Account returns the person's account: their password hash (” when none
// is set) and whether they are disabled. An unknown person is ErrNotFound.
func (s *Store) Account(ctx context.Context, person string) (Account, error) {
	var a Account
	const q = `
SELECT p.id AS person_id, p.provider_code, COALESCE(a.password_hash, '') AS password_hash, a.disabled_at
FROM people p LEFT JOIN accounts a ON a.person_id = p.id
WHERE p.id = $1`
	err := sqlx.GetContext(ctx, s.db, &a, q, person)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, errorf(ErrNotFound, "person %q is not known", person)
	}
	if err != nil {
		return Account{}, fmt.Errorf("reading the account of %s: %w", person, dbError(err))
	}
	return a, nil
}

// BeginLogin records a password login's attempt at the time, as a failure
// until FinishLogin says otherwise, and counts the failed attempts since
// the time since of the person (as typed) and from the address, this one
// included. Recording before counting makes guesses sent at once count
// against each other. It returns the attempt's ID.
func (s *Store) BeginLogin(ctx context.Context, at time.Time, person, address string, since time.Time) (id int64, byPerson, byAddress int, err error) {
	const qInsert = `INSERT INTO login_attempts (at, person_id, address, ok) VALUES ($1, $2, $3, false) RETURNING id`
	if err := s.db.QueryRowxContext(ctx, qInsert, at, person, address).Scan(&id); err != nil {
		return 0, 0, 0, fmt.Errorf("recording a login attempt: %w", dbError(err))
	}
	const qCount = `
SELECT (SELECT count(*) FROM login_attempts WHERE NOT ok AND person_id = $1 AND at >= $3),
       (SELECT count(*) FROM login_attempts WHERE NOT ok AND address = $2 AND at >= $3)`
	if err := s.db.QueryRowxContext(ctx, qCount, person, address, since).Scan(&byPerson, &byAddress); err != nil {
		return 0, 0, 0, fmt.Errorf("counting failed logins: %w", dbError(err))
	}
	return id, byPerson, byAddress, nil
}

// FinishLogin records a login attempt's outcome: the audit events, and, for
// a success, the attempt no longer counting as a failure.
func (s *Store) FinishLogin(ctx context.Context, id int64, ok bool, events ...IdentityEvent) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if ok {
			if _, err := tx.ExecContext(ctx, `UPDATE login_attempts SET ok = true WHERE id = $1`, id); err != nil {
				return fmt.Errorf("recording a login: %w", dbError(err))
			}
		}
		return recordIdentity(ctx, tx, events)
	})
}

// PruneLoginAttempts deletes the login attempts from before the time: only
// recent failures count, and the audit trail keeps every attempt.
func (s *Store) PruneLoginAttempts(ctx context.Context, before time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_attempts WHERE at < $1`, before); err != nil {
		return fmt.Errorf("pruning login attempts: %w", dbError(err))
	}
	return nil
}

// IdentityEvent is an audit event about a person's identity, recorded with
// the context's channel (WithVia).
type IdentityEvent struct {
	Actor  string
	Action string
	// Person is whose identity the event is about; its subject is
	// PersonSubject(Person) unless Subject says otherwise (an address
	// locked out).
	Person  string
	Subject string
	Payload map[string]any
}

// RecordIdentity records audit events about identity that change nothing
// else: a login through an identity provider, a logout.
func (s *Store) RecordIdentity(ctx context.Context, events ...IdentityEvent) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return recordIdentity(ctx, tx, events) })
}

func recordIdentity(ctx context.Context, ext sqlx.ExtContext, events []IdentityEvent) error {
	for _, e := range events {
		payload := e.Payload
		if payload == nil {
			payload = map[string]any{}
		}
		subject := e.Subject
		if subject == "" {
			subject = PersonSubject(e.Person)
		}
		if err := record(ctx, ext, e.Actor, e.Action, subject, "", payload); err != nil {
			return err
		}
	}
	return nil
}

// PersonByLogin finds the person of the provider an identity provider's
// claim names: by e-mail (case-insensitively) or by the recorded subject.
// Nobody, or more than one person with that e-mail, is ErrNotFound.
func (s *Store) PersonByLogin(ctx context.Context, provider, match, value string) (string, error) {
	var q string
	switch match {
	case "email":
		q = `SELECT id FROM people WHERE provider_code = $1 AND email <> '' AND lower(email) = lower($2)`
	case "subject":
		q = `SELECT id FROM people WHERE provider_code = $1 AND oidc_subject <> '' AND oidc_subject = $2`
	default:
		return "", errorf(ErrInvalid, "people are found by email or subject, not %q", match)
	}
	var ids []string
	if err := sqlx.SelectContext(ctx, s.db, &ids, q, provider, value); err != nil {
		return "", fmt.Errorf("finding the person who logged in: %w", dbError(err))
	}
	switch len(ids) {
	case 1:
		return ids[0], nil
	case 0:
		return "", errorf(ErrNotFound, "no person of provider %s has the %s %q", provider, match, value)
	}
	return "", errorf(ErrNotFound, "%d people of provider %s have the %s %q, so it does not say who logged in", len(ids), provider, match, value)
}

// Invite records a link to set the person's password (only its secret's
// hash) that expires at the time, supersedes the person's earlier unused
// links, and queues the invitation's notice — with the secret, which the
// sender removes once it has delivered it — in one transaction. It returns
// the e-mail address the invitation goes to.
func (s *Store) Invite(ctx context.Context, actor, person, secret, secretHash string, expires time.Time) (string, error) {
	var email string
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var p struct {
			Provider string `db:"provider_code"`
			Email    string `db:"email"`
		}
		if err := sqlx.GetContext(ctx, tx, &p, `SELECT provider_code, email FROM people WHERE id = $1`, person); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errorf(ErrNotFound, "person %q is not known", person)
			}
			return fmt.Errorf("reading person %s: %w", person, dbError(err))
		}
		if p.Email == "" {
			return errorf(ErrInvalid, "person %s has no e-mail address to send the invitation to (add one in the organisation file)", person)
		}
		email = p.Email
		const qSupersede = `
UPDATE password_links SET superseded_at = now()
WHERE person_id = $1 AND used_at IS NULL AND superseded_at IS NULL`
		if _, err := tx.ExecContext(ctx, qSupersede, person); err != nil {
			return fmt.Errorf("superseding earlier invitations of %s: %w", person, dbError(err))
		}
		const qLink = `INSERT INTO password_links (secret_hash, person_id, created_by, expires_at) VALUES ($1, $2, $3, $4)`
		if _, err := tx.ExecContext(ctx, qLink, secretHash, person, actor, expires); err != nil {
			return fmt.Errorf("recording the invitation of %s: %w", person, dbError(err))
		}
		facts := review.NoticeFacts{Kind: review.NoticeInvitation, Actor: actor, Provider: p.Provider, Secret: secret, ExpiresAt: expires.UTC()}
		// The link's hash makes the notice's ID: unique per invitation,
		// and saying nothing of the secret.
		if err := queueNotices(ctx, tx, facts, "", noticeID(review.NoticeInvitation, secretHash[:16]), []string{person}); err != nil {
			return err
		}
		return recordIdentity(ctx, tx, []IdentityEvent{{Actor: actor, Action: ActionInvitationSent, Person: person,
			Payload: map[string]any{"email": email, "expires_at": expires.UTC()}}})
	})
	return email, err
}

// SetPassword uses a link to set a password, from the address: in one
// transaction it takes
// the link if it is neither used, superseded nor expired, checks the
// password against the person's policy (check, which gets the person's ID),
// stores the hash hash returns and records it. A link that cannot be used
// is ErrNotFound, whatever the reason, so that a guess learns nothing.
func (s *Store) SetPassword(ctx context.Context, secretHash, address string, check func(person string) error, hash func() (string, error)) (string, error) {
	var person string
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		const qLink = `
SELECT person_id FROM password_links
WHERE secret_hash = $1 AND used_at IS NULL AND superseded_at IS NULL AND expires_at > now()
FOR UPDATE`
		if err := sqlx.GetContext(ctx, tx, &person, qLink, secretHash); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errorf(ErrNotFound, "the link is not valid")
			}
			return fmt.Errorf("reading the link: %w", dbError(err))
		}
		if err := check(person); err != nil {
			return err
		}
		h, err := hash()
		if err != nil {
			return err
		}
		const qAccount = `
INSERT INTO accounts (person_id, password_hash, password_set_at) VALUES ($1, $2, now())
ON CONFLICT (person_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, password_set_at = now()`
		if _, err := tx.ExecContext(ctx, qAccount, person, h); err != nil {
			return fmt.Errorf("storing the password of %s: %w", person, dbError(err))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE password_links SET used_at = now() WHERE secret_hash = $1`, secretHash); err != nil {
			return fmt.Errorf("using the link: %w", dbError(err))
		}
		return recordIdentity(ctx, tx, []IdentityEvent{{Actor: person, Action: ActionPasswordSet, Person: person,
			Payload: map[string]any{"address": address}}})
	})
	return person, err
}

// SetPasswordByOperator stores a password hash for a person whom the
// operator gives a password from the server's console (a first manager on a
// machine without mail, the demo's people), and records who set it.
func (s *Store) SetPasswordByOperator(ctx context.Context, actor, person, hash string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		const qAccount = `
INSERT INTO accounts (person_id, password_hash, password_set_at) VALUES ($1, $2, now())
ON CONFLICT (person_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, password_set_at = now()`
		if _, err := tx.ExecContext(ctx, qAccount, person, hash); err != nil {
			return fmt.Errorf("storing the password of %s: %w", person, dbError(err))
		}
		return recordIdentity(ctx, tx, []IdentityEvent{{Actor: actor, Action: ActionPasswordSet, Person: person,
			Payload: map[string]any{"by": "operator"}}})
	})
}

// Disable disables a person: no login of any kind, no session or token of
// theirs works, nobody acts for them, and their open invitations close. Disabling a disabled person changes
// nothing.
func (s *Store) Disable(ctx context.Context, actor, person, reason string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		// Open invitations of the person close with the account.
		const qLinks = `UPDATE password_links SET superseded_at = now() WHERE person_id = $1 AND used_at IS NULL AND superseded_at IS NULL`
		if _, err := tx.ExecContext(ctx, qLinks, person); err != nil {
			return fmt.Errorf("closing the invitations of %s: %w", person, dbError(err))
		}
		const q = `
INSERT INTO accounts (person_id, disabled_at, disabled_by, disabled_reason) VALUES ($1, now(), $2, $3)
ON CONFLICT (person_id) DO UPDATE SET disabled_at = now(), disabled_by = $2, disabled_reason = $3
WHERE accounts.disabled_at IS NULL`
		res, err := tx.ExecContext(ctx, q, person, actor, reason)
		if err != nil {
			return fmt.Errorf("disabling %s: %w", person, dbError(err))
		}
		if n, err := rowsAffected(res); err != nil || n == 0 {
			return err
		}
		return recordIdentity(ctx, tx, []IdentityEvent{{Actor: actor, Action: ActionPersonDisabled, Person: person,
			Payload: map[string]any{"reason": reason}}})
	})
}

// SetLanguage remembers the language a person chose for the pages ("fi" or
// "en"). It is a preference, not part of the review, so it is not audited.
func (s *Store) SetLanguage(ctx context.Context, person, language string) error {
	const q = `
INSERT INTO accounts (person_id, language) VALUES ($1, $2)
ON CONFLICT (person_id) DO UPDATE SET language = $2`
	if _, err := s.db.ExecContext(ctx, q, person, language); err != nil {
		return fmt.Errorf("remembering the language of %s: %w", person, dbError(err))
	}
	return nil
}

// Token is an API token as its person sees it: never its secret.
type Token struct {
	ID         string     `db:"id" json:"id"`
	Person     string     `db:"person_id" json:"person"`
	Name       string     `db:"name" json:"name"`
	Scope      string     `db:"scope" json:"scope"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	ExpiresAt  time.Time  `db:"expires_at" json:"expires_at"`
	RevokedAt  *time.Time `db:"revoked_at" json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `db:"last_used_at" json:"last_used_at,omitempty"`
}

const tokenColumns = `id, person_id, name, scope, created_at, expires_at, revoked_at, last_used_at`

// CreateToken records a person's new API token by its secret's hash.
func (s *Store) CreateToken(ctx context.Context, t Token, secretHash string) (Token, error) {
	var out Token
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		const q = `
INSERT INTO api_tokens (id, person_id, name, secret_hash, scope, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
RETURNING ` + tokenColumns
		if err := sqlx.GetContext(ctx, tx, &out, q, t.ID, t.Person, t.Name, secretHash, t.Scope, t.ExpiresAt); err != nil {
			return fmt.Errorf("recording an API token of %s: %w", t.Person, dbError(err))
		}
		return recordIdentity(ctx, tx, []IdentityEvent{{Actor: t.Person, Action: ActionTokenCreated, Person: t.Person,
			Payload: map[string]any{"token": t.ID, "name": t.Name, "scope": t.Scope, "expires_at": t.ExpiresAt.UTC()}}})
	})
	return out, err
}

// Tokens lists a person's API tokens, newest first.
func (s *Store) Tokens(ctx context.Context, person string) ([]Token, error) {
	out := []Token{}
	q := `SELECT ` + tokenColumns + ` FROM api_tokens WHERE person_id = $1 ORDER BY created_at DESC, id`
	if err := sqlx.SelectContext(ctx, s.db, &out, q, person); err != nil {
		return nil, fmt.Errorf("reading the API tokens of %s: %w", person, dbError(err))
	}
	return out, nil
}

// TokenBySecret returns the token whose secret has the hash, with whether
// its person is disabled; ErrNotFound when none has.
func (s *Store) TokenBySecret(ctx context.Context, secretHash string) (Token, bool, error) {
	var row struct {
		Token
		Disabled bool `db:"disabled"`
	}
	q := `
SELECT t.id, t.person_id, t.name, t.scope, t.created_at, t.expires_at, t.revoked_at, t.last_used_at,
       a.disabled_at IS NOT NULL AS disabled
FROM api_tokens t LEFT JOIN accounts a ON a.person_id = t.person_id
WHERE t.secret_hash = $1`
	err := sqlx.GetContext(ctx, s.db, &row, q, secretHash)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, false, errorf(ErrNotFound, "no such token")
	}
	if err != nil {
		return Token{}, false, fmt.Errorf("reading an API token: %w", dbError(err))
	}
	return row.Token, row.Disabled, nil
}

// TouchToken notes that the token was used, at most once a minute, so that
// a busy script does not write on every request.
func (s *Store) TouchToken(ctx context.Context, id string) error {
	const q = `
UPDATE api_tokens SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`
	if _, err := s.db.ExecContext(ctx, q, id); err != nil {
		return fmt.Errorf("noting the use of token %s: %w", id, dbError(err))
	}
	return nil
}

// RevokeToken revokes a token; owner, when not empty, must be its person.
// A token that does not exist (or is not the owner's) is ErrNotFound;
// revoking a revoked token changes nothing.
func (s *Store) RevokeToken(ctx context.Context, actor, owner, id string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var t Token
		q := `SELECT ` + tokenColumns + ` FROM api_tokens WHERE id = $1 AND ($2 = '' OR person_id = $2) FOR UPDATE`
		if err := sqlx.GetContext(ctx, tx, &t, q, id, owner); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errorf(ErrNotFound, "there is no API token %q of yours", id)
			}
			return fmt.Errorf("reading API token %s: %w", id, dbError(err))
		}
		if t.RevokedAt != nil {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE id = $1`, id); err != nil {
			return fmt.Errorf("revoking API token %s: %w", id, dbError(err))
		}
		return recordIdentity(ctx, tx, []IdentityEvent{{Actor: actor, Action: ActionTokenRevoked, Person: t.Person,
			Payload: map[string]any{"token": id, "name": t.Name}}})
	})
}
