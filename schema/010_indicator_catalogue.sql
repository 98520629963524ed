-- Indicators of a provider's catalogue (the cycle config's "indicators"): a
-- row of one is named by its code, carries the catalogue's names in both
-- languages, and takes its target, unit of measure and direction from the
-- catalogue, so that the same indicator can be followed across years. A
-- catalogue indicator a unit could not measure has no value and the reason
-- why instead.
--
-- Rows written before this migration, and free indicators since, have the
-- code '' and no reason: they read as they always did. name stays the name
-- to show: a free indicator's own, or the catalogue's English name.

ALTER TABLE indicators
    ADD COLUMN code                text NOT NULL DEFAULT '',
    ADD COLUMN name_fi             text NOT NULL DEFAULT '',
    ADD COLUMN name_en             text NOT NULL DEFAULT '',
    ADD COLUMN not_measured_reason text,
    ALTER COLUMN value DROP NOT NULL,
    -- A value, or the reason there is none; never both, never neither.
    ADD CONSTRAINT indicators_value_or_reason
        CHECK ((value IS NULL) = (not_measured_reason IS NOT NULL)),
    ADD CONSTRAINT indicators_reason_given
        CHECK (not_measured_reason IS NULL OR btrim(not_measured_reason) <> ''),
    -- Only a catalogue indicator can be "not measured": a free one is left out.
    ADD CONSTRAINT indicators_not_measured_in_catalogue
        CHECK (not_measured_reason IS NULL OR code <> ''),
    ADD CONSTRAINT indicators_catalogue_named
        CHECK (code = '' OR (name_fi <> '' AND name_en <> ''));

COMMENT ON COLUMN indicators.code IS 'the catalogue indicator''s code; empty for a free indicator';
COMMENT ON COLUMN indicators.not_measured_reason IS 'why a catalogue indicator has no value this year; NULL when measured';

-- One row per catalogue indicator and unit in a cycle. Trends read a
-- provider's rows cycle by cycle, through the primary key's cycle_id.
CREATE UNIQUE INDEX indicators_catalogue_idx ON indicators (cycle_id, unit_code, code) WHERE code <> '';
