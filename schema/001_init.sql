-- OHO's records: the organisation (providers, units, people and their roles),
-- the yearly review cycles with their human tasks and everything those tasks
-- produced, the published plan versions, and an append-only audit trail.
--
-- No personal data about students is stored anywhere: consultations keep how
-- many students took part and what they said about the plan, never who.
--
-- Unit codes are '' (not NULL) where a row is provider-wide, so that primary
-- keys can include them and duplicates stay impossible.

CREATE TABLE providers (
    code text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE units (
    provider_code text NOT NULL REFERENCES providers (code),
    code          text NOT NULL CHECK (code <> ''),
    name          text NOT NULL,
    PRIMARY KEY (provider_code, code)
);

CREATE TABLE people (
    id            text PRIMARY KEY,
    provider_code text NOT NULL REFERENCES providers (code),
    name          text NOT NULL
);

CREATE INDEX people_provider_idx ON people (provider_code);

CREATE TABLE person_roles (
    person_id text NOT NULL REFERENCES people (id),
    role      text NOT NULL CHECK (role IN ('manager', 'unit_head', 'welfare_staff', 'student_rep',
                                            'plan_editor', 'approver', 'auditor')),
    unit_code text NOT NULL DEFAULT '',
    PRIMARY KEY (person_id, role, unit_code)
);

CREATE INDEX person_roles_role_idx ON person_roles (role, unit_code);

CREATE TABLE cycles (
    id            text PRIMARY KEY, -- the ReviewCycle workflow ID
    provider_code text NOT NULL REFERENCES providers (code),
    year          int NOT NULL,
    status        text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    phase         text NOT NULL CHECK (phase IN ('evaluate', 'update', 'signoff', 'approve',
                                                 'published', 'failed')),
    round         int NOT NULL DEFAULT 0 CHECK (round >= 0),
    config        jsonb NOT NULL DEFAULT '{}',
    reason        text NOT NULL DEFAULT '',
    started_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    UNIQUE (provider_code, year)
);

CREATE TABLE plans (
    id            bigserial PRIMARY KEY,
    provider_code text NOT NULL UNIQUE REFERENCES providers (code)
);

CREATE TABLE plan_versions (
    plan_id        bigint NOT NULL REFERENCES plans (id),
    version        int NOT NULL CHECK (version > 0),
    content        jsonb NOT NULL,
    content_hash   char(64) NOT NULL,
    effective_from date NOT NULL,
    published_at   timestamptz NOT NULL DEFAULT now(),
    cycle_id       text NOT NULL UNIQUE REFERENCES cycles (id),
    round          int NOT NULL,
    approved_by    text NOT NULL,
    PRIMARY KEY (plan_id, version)
);

CREATE TABLE tasks (
    id           text PRIMARY KEY, -- workflows.TaskID
    cycle_id     text NOT NULL REFERENCES cycles (id),
    workflow_id  text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('evaluate', 'consult', 'draft', 'signoff', 'approve')),
    unit_code    text NOT NULL DEFAULT '',
    round        int NOT NULL DEFAULT 0,
    role         text NOT NULL CHECK (role IN ('manager', 'unit_head', 'welfare_staff', 'student_rep',
                                               'plan_editor', 'approver', 'auditor')),
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'superseded')),
    due_at       timestamptz NOT NULL,
    input        jsonb NOT NULL DEFAULT '{}',
    outcome      jsonb,
    completed_by text,
    completed_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'done') = (outcome IS NOT NULL AND completed_by IS NOT NULL))
);

CREATE INDEX tasks_status_due_idx ON tasks (status, due_at);
CREATE INDEX tasks_cycle_idx ON tasks (cycle_id);

-- What the evaluate tasks produced. Rows name the task they came from so that
-- an auditor can trace every record to the person who completed the task.

CREATE TABLE indicators (
    cycle_id  text NOT NULL REFERENCES cycles (id),
    unit_code text NOT NULL,
    ordinal   int NOT NULL, -- position in the evaluation: names may repeat
    name      text NOT NULL,
    value     double precision NOT NULL,
    target    double precision NOT NULL,
    unit      text NOT NULL DEFAULT '', -- of measure, such as "%"
    task_id   text NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (cycle_id, unit_code, ordinal)
);

CREATE TABLE findings (
    cycle_id       text NOT NULL REFERENCES cycles (id),
    unit_code      text NOT NULL,
    item_id        text NOT NULL,
    section        text NOT NULL,
    severity       text NOT NULL CHECK (severity IN ('info', 'minor', 'major')),
    text           text NOT NULL,
    recommendation text NOT NULL DEFAULT '',
    task_id        text NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (cycle_id, unit_code, item_id)
);

