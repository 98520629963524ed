-- Pseudonymising the people who have left, without breaking the audit chain
-- (issue 12; README, "Retention and pseudonymisation").
--
-- A person who has left (their account disabled) for longer than the
-- configured period is pseudonymised: their ID, e-mail address and name are
-- replaced wherever OHO's records name them by a pseudonym, "former-" and 16
-- random hex digits, that nothing maps back to the person; their name,
-- address, login subject, password, roles, invitations, tokens and the
-- notices sent to them are removed. pseudonymise_person() below does all of
-- it in one transaction, and appends one event, person.pseudonymised, to the
-- audit trail.
--
-- The audit trail names people in its events, and each event's hash covers
-- those names. A pseudonymised event keeps its place, its prev_hash and its
-- hash as they were, so the chain's links, and every copy of its head kept
-- elsewhere, stay valid; what changes is only the text that named the
-- person. What it changed to is certified by the chain itself: the
-- person.pseudonymised event's payload holds the number of events it
-- rewrote and a digest over each one's new hash ("<seq>:<hash>\n" for each,
-- in seq order, SHA-256 in hex), and audit_redactions keeps each new hash,
-- which is the event's hash computed over its new fields (as 007 defines it,
-- without a salt). `audit verify` (store.VerifyAudit) checks an event
-- rewritten so against its newest redaction, each run's redactions against
-- the digest its chained event recorded, and the chain's links as before:
-- an event changed in any other way, or a redaction nobody recorded in the
-- chain, is reported as a break.
--
-- The salt. An event's original hash would let anyone who guesses the
-- person's ID (usually their name) confirm the guess: put it back in the
-- rewritten event and hash. So from this migration on every event carries a
-- random salt, which its hash covers (after prev_hash, channel and
-- channel_ref), and pseudonymising an event removes the salt: its original
-- hash then proves nothing about who it named. Events recorded before this
-- migration have no salt; their original hashes keep that weakness, and the
-- README says so.

ALTER TABLE audit_events ADD COLUMN salt text;
COMMENT ON COLUMN audit_events.salt IS 'random, covered by the hash; removed when the event is pseudonymised, so that its original hash cannot confirm a guessed name (018)';

ALTER TABLE people ADD COLUMN pseudonymised_at timestamptz;
COMMENT ON COLUMN people.pseudonymised_at IS 'when this person, who had left, was pseudonymised: the ID is then a pseudonym (former-…) and the name and e-mail address are gone';

-- The hash with a salt: the ten fields of 003, then channel, channel_ref and
-- salt, each "<length in bytes>:<value>\n". Without a salt it is 007's hash.
CREATE FUNCTION audit_hash(seq bigint, at timestamptz, actor text, action text, subject text,
                           cycle_id text, workflow_id text, run_id text, payload jsonb, prev_hash text,
                           channel text, channel_ref text, salt text)
RETURNS char(64) LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s text := seq::text;
    t text := to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    p text := payload::text;
BEGIN
    IF salt IS NULL THEN
        RETURN audit_hash(seq, at, actor, action, subject, cycle_id, workflow_id, run_id, payload, prev_hash,
                          channel, channel_ref);
    END IF;
    RETURN encode(sha256(convert_to(
           octet_length(s) || ':' || s || E'\n'
        || octet_length(t) || ':' || t || E'\n'
        || octet_length(actor) || ':' || actor || E'\n'
        || octet_length(action) || ':' || action || E'\n'
        || octet_length(subject) || ':' || subject || E'\n'
        || octet_length(cycle_id) || ':' || cycle_id || E'\n'
        || octet_length(workflow_id) || ':' || workflow_id || E'\n'
        || octet_length(run_id) || ':' || run_id || E'\n'
        || octet_length(p) || ':' || p || E'\n'
        || octet_length(prev_hash) || ':' || prev_hash || E'\n'
        || octet_length(channel) || ':' || channel || E'\n'
        || octet_length(channel_ref) || ':' || channel_ref || E'\n'
        || octet_length(salt) || ':' || salt || E'\n', 'UTF8')), 'hex');
