-- Every audit event says through which channel its change came: 'web' (a
-- person in a login session), 'api' (a script with a person's API token) or
-- 'cli' (the operator at the server's command line, acting as themselves or
-- for the person named as actor), and channel_ref what identifies the way in:
-- the session's reference (never its token), the API token's ID, or the
-- operating-system user. Both are empty for what the workflows do by
-- themselves (a task opened, a deadline passed) and for events recorded
-- before this migration.
--
-- Both are part of the hash chain (003_audit_chain.sql): an event with a
-- channel or a channel_ref appends them, in that order, to the hash input
-- after prev_hash; an event with neither hashes exactly as before, so the
-- events already chained keep their hashes. store.AuditHash does the same.

ALTER TABLE audit_events
    ADD COLUMN channel     text NOT NULL DEFAULT '' CHECK (channel IN ('', 'web', 'api', 'cli')),
    ADD COLUMN channel_ref text NOT NULL DEFAULT '';

COMMENT ON COLUMN audit_events.channel IS 'web, api or cli: how the change reached OHO; empty for the workflows'' own doings';
COMMENT ON COLUMN audit_events.channel_ref IS 'the session reference, API token ID or operating-system user of the channel';

CREATE FUNCTION audit_hash(seq bigint, at timestamptz, actor text, action text, subject text,
                           cycle_id text, workflow_id text, run_id text, payload jsonb, prev_hash text,
                           channel text, channel_ref text)
RETURNS char(64) LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT encode(sha256(convert_to(
        string_agg(octet_length(f)::text || ':' || f || E'\n', '' ORDER BY i), 'UTF8')), 'hex')
    FROM unnest(ARRAY[
        seq::text,
        to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        actor, action, subject, cycle_id, workflow_id, run_id, payload::text, prev_hash
    ] || CASE WHEN channel = '' AND channel_ref = '' THEN ARRAY[]::text[] ELSE ARRAY[channel, channel_ref] END)
        WITH ORDINALITY AS fields(f, i)
$$;

CREATE OR REPLACE FUNCTION audit_events_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head audit_chain_head%ROWTYPE;
BEGIN
    SELECT * INTO STRICT head FROM audit_chain_head FOR UPDATE;
    NEW.seq := head.seq + 1;
    NEW.prev_hash := head.hash;
    -- The time is taken once the head is held, so time order is chain order.
    NEW.at := clock_timestamp();
    NEW.cycle_id := NULLIF(NEW.cycle_id, '');
    NEW.hash := audit_hash(NEW.seq, NEW.at, NEW.actor, NEW.action, NEW.subject, COALESCE(NEW.cycle_id, ''),
                           NEW.workflow_id, NEW.run_id, NEW.payload, NEW.prev_hash, NEW.channel, NEW.channel_ref);
    UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash;
    RETURN NEW;
END
$$;

-- CREATE OR REPLACE reset what 005_least_privilege.sql set: the chain
-- trigger runs with its owner's rights (it moves the head, which the
-- application role may not) on a pinned search_path, and nobody calls it
-- directly.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION audit_events_chain() SECURITY DEFINER SET search_path = %I, pg_temp',
                   current_schema());
END
$$;
REVOKE ALL ON FUNCTION audit_events_chain() FROM PUBLIC;
