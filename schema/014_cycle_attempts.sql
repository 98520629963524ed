-- Starting a year's cycle again. A cycle that failed (its provider was not
-- ready when the yearly schedule fired, or no draft was approved within
-- max_rounds) or was cancelled used to hold its provider's year for good.
-- A manager may now start the year again: the new run is another attempt,
-- with its own ID (review.CycleRef), so that the ended attempt keeps its
-- records and its workflow history as they were. restarted_from links the
-- two, as the audit trail does (cycle.started of the new attempt and
-- cycle.restarted of the old one).
--
-- A provider's year still has at most one cycle that is running or has
-- completed: the unique index below replaces UNIQUE (provider_code, year).
--
-- set_up_at is when a worker set the cycle up. The command line and the
-- pages record a cycle as soon as Temporal has taken its start, before any
-- worker has run it, so that it is visible at once; until set_up_at is set,
-- its status says it waits for a worker. Cycles recorded before this
-- migration were set up when they started.
ALTER TABLE cycles
    ADD COLUMN attempt        int NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    ADD COLUMN restarted_from text REFERENCES cycles (id),
    ADD COLUMN set_up_at      timestamptz;

UPDATE cycles SET set_up_at = started_at;

ALTER TABLE cycles DROP CONSTRAINT cycles_provider_code_year_key;
ALTER TABLE cycles ADD CONSTRAINT cycles_provider_code_year_attempt_key UNIQUE (provider_code, year, attempt);
CREATE UNIQUE INDEX cycles_live_year_idx ON cycles (provider_code, year) WHERE status IN ('running', 'completed');

COMMENT ON COLUMN cycles.attempt IS 'which run of the provider''s cycle for the year this is: 1, or more after restarts';
COMMENT ON COLUMN cycles.restarted_from IS 'the failed or cancelled attempt this one started again';
COMMENT ON COLUMN cycles.set_up_at IS 'when a worker set the cycle up; NULL while the cycle waits for one';