END
$$;

CREATE OR REPLACE FUNCTION audit_events_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head audit_chain_head%ROWTYPE;
BEGIN
    -- Writers queue here, on the head's row lock, until the writer ahead
    -- commits or rolls back: the chain stays linear and without gaps.
    SELECT * INTO STRICT head FROM audit_chain_head WHERE one FOR UPDATE;
    NEW.seq := head.seq + 1;
    NEW.prev_hash := head.hash;
    -- The time is taken once the head is held, so time order is chain order.
    NEW.at := clock_timestamp();
    NEW.cycle_id := NULLIF(NEW.cycle_id, '');
    NEW.salt := gen_random_uuid()::text;
    NEW.hash := audit_hash(NEW.seq, NEW.at, NEW.actor, NEW.action, NEW.subject, COALESCE(NEW.cycle_id, ''),
                           NEW.workflow_id, NEW.run_id, NEW.payload, NEW.prev_hash, NEW.channel, NEW.channel_ref,
                           NEW.salt);
    UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash WHERE one;
    RETURN NEW;
END
$$;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION audit_events_chain() SECURITY DEFINER SET search_path = %I, pg_temp',
                   current_schema());
END
$$;
REVOKE ALL ON FUNCTION audit_events_chain() FROM PUBLIC;