CREATE TABLE effectiveness_ratings (
    cycle_id  text NOT NULL REFERENCES cycles (id),
    unit_code text NOT NULL,
    change_id text NOT NULL, -- a change of the previous cycle's published round
    rating    text NOT NULL CHECK (rating IN ('effective', 'partly', 'not_effective')),
    note      text NOT NULL DEFAULT '',
    task_id   text NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (cycle_id, unit_code, change_id)
);

-- What the consult tasks produced: counts, never names.

CREATE TABLE consultations (
    cycle_id     text NOT NULL REFERENCES cycles (id),
    unit_code    text NOT NULL,
    method       text NOT NULL CHECK (method IN ('council', 'survey', 'workshop', 'interview')),
    participants int NOT NULL CHECK (participants > 0),
    held_on      date NOT NULL,
    task_id      text NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (cycle_id, unit_code)
);

CREATE TABLE feedback_items (
    cycle_id  text NOT NULL REFERENCES cycles (id),
    unit_code text NOT NULL,
    item_id   text NOT NULL,
    section   text NOT NULL,
    text      text NOT NULL,
    task_id   text NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (cycle_id, unit_code, item_id)
);

-- What the draft tasks produced, one set per round.

CREATE TABLE plan_changes (
    cycle_id  text NOT NULL REFERENCES cycles (id),
    round     int NOT NULL,
    change_id text NOT NULL,
    section   text NOT NULL,
    text      text NOT NULL,
    rationale text NOT NULL,
    addresses text[] NOT NULL DEFAULT '{}', -- item refs "UNIT/ITEM"
    task_id   text NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (cycle_id, round, change_id)
);

CREATE TABLE dispositions (
    cycle_id  text NOT NULL REFERENCES cycles (id),
    round     int NOT NULL,
    item_ref  text NOT NULL, -- "UNIT/ITEM"
    decision  text NOT NULL CHECK (decision IN ('addressed', 'deferred', 'rejected')),
    change_id text NOT NULL DEFAULT '',
    reason    text NOT NULL DEFAULT '',
    task_id   text NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (cycle_id, round, item_ref)
);

CREATE TABLE plan_drafts (
    cycle_id     text NOT NULL REFERENCES cycles (id),
    round        int NOT NULL,
    content      jsonb NOT NULL,
    content_hash char(64) NOT NULL,
    drafted_by   text NOT NULL,
    task_id      text NOT NULL REFERENCES tasks (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cycle_id, round)
);

-- Signatures. Each records who signed, in which role, the exact content hash
-- signed and the meaning of the signature in words, as 21 CFR Part 11 asks.

CREATE TABLE signoffs (
    cycle_id     text NOT NULL REFERENCES cycles (id),
    round        int NOT NULL,
    unit_code    text NOT NULL,
    signer       text NOT NULL,
    role         text NOT NULL,
    decision     text NOT NULL CHECK (decision IN ('approve', 'request_changes')),
    comment      text NOT NULL DEFAULT '',
    version_hash char(64) NOT NULL,
    meaning      text NOT NULL,
    signed_at    timestamptz NOT NULL DEFAULT now(),
    task_id      text NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (cycle_id, round, unit_code)
);

CREATE TABLE approvals (
    cycle_id       text NOT NULL REFERENCES cycles (id),
    round          int NOT NULL,
    approver       text NOT NULL,
    decision       text NOT NULL CHECK (decision IN ('approve', 'return')),
    comment        text NOT NULL DEFAULT '',
    effective_from date,
    version_hash   char(64) NOT NULL,
    meaning        text NOT NULL,
    signed_at      timestamptz NOT NULL DEFAULT now(),
    task_id        text NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (cycle_id, round),
    CHECK (decision <> 'approve' OR effective_from IS NOT NULL)
);

-- The audit trail. It is append-only and the database itself refuses to
-- rewrite it, whoever asks. cycle_id has no foreign key on purpose: the trail
-- must outlive and never block changes to the records it describes. Columns
-- added later (such as a hash chain) go at the end.
CREATE TABLE audit_events (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,
    action   text NOT NULL,
    subject  text NOT NULL,
    cycle_id text,
    payload  jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_events_cycle_idx ON audit_events (cycle_id, id);

CREATE FUNCTION audit_events_refuse_rewrite() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_rewrite();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_rewrite();
