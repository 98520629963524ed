-- Identity: people log in with a local account (a password) or through
-- their organisation's OpenID Connect identity provider; sessions live here;
-- scripts use a person's API tokens. Secrets are never stored: passwords as
-- Argon2id PHC strings, the secrets of links and tokens as SHA-256 hashes
-- (32 random bytes need no slow hash).
--
-- The application role is granted these tables by the default privileges
-- of 005_least_privilege.sql.

-- The subject a person logs in with at an identity provider that finds
-- people by a stored subject (MPASSid gives pseudonymous subjects); unique
-- within a provider.
ALTER TABLE people ADD COLUMN oidc_subject text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX people_oidc_subject_idx ON people (provider_code, oidc_subject) WHERE oidc_subject <> '';

-- A person's local account and whether they may log in at all. A person
-- has a row once invited or disabled; disabled_at set means no login of
-- any kind, and no session or token of theirs works.
CREATE TABLE accounts (
    person_id       text PRIMARY KEY REFERENCES people (id),
    password_hash   text NOT NULL DEFAULT '',
    password_set_at timestamptz,
    disabled_at     timestamptz,
    disabled_by     text NOT NULL DEFAULT '',
    disabled_reason text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((password_hash = '') = (password_set_at IS NULL))
);

-- One-time links to set a password: an invitation. A new one supersedes
-- the person's earlier unused ones.
CREATE TABLE password_links (
    secret_hash   char(64) PRIMARY KEY,
    person_id     text NOT NULL REFERENCES people (id),
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    superseded_at timestamptz
);
CREATE INDEX password_links_person_idx ON password_links (person_id) WHERE used_at IS NULL AND superseded_at IS NULL;

-- Login attempts with a password, for the limits on failures: per person
-- (as typed; it may be no one's ID) and per address. Only recent failures
-- are read, through the partial indexes.
CREATE TABLE login_attempts (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    person_id text NOT NULL,
    address   text NOT NULL,
    ok        boolean NOT NULL
);
CREATE INDEX login_attempts_person_idx ON login_attempts (person_id, at) WHERE NOT ok;
CREATE INDEX login_attempts_address_idx ON login_attempts (address, at) WHERE NOT ok;

-- A person's API tokens, created by the person, shown once.
CREATE TABLE api_tokens (
    id           text PRIMARY KEY,
    person_id    text NOT NULL REFERENCES people (id),
    name         text NOT NULL,
    secret_hash  char(64) NOT NULL UNIQUE,
    scope        text NOT NULL CHECK (scope IN ('read', 'act')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_tokens_person_idx ON api_tokens (person_id);

-- Login sessions, as github.com/alexedwards/scs/postgresstore keeps them:
-- the token (random, in the cookie), the session's data, its expiry.
CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- Invitations are notices like the others.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('assigned', 'reminder', 'overdue', 'escalation', 'reassigned', 'extended', 'cancelled', 'published', 'invitation'));