-- What each pseudonymisation made of an event: its hash over the new
-- fields, certified by the person.pseudonymised event at by_seq (whose
-- digest covers it). An event named two people who left is rewritten twice;
-- its newest redaction is the one its fields must give. No foreign keys:
-- they would let TRUNCATE of the trail fail on them rather than on its own
-- refusal, and `audit verify` finds a redaction of an event that is not
-- there (its run's digest no longer matches) or in the name of one that is
-- no pseudonymisation.
CREATE TABLE audit_redactions (
    seq    bigint NOT NULL,
    by_seq bigint NOT NULL,
    hash   char(64) NOT NULL,
    PRIMARY KEY (seq, by_seq),
    CHECK (by_seq > seq)
);
CREATE INDEX audit_redactions_by_idx ON audit_redactions (by_seq);

CREATE FUNCTION append_only_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_redactions_no_update_delete BEFORE UPDATE OR DELETE ON audit_redactions
    FOR EACH ROW EXECUTE FUNCTION append_only_refuse();
CREATE TRIGGER audit_redactions_no_truncate BEFORE TRUNCATE ON audit_redactions
    FOR EACH STATEMENT EXECUTE FUNCTION append_only_refuse();
REVOKE ALL ON audit_redactions FROM oho_app;
GRANT SELECT ON audit_redactions TO oho_app;

-- The people who were pseudonymised, as the SHA-256 (hex) of the ID they
-- had, and nothing else: an organisation file that still lists one of them
-- is refused (store.ImportOrg), instead of adding as a new, active person
-- someone who left. The hash names no one by itself; it tells only that an
-- ID someone already knows was pseudonymised.
CREATE TABLE departed_people (
    id_hash char(64) PRIMARY KEY
);
REVOKE ALL ON departed_people FROM oho_app;
GRANT SELECT ON departed_people TO oho_app;

-- pseudonymise_text replaces each alias (an ID, an e-mail address, a name)
-- standing as a whole word in t, in any letter case, by the pseudonym. A
-- word is what an ID or an address is made of: letters, digits, '.', '_',
-- '@', '+', '-'; a '.' that ends a sentence is not part of it. So
-- "north.nurse", "(north.nurse)" and "North.Nurse." are replaced, and
-- "north.nurse2" and "north.nurse@college.fi" are not (the address is an
-- alias of its own).
CREATE FUNCTION pseudonymise_text(t text, aliases text[], pseudonym text)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    a text;
BEGIN
    IF t IS NULL OR t = '' THEN
        RETURN t;
    END IF;
    FOREACH a IN ARRAY aliases LOOP
        CONTINUE WHEN a IS NULL OR a = '';
        t := regexp_replace(t,
            '(?<![[:alnum:]._@+-])' || regexp_replace(a, '([^[:alnum:][:space:]])', '\\\1', 'g')
                || '(?![[:alnum:]_@+-])(?!\.[[:alnum:]])',
            pseudonym, 'gi');
    END LOOP;
    RETURN t;
END
$$;

-- pseudonymise_jsonb does the same to every string of a JSON document, keys
-- included, whatever its depth.
CREATE FUNCTION pseudonymise_jsonb(j jsonb, aliases text[], pseudonym text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    CASE jsonb_typeof(j)
    WHEN 'string' THEN
        RETURN to_jsonb(pseudonymise_text(j #>> '{}', aliases, pseudonym));
    WHEN 'array' THEN
        RETURN COALESCE((SELECT jsonb_agg(pseudonymise_jsonb(e, aliases, pseudonym) ORDER BY i)
                         FROM jsonb_array_elements(j) WITH ORDINALITY AS x(e, i)), '[]'::jsonb);
    WHEN 'object' THEN
        RETURN COALESCE((SELECT jsonb_object_agg(pseudonymise_text(k, aliases, pseudonym),
                                                 pseudonymise_jsonb(v, aliases, pseudonym))
                         FROM jsonb_each(j) AS x(k, v)), '{}'::jsonb);
    ELSE
        RETURN j;
    END CASE;
END
$$;

-- The signatures and what they sign (004) are never changed, except by a
-- pseudonymisation, and then only by it: while pseudonymise_person runs, it
-- names the aliases and the pseudonym in the transaction's setting
-- oho.pseudonymising, and an UPDATE passes if every value it changes is the
-- old value pseudonymised. oho_app holds no UPDATE on these tables (005), so
-- only pseudonymise_person, running as their owner, gets this far.
CREATE OR REPLACE FUNCTION signatures_refuse_rewrite() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    setting jsonb := NULLIF(current_setting('oho.pseudonymising', true), '')::jsonb;
    aliases text[];
    o jsonb;
    n jsonb;
    k text;
BEGIN
    IF TG_OP = 'UPDATE' AND setting IS NOT NULL THEN
        aliases := ARRAY(SELECT jsonb_array_elements_text(setting -> 'aliases'));
        o := to_jsonb(OLD);
        n := to_jsonb(NEW);
        FOR k IN SELECT jsonb_object_keys(n) LOOP
            IF (n -> k) IS DISTINCT FROM (o -> k)
               AND (n -> k) IS DISTINCT FROM pseudonymise_jsonb(o -> k, aliases, setting ->> 'pseudonym') THEN
                RAISE EXCEPTION '% rows are signed records: a pseudonymisation may only replace the person''s names in them, not change %', TG_TABLE_NAME, k
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
        END LOOP;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% rows are signed records and are never changed or removed: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- The audit trail refuses every UPDATE but one that makes an event what its
-- newest redaction certifies, during a pseudonymisation: only actor,
-- subject, channel_ref and payload change, the salt goes, and the new fields
-- hash to the redaction's hash. DELETE and TRUNCATE stay refused (001).
-- The trigger keeps 001's name.
CREATE FUNCTION audit_events_redact_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    certified char(64);
BEGIN
    IF TG_OP = 'UPDATE' AND NULLIF(current_setting('oho.pseudonymising', true), '') IS NOT NULL THEN
        SELECT r.hash INTO certified FROM audit_redactions r WHERE r.seq = OLD.seq ORDER BY r.by_seq DESC LIMIT 1;
        IF certified IS NOT NULL
           AND (NEW.id, NEW.seq, NEW.at, NEW.action, NEW.cycle_id, NEW.workflow_id, NEW.run_id, NEW.channel,
                NEW.prev_hash, NEW.hash)
               IS NOT DISTINCT FROM (OLD.id, OLD.seq, OLD.at, OLD.action, OLD.cycle_id, OLD.workflow_id, OLD.run_id,
                OLD.channel, OLD.prev_hash, OLD.hash)
           AND NEW.salt IS NULL
           AND audit_hash(NEW.seq, NEW.at, NEW.actor, NEW.action, NEW.subject, COALESCE(NEW.cycle_id, ''),
                          NEW.workflow_id, NEW.run_id, NEW.payload, NEW.prev_hash, NEW.channel, NEW.channel_ref) = certified
        THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

DROP TRIGGER audit_events_no_update_delete ON audit_events;
CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_redact_guard();

-- pseudonymise_person replaces a person who has left by the pseudonym
-- everywhere OHO names them, and returns what it did: the chain position of
-- its person.pseudonymised event, how many audit events it rewrote and how
-- many rows of each table. It refuses a person who is unknown, already
-- pseudonymised, not disabled, still assigned an open task, or holding a
-- role while a cycle of their provider runs (its workflow may name them
-- again), and a pseudonym that is malformed or taken. actor, channel and channel_ref are
-- who runs it and how (as for any audit event).
--
-- It reads the trail as it is, without holding up anyone, then takes the
-- chain's head to read what was appended meanwhile, so that no event naming
-- the person is appended between its reading the trail and its rewriting it,
-- and holds the head only for that and the rewriting.
CREATE FUNCTION pseudonymise_person(person text, pseudonym text, actor text, channel text, channel_ref text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    who      people%ROWTYPE;
    left_at  timestamptz;
    aliases  text[];
    pattern  text;
    counts   jsonb := '{}';
    n        bigint;
    spot     record;
    e        record;
    seqs     bigint[] := '{}';
    actors   text[] := '{}';
    subjects text[] := '{}';
    refs     text[] := '{}';
    payloads jsonb[] := '{}';
    hashes   text[] := '{}';
    digest   text := '';
    new_actor text;
    new_subject text;
    new_ref  text;
    new_payload jsonb;
    by_seq   bigint;
    scanned  bigint;
    lo       bigint;
    hi       bigint;
BEGIN
    -- One pseudonymisation at a time: two that rewrote the same event (one
    -- naming both people) would each start from its text before the other,
    -- and the later would put the earlier's name back.
    PERFORM pg_advisory_xact_lock(hashtext('oho.pseudonymise_person'));
    SELECT * INTO who FROM people p WHERE p.id = person FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % is not known', person USING ERRCODE = 'no_data_found';
    END IF;
    IF who.pseudonymised_at IS NOT NULL THEN
        RAISE EXCEPTION '% is already a pseudonym (pseudonymised %)', person, who.pseudonymised_at
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT a.disabled_at INTO left_at FROM accounts a WHERE a.person_id = person;
    IF left_at IS NULL THEN
        RAISE EXCEPTION 'person % has not left: only a disabled person is pseudonymised', person
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT t.id INTO spot FROM tasks t WHERE t.status = 'open' AND t.assignee = person LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'person % is still assigned open task %: reassign it first', person, spot.id
            USING ERRCODE = 'check_violation';
    END IF;
    -- A role holder may be among a running cycle's candidates, which its
    -- workflow keeps and would name in the events it records next.
    SELECT c.id INTO spot FROM person_roles r JOIN cycles c ON c.provider_code = who.provider_code AND c.status = 'running'
    WHERE r.person_id = person ORDER BY c.id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'person % holds a role while cycle % runs: pseudonymised once it has ended', person, spot.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF pseudonym !~ '^former-[0-9a-f]{16}$' THEN
        RAISE EXCEPTION 'pseudonym % is not former- and 16 hex digits', pseudonym USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (SELECT FROM people p WHERE p.id = pseudonym) THEN
        RAISE EXCEPTION 'pseudonym % is taken', pseudonym USING ERRCODE = 'unique_violation';
    END IF;

    -- The e-mail address first, since it may hold the ID; the name only if
    -- no one else has it.
    aliases := ARRAY[NULLIF(who.email, '')];
    IF who.name <> '' AND NOT EXISTS (SELECT FROM people p WHERE lower(p.name) = lower(who.name) AND p.id <> person) THEN
        aliases := aliases || who.name;
    END IF;
    aliases := array_remove(aliases || person, NULL);
    pattern := '(' || array_to_string(ARRAY(
        SELECT regexp_replace(a, '([^[:alnum:][:space:]])', '\\\1', 'g') FROM unnest(aliases) AS a), '|') || ')';
    PERFORM set_config('oho.pseudonymising',
                       jsonb_build_object('aliases', to_jsonb(aliases), 'pseudonym', pseudonym)::text, true);

    -- The person's own rows: a row of their own under the pseudonym, with
    -- nothing but the provider; what they held to log in and act goes.
    INSERT INTO people (id, provider_code, name, email, oidc_subject, pseudonymised_at)
    VALUES (pseudonym, who.provider_code, '', '', '', now());
    DELETE FROM person_roles r WHERE r.person_id = person;
    GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('person_roles', n);
    DELETE FROM password_links l WHERE l.person_id = person;
    GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('password_links', n);
    DELETE FROM api_tokens k WHERE k.person_id = person;
    GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('api_tokens', n);
    DELETE FROM login_attempts l WHERE lower(l.person_id) = person;
    GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('login_attempts', n);
    DELETE FROM notifications o WHERE o.person_id = person;
    GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('notifications_to_them', n);
    UPDATE accounts a SET person_id = pseudonym, password_hash = '', password_set_at = NULL,
                          disabled_reason = pseudonymise_text(a.disabled_reason, aliases, pseudonym)
    WHERE a.person_id = person;
    DELETE FROM people p WHERE p.id = person;
    INSERT INTO departed_people (id_hash) VALUES (encode(sha256(convert_to(person, 'UTF8')), 'hex'))
    ON CONFLICT DO NOTHING;

    -- Where others' rows name them: exact IDs, and free text and documents
    -- by whole words.
    FOR spot IN SELECT * FROM (VALUES
        ('accounts', 'disabled_by', false), ('password_links', 'created_by', false),
        ('tasks', 'assignee', false), ('tasks', 'completed_by', false),
        ('tasks', 'input', true), ('tasks', 'outcome', true), ('cycles', 'config', true), ('cycles', 'reason', false),
        ('notifications', 'facts', true), ('notifications', 'subject', false), ('notifications', 'body', false),
        ('notifications', 'last_error', false), ('api_tokens', 'name', false),
        ('findings', 'text', false), ('findings', 'recommendation', false), ('feedback_items', 'text', false),
        ('effectiveness_ratings', 'note', false), ('indicators', 'not_measured_reason', false),
        ('plan_changes', 'text', false), ('plan_changes', 'rationale', false), ('dispositions', 'reason', false),
        ('plan_drafts', 'drafted_by', false), ('signoffs', 'signer', false), ('signoffs', 'comment', false),
        ('approvals', 'approver', false), ('approvals', 'comment', false),
        ('plan_versions', 'approved_by', false), ('plan_versions', 'imported_by', false)
    ) AS c(tab, col, doc) LOOP
        IF spot.doc THEN
            EXECUTE format('UPDATE %I SET %I = pseudonymise_jsonb(%I, $1, $2) WHERE %I::text ~* $3 AND %I IS DISTINCT FROM pseudonymise_jsonb(%I, $1, $2)',
                           spot.tab, spot.col, spot.col, spot.col, spot.col, spot.col)
                USING aliases, pseudonym, pattern;
        ELSE
            EXECUTE format('UPDATE %I SET %I = pseudonymise_text(%I, $1, $2) WHERE %I ~* $3 AND %I IS DISTINCT FROM pseudonymise_text(%I, $1, $2)',
                           spot.tab, spot.col, spot.col, spot.col, spot.col, spot.col)
                USING aliases, pseudonym, pattern;
        END IF;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n > 0 THEN
            counts := counts || jsonb_build_object(spot.tab || '.' || spot.col, n);
        END IF;
    END LOOP;

    -- The audit events that name them, rewritten as certified below: those
    -- up to the head as it is now (every one of them committed: writers
    -- take seq in turn, under the head), read while others go on
    -- appending; then, holding the head, so that nothing naming the person
    -- is appended until this commits, those appended meanwhile.
    SELECT h.seq INTO scanned FROM audit_chain_head h WHERE h.one;
    FOR phase IN 1..2 LOOP
    IF phase = 1 THEN
        lo := 0;
        hi := scanned;
    ELSE
        PERFORM 1 FROM audit_chain_head h WHERE h.one FOR UPDATE;
        lo := scanned;
        hi := 9223372036854775807;
    END IF;
    FOR e IN
        SELECT * FROM audit_events a
        WHERE a.seq > lo AND a.seq <= hi
          AND (a.actor ~* pattern OR a.subject ~* pattern OR a.channel_ref ~* pattern OR a.payload::text ~* pattern)
        ORDER BY a.seq
    LOOP
        new_actor := pseudonymise_text(e.actor, aliases, pseudonym);
        new_subject := pseudonymise_text(e.subject, aliases, pseudonym);
        new_ref := pseudonymise_text(e.channel_ref, aliases, pseudonym);
        new_payload := pseudonymise_jsonb(e.payload, aliases, pseudonym);
        CONTINUE WHEN (new_actor, new_subject, new_ref, new_payload) IS NOT DISTINCT FROM
                      (e.actor, e.subject, e.channel_ref, e.payload);
        seqs := seqs || e.seq;
        actors := actors || new_actor;
        subjects := subjects || new_subject;
        refs := refs || new_ref;
        payloads := payloads || new_payload;
        hashes := hashes || audit_hash(e.seq, e.at, new_actor, e.action, new_subject, COALESCE(e.cycle_id, ''),
                                       e.workflow_id, e.run_id, new_payload, e.prev_hash, e.channel, new_ref)::text;
        digest := digest || e.seq || ':' || hashes[cardinality(hashes)] || E'\n';
    END LOOP;
    END LOOP;

    INSERT INTO audit_events (actor, action, subject, channel, channel_ref, payload)
    VALUES (pseudonymise_person.actor, 'person.pseudonymised', 'person/' || pseudonym,
            pseudonymise_person.channel, pseudonymise_person.channel_ref,
            jsonb_build_object('pseudonym', pseudonym, 'provider', who.provider_code, 'left_at', left_at,
                               'rewritten', counts,
                               'audit_events', jsonb_build_object('count', cardinality(seqs),
                                   'digest', encode(sha256(convert_to(digest, 'UTF8')), 'hex'))))
    RETURNING seq INTO by_seq;

    INSERT INTO audit_redactions (seq, by_seq, hash)
    SELECT s, by_seq, h FROM unnest(seqs, hashes) AS u(s, h);
    UPDATE audit_events a SET actor = u.actor, subject = u.subject, channel_ref = u.ref, payload = u.payload, salt = NULL
    FROM unnest(seqs, actors, subjects, refs, payloads) AS u(seq, actor, subject, ref, payload)
    WHERE a.seq = u.seq;

    PERFORM set_config('oho.pseudonymising', '', true);
    RETURN jsonb_build_object('seq', by_seq, 'audit_events', cardinality(seqs), 'rewritten', counts);
END
$$;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION pseudonymise_person(text, text, text, text, text) SECURITY DEFINER SET search_path = %I, pg_temp',
                   current_schema());
END
$$;
REVOKE ALL ON FUNCTION pseudonymise_person(text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pseudonymise_person(text, text, text, text, text) TO oho_app;
