-- A cheaper append to the audit chain (issue 11, benchmark 4). The chain,
-- its hash input and its order are those of 003_audit_chain.sql and
-- 007_audit_channel.sql, unchanged: every event already chained keeps its
-- hash, and store.AuditHash verifies old and new events alike. Two things
-- made each append cost more than it needed, both while the appending
-- transaction holds the chain's head, so that every other writer waits for
-- them:
--
-- 1. audit_hash was a SQL function over unnest(…) WITH ORDINALITY and
--    string_agg. PostgreSQL cannot inline such a function, so the trigger
--    parsed and planned its body again in every transaction (about 130 µs of
--    the backend's time per event, measured). The same input is now built by
--    concatenation in PL/pgSQL, whose plans live as long as the session.
--
-- 2. The trigger read and moved the head with no WHERE clause, so each event
--    scanned every page of audit_chain_head. The head is one row, but every
--    event leaves a dead version of it behind, and while any transaction in
--    the cluster is older than those versions (another database's migration,
--    a report, a backup) pruning cannot remove them: the table grew to 30–250
--    pages within minutes of appends on a shared server, and each append read
--    them all, twice. Both statements now name the row by its key, so the
--    primary key leads to the live version whatever the table's size.
--
-- CREATE OR REPLACE keeps audit_hash's owner and privileges. It resets
-- audit_events_chain()'s SECURITY DEFINER and pinned search_path, which are
-- therefore set again below, as 007 did.

CREATE OR REPLACE FUNCTION audit_hash(seq bigint, at timestamptz, actor text, action text, subject text,
                                      cycle_id text, workflow_id text, run_id text, payload jsonb, prev_hash text,
                                      channel text, channel_ref text)
RETURNS char(64) LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    -- The fields as text, each written "<length in bytes>:<value>\n".
    s text := seq::text;
    t text := to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    p text := payload::text;
    input text;
BEGIN
    input := octet_length(s) || ':' || s || E'\n'
          || octet_length(t) || ':' || t || E'\n'
          || octet_length(actor) || ':' || actor || E'\n'
          || octet_length(action) || ':' || action || E'\n'
          || octet_length(subject) || ':' || subject || E'\n'
          || octet_length(cycle_id) || ':' || cycle_id || E'\n'
          || octet_length(workflow_id) || ':' || workflow_id || E'\n'
          || octet_length(run_id) || ':' || run_id || E'\n'
          || octet_length(p) || ':' || p || E'\n'
          || octet_length(prev_hash) || ':' || prev_hash || E'\n';
    IF channel <> '' OR channel_ref <> '' THEN
        input := input || octet_length(channel) || ':' || channel || E'\n'
                       || octet_length(channel_ref) || ':' || channel_ref || E'\n';
    END IF;
    RETURN encode(sha256(convert_to(input, 'UTF8')), 'hex');
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
    NEW.hash := audit_hash(NEW.seq, NEW.at, NEW.actor, NEW.action, NEW.subject, COALESCE(NEW.cycle_id, ''),
                           NEW.workflow_id, NEW.run_id, NEW.payload, NEW.prev_hash, NEW.channel, NEW.channel_ref);
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
