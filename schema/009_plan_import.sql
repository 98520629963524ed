-- Plans imported from outside OHO, and sign-offs of drafts with unit annexes.
--
-- A provider adopting OHO already has a plan. It is imported as a published
-- version (source 'import') that no cycle drafted, signed or approved: such a
-- version has no cycle, round, approver or approval, and names who imported
-- it instead. A version a cycle published (source 'cycle', every version
-- before this migration) keeps every column and every binding it had: its
-- cycle, round and approver are still required, and the foreign key of
-- 004_signatures.sql still binds it to its round's approval, because a key
-- whose columns are all set is checked as before (a key with a NULL column
-- is not checked at all, which is what lets an imported version exist). The
-- CHECK below ties the columns to the source, so no row can be half of
-- each. The triggers that refuse UPDATE, DELETE and TRUNCATE of published
-- versions (004) cover imported ones alike.

ALTER TABLE plan_versions
    ADD COLUMN source text NOT NULL DEFAULT 'cycle',
    ADD COLUMN imported_by text;

ALTER TABLE plan_versions
    ALTER COLUMN cycle_id DROP NOT NULL,
    ALTER COLUMN round DROP NOT NULL,
    ALTER COLUMN approved_by DROP NOT NULL,
    ALTER COLUMN approval_decision DROP NOT NULL;

ALTER TABLE plan_versions ADD CONSTRAINT plan_versions_source_check CHECK (
    (source = 'cycle' AND cycle_id IS NOT NULL AND round IS NOT NULL AND approved_by IS NOT NULL
        AND approval_decision IS NOT NULL AND imported_by IS NULL)
    OR
    (source = 'import' AND cycle_id IS NULL AND round IS NULL AND approved_by IS NULL
        AND approval_decision IS NULL AND imported_by IS NOT NULL AND imported_by <> ''));

COMMENT ON COLUMN plan_versions.source IS 'cycle: published by a review cycle (cycle_id, round, approved_by set); import: imported from outside OHO (imported_by set), never reviewed in OHO';
COMMENT ON COLUMN plan_versions.imported_by IS 'who imported the version: a person''s ID, or operator';

-- What a unit head's sign-off means. The signature stays bound to the hash
-- of the whole draft, but when the draft has unit annexes a unit head answers
-- for the common part and their own unit's annex, not for other units'
-- arrangements, and the recorded meaning says so (review.SignOffMeaning):
--
--   approved for unit NORTH: the common part and NORTH's annex
--   approved for unit SOUTH: the common part (SOUTH has no annex)
--
-- and likewise "changes requested for unit …". A draft without annexes keeps
-- the words sign-offs always had, and existing sign-offs keep theirs. The
-- CHECK allows the three forms; a constraint trigger, which runs after the
-- CHECK, holds each sign-off to the one its draft calls for.
ALTER TABLE signoffs DROP CONSTRAINT signoffs_meaning_check;
ALTER TABLE signoffs ADD CONSTRAINT signoffs_meaning_check CHECK (meaning IN (
    CASE decision WHEN 'approve' THEN 'approved for unit ' ELSE 'changes requested for unit ' END || unit_code,
    CASE decision WHEN 'approve' THEN 'approved for unit ' ELSE 'changes requested for unit ' END || unit_code
        || ': the common part and ' || unit_code || '''s annex',
    CASE decision WHEN 'approve' THEN 'approved for unit ' ELSE 'changes requested for unit ' END || unit_code
        || ': the common part (' || unit_code || ' has no annex)'));

CREATE FUNCTION signoffs_meaning_scope() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    annexes jsonb;
    want text;
BEGIN
    SELECT d.content -> 'annexes' INTO annexes
    FROM plan_drafts d
    WHERE d.cycle_id = NEW.cycle_id AND d.round = NEW.round AND d.content_hash = NEW.version_hash;
    want := CASE NEW.decision WHEN 'approve' THEN 'approved for unit ' ELSE 'changes requested for unit ' END || NEW.unit_code;
    IF jsonb_typeof(annexes) = 'array' AND jsonb_array_length(annexes) > 0 THEN
        IF annexes @> jsonb_build_array(jsonb_build_object('unit', NEW.unit_code)) THEN
            want := want || ': the common part and ' || NEW.unit_code || '''s annex';
        ELSE
            want := want || ': the common part (' || NEW.unit_code || ' has no annex)';
        END IF;
    END IF;
    -- A sign-off of no recorded draft is left to the foreign key to refuse.
    IF NEW.meaning IS DISTINCT FROM want THEN
        RAISE EXCEPTION 'signoffs_meaning_scope: the sign-off of unit % in round % means "%", not "%"', NEW.unit_code, NEW.round, want, NEW.meaning
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER signoffs_meaning_scope AFTER INSERT ON signoffs
    FOR EACH ROW EXECUTE FUNCTION signoffs_meaning_scope();
