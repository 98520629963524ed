-- Tasks people can live with: a task is assigned to a person or offered to
-- everyone holding its role in its unit (the pool), has deadline timers
-- whose events are counted, can be cancelled with its cycle, and every
-- change people should hear about queues a notice in an outbox, written in
-- the transaction of the change it announces.

-- Work e-mail, for notices only; '' means notices to this person are logged,
-- not mailed.
ALTER TABLE people ADD COLUMN email text NOT NULL DEFAULT '';

-- assignee is a person ID, or '' while the task is offered to the pool.
-- op_seq and deadline_seq are the sequence numbers of the last task operation
-- and deadline event the workflow recorded: a retried activity carries a
-- number already seen and writes nothing. overdue_at is when the task was
-- first found overdue since its due time was last set.
ALTER TABLE tasks
    ADD COLUMN assignee     text NOT NULL DEFAULT '',
    ADD COLUMN op_seq       int NOT NULL DEFAULT 0 CHECK (op_seq >= 0),
    ADD COLUMN deadline_seq int NOT NULL DEFAULT 0 CHECK (deadline_seq >= 0),
    ADD COLUMN overdue_at   timestamptz;

ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_status_check
    CHECK (status IN ('open', 'done', 'superseded', 'cancelled'));

ALTER TABLE cycles DROP CONSTRAINT cycles_status_check;
ALTER TABLE cycles ADD CONSTRAINT cycles_status_check
    CHECK (status IN ('running', 'completed', 'failed', 'cancelled'));

ALTER TABLE cycles DROP CONSTRAINT cycles_phase_check;
ALTER TABLE cycles ADD CONSTRAINT cycles_phase_check
    CHECK (phase IN ('evaluate', 'update', 'signoff', 'approve', 'published', 'failed', 'cancelled'));

-- Open tasks stay few while closed ones pile up year after year, and every
-- read of open tasks (the inbox, task list) goes through this partial index,
-- which holds the open rows only. Its columns serve both halves of the inbox
-- query: assignee = person, and assignee = '' with the person's role and
-- unit. It replaces tasks_status_due_idx, which held every task: with both,
-- the planner may pick the big one whenever few tasks are open, and nothing
-- reads closed tasks by status (reports read them by cycle).
DROP INDEX tasks_status_due_idx;
CREATE INDEX tasks_open_idx ON tasks (assignee, role, unit_code, due_at) WHERE status = 'open';

-- The outbox. A sender (package notify) delivers pending rows and records
-- what happened; ids are deterministic, so queueing the same notice again
-- (ON CONFLICT DO NOTHING) never makes a second message.
CREATE TABLE notifications (
    id              text PRIMARY KEY,          -- deterministic, e.g. 'reminder/<task>/<seq>/<person>'
    provider_code   text NOT NULL REFERENCES providers (code),
    person_id       text NOT NULL REFERENCES people (id),
    email           text NOT NULL DEFAULT '',  -- copied from people at queue time; '' = log only
    kind            text NOT NULL CHECK (kind IN ('assigned','reminder','overdue','escalation','reassigned','extended','cancelled','published')),
    task_id         text REFERENCES tasks (id),
    cycle_id        text REFERENCES cycles (id),
    subject         text NOT NULL,             -- bilingual: Finnish first, then English
    body            text NOT NULL,             -- bilingual plain text, short
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sending','sent','logged','failed','uncertain')),
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX notifications_pending_idx ON notifications (next_attempt_at) WHERE state = 'pending';
