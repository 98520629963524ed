-- A hash chain over the audit trail, so that an edit made around the
-- database's refusals (a superuser disabling the triggers, a restored dump
-- with one row changed) is found: every event carries its place in the chain
-- (seq, from 1 without gaps), the hash of the event before it (prev_hash; 64
-- zeros for the first) and its own hash, the SHA-256 of its fields and
-- prev_hash. `starter audit verify` recomputes the chain.
--
-- The chain is computed by a trigger, so no way of inserting an event (not
-- even hand-written SQL) adds one outside the chain. The trigger takes the
-- chain's head, a single row, FOR UPDATE: writers queue on it until the
-- writer ahead commits or rolls back, so the chain stays linear and without
-- gaps under any number of concurrent writers. (A head read as "the event
-- with the highest id" would fork: two transactions would both see the same
-- last event.) The price is that audited transactions commit one at a time
-- from their first audit event on, which OHO's write rates allow easily.
--
-- The hash input, which store.auditHashInput rebuilds in Go, is each of these
-- fields as "<length in bytes>:<value>\n", in this order:
--   seq (decimal), at (UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ), actor, action,
--   subject, cycle_id ('' when none), workflow_id, run_id,
--   payload (PostgreSQL's text form of the jsonb), prev_hash
-- and the hash is its SHA-256 in lower-case hex.

ALTER TABLE audit_events
    ADD COLUMN seq         bigint,
    ADD COLUMN workflow_id text NOT NULL DEFAULT '',
    ADD COLUMN run_id      text NOT NULL DEFAULT '',
    ADD COLUMN prev_hash   char(64),
    ADD COLUMN hash        char(64);

COMMENT ON COLUMN audit_events.seq IS 'place in the hash chain, 1, 2, 3, … without gaps';
COMMENT ON COLUMN audit_events.workflow_id IS 'the Temporal workflow whose activity wrote the event; empty for the command line';
COMMENT ON COLUMN audit_events.run_id IS 'the run of that workflow';
COMMENT ON COLUMN audit_events.prev_hash IS 'hash of the event before (seq - 1); 64 zeros for the first';
COMMENT ON COLUMN audit_events.hash IS 'SHA-256 of this event''s fields and prev_hash (see 003_audit_chain.sql)';

CREATE FUNCTION audit_hash(seq bigint, at timestamptz, actor text, action text, subject text,
                           cycle_id text, workflow_id text, run_id text, payload jsonb, prev_hash text)
RETURNS char(64) LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT encode(sha256(convert_to(
        string_agg(octet_length(f)::text || ':' || f || E'\n', '' ORDER BY i), 'UTF8')), 'hex')
    FROM unnest(ARRAY[
        seq::text,
        to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        actor, action, subject, cycle_id, workflow_id, run_id, payload::text, prev_hash
    ]) WITH ORDINALITY AS fields(f, i)
$$;

-- The head of the chain: the last event's seq and hash.
CREATE TABLE audit_chain_head (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint NOT NULL,
    hash char(64) NOT NULL
);

-- Chain the events recorded so far, in the order they were written.
ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete;
DO $$
DECLARE
    e    record;
    n    bigint := 0;
    prev char(64) := repeat('0', 64);
    h    char(64);
BEGIN
    FOR e IN SELECT * FROM audit_events ORDER BY id LOOP
        n := n + 1;
        h := audit_hash(n, e.at, e.actor, e.action, e.subject, COALESCE(e.cycle_id, ''), '', '', e.payload, prev);
        UPDATE audit_events SET seq = n, prev_hash = prev, hash = h WHERE id = e.id;
        prev := h;
    END LOOP;
    INSERT INTO audit_chain_head (seq, hash) VALUES (n, prev);
END
$$;
ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete;

ALTER TABLE audit_events
    ALTER COLUMN seq SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL,
    ADD CONSTRAINT audit_events_seq_key UNIQUE (seq);

CREATE FUNCTION audit_events_chain() RETURNS trigger LANGUAGE plpgsql AS $$
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
                           NEW.workflow_id, NEW.run_id, NEW.payload, NEW.prev_hash);
    UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_events_chain
    BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_chain();

-- The head moves only with the chain: by the trigger above, never by hand.
CREATE FUNCTION audit_chain_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'audit_chain_head moves only when an audit event is recorded: % is not allowed', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_chain_head_guard
    BEFORE UPDATE OR DELETE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_chain_head_guard();

CREATE TRIGGER audit_chain_head_no_truncate
    BEFORE TRUNCATE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_guard();
