-- Least privilege: the programs (worker, command line) connect as members of
-- the group role oho_app, which may read and write the records but cannot
-- alter the schema, switch triggers off or rewrite what is append-only. The
-- audit trail's refusals (001, 003) and the signatures' (004) were triggers
-- that whoever owns the tables, or a superuser, can disable; for oho_app they
-- are now backed by privileges it never had, so an edit that `audit verify`
-- would only find afterwards is refused when it is tried.
--
-- Migrations run as the role that owns the tables (oho_owner in development;
-- see README, "Roles in PostgreSQL"). oho_app is cluster-wide, so it is
-- created beside the database (scripts/devenv.sh up, a DBA, or dbtest), never
-- here: two test databases migrating at once would race to create it.
--
-- Everything below is idempotent: applying this file again, to a database
-- with records or not, ends in the same privileges.

DO $$
DECLARE
    obj record;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'oho_app') THEN
        RAISE EXCEPTION 'role oho_app does not exist: create it first (scripts/devenv.sh up does; see README)';
    END IF;
    -- A GRANT on a table someone else owns only warns and grants nothing,
    -- which would leave the programs without rights and nobody told. So the
    -- role running the migrations must own, or act as the owner of,
    -- everything in the schema.
    FOR obj IN
        SELECT c.oid::regclass::text AS name, c.relowner::regrole::text AS owner
        FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
          AND NOT pg_has_role(current_user, c.relowner, 'USAGE')
        UNION ALL
        SELECT p.oid::regprocedure::text, p.proowner::regrole::text
        FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace
          AND NOT pg_has_role(current_user, p.proowner, 'USAGE')
    LOOP
        RAISE EXCEPTION '% is owned by %, not by %, who runs the migrations: migrations must run as the owner of the schema''s objects (scripts/devenv.sh up hands a development database to oho_owner; see README)',
            obj.name, obj.owner, current_user;
    END LOOP;
END
$$;

-- The tables the programs read and change. They start from nothing, so that
-- what oho_app holds on them is exactly what is granted here, whatever was
-- granted by hand before.
REVOKE ALL ON providers, units, people, person_roles, cycles, tasks,
    indicators, findings, effectiveness_ratings, consultations, feedback_items,
    plan_changes, dispositions, plans, notifications,
    audit_events, signoffs, approvals, plan_drafts, plan_versions,
    audit_chain_head, schema_migrations
    FROM oho_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON providers, units, people, person_roles, cycles, tasks,
    indicators, findings, effectiveness_ratings, consultations, feedback_items,
    plan_changes, dispositions, plans, notifications
    TO oho_app;

-- Append-only: the audit trail, and the signatures with what they sign. The
-- triggers that refuse UPDATE, DELETE and TRUNCATE stay, for the owner.
GRANT SELECT, INSERT ON audit_events, signoffs, approvals, plan_drafts, plan_versions TO oho_app;

-- Read only: the chain's head (audit verify compares it with the last
-- event) and which migrations were applied (the worker checks it at start).
-- The head moves through the chain trigger below, never by oho_app's hand.
GRANT SELECT ON audit_chain_head, schema_migrations TO oho_app;

-- bigserial columns draw from these; UPDATE (setval) is not needed.
REVOKE ALL ON SEQUENCE plans_id_seq, audit_events_id_seq FROM oho_app;
GRANT USAGE, SELECT ON SEQUENCE plans_id_seq, audit_events_id_seq TO oho_app;

-- The chain trigger takes the head FOR UPDATE and moves it, which oho_app may
-- not do itself: the function runs with its owner's rights (the migrating
-- role, which owns audit_chain_head). The search_path is pinned, with
-- pg_temp last, so that a caller's temporary table or function named like
-- one the trigger uses cannot stand in for it (PostgreSQL's "Writing
-- SECURITY DEFINER Functions Safely"). A trigger function can only be called
-- by its trigger, which does not check EXECUTE; nobody needs to call it
-- directly, so EXECUTE is withdrawn from PUBLIC as well. A later migration
-- that replaces this function must say SECURITY DEFINER and SET search_path
-- again: CREATE OR REPLACE FUNCTION resets both.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION audit_events_chain() SECURITY DEFINER SET search_path = %I, pg_temp',
                   current_schema());
END
$$;
REVOKE ALL ON FUNCTION audit_events_chain() FROM PUBLIC;

-- The other trigger functions only read their arguments and raise: they run
-- with the caller's rights, as before.

-- The schema itself: usage only. (Since PostgreSQL 15 PUBLIC may no longer
-- create objects in the public schema; oho_app gets no CREATE either.)
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO oho_app', current_schema());
END
$$;

-- Tables and sequences that later migrations create, run by the same role,
-- are granted as the tables above. A migration that adds an append-only
-- table revokes UPDATE and DELETE on it itself. TRUNCATE, REFERENCES and
-- TRIGGER are never granted.
ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO oho_app;
ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT ON SEQUENCES TO oho_app;
