-- Signatures with meaning, bound to the exact version they sign.
--
-- A sign-off or an approval records who signed, when, in which role, what the
-- signature means in words ("approved for unit NORTH", "approved for the
-- provider") and the content hash of the draft signed. From here on the
-- database itself holds those promises: a signature names a hash that is the
-- draft of its round, a published version is the draft its round's approval
-- approved, and no signature, draft or published version is ever changed or
-- removed, so a signature can never be moved to another version.

-- The approver's role, recorded as a unit head's is. Every approval made
-- before this migration was made by a holder of the approver role.
ALTER TABLE approvals ADD COLUMN role text NOT NULL DEFAULT 'approver';
ALTER TABLE approvals ALTER COLUMN role DROP DEFAULT;
ALTER TABLE approvals ADD CONSTRAINT approvals_role_check CHECK (role <> '');
ALTER TABLE signoffs ADD CONSTRAINT signoffs_role_check CHECK (role <> '');

-- A returned draft's meaning said only "returned"; it now says for whom, as
-- every other meaning does. The decision it words is unchanged.
UPDATE approvals SET meaning = 'returned for the provider' WHERE decision = 'return';

-- The meaning is the plain sentence of the decision, never free text.
ALTER TABLE signoffs ADD CONSTRAINT signoffs_meaning_check CHECK (meaning = CASE decision
    WHEN 'approve' THEN 'approved for unit ' || unit_code
    ELSE 'changes requested for unit ' || unit_code END);
ALTER TABLE approvals ADD CONSTRAINT approvals_meaning_check CHECK (meaning = CASE decision
    WHEN 'approve' THEN 'approved for the provider'
    ELSE 'returned for the provider' END);

-- A signature names the hash of its round's draft, and nothing else.
ALTER TABLE plan_drafts ADD CONSTRAINT plan_drafts_hash_key UNIQUE (cycle_id, round, content_hash);
ALTER TABLE signoffs ADD CONSTRAINT signoffs_draft_fkey
    FOREIGN KEY (cycle_id, round, version_hash) REFERENCES plan_drafts (cycle_id, round, content_hash);
ALTER TABLE approvals ADD CONSTRAINT approvals_draft_fkey
    FOREIGN KEY (cycle_id, round, version_hash) REFERENCES plan_drafts (cycle_id, round, content_hash);

-- A published version is the draft its round's approver approved (and so,
-- through the key above, that round's draft). approval_decision is always
-- 'approve': it lets the foreign key refuse a version whose round was
-- returned.
ALTER TABLE approvals ADD CONSTRAINT approvals_decision_key UNIQUE (cycle_id, round, version_hash, decision);
ALTER TABLE plan_versions ADD COLUMN approval_decision text NOT NULL DEFAULT 'approve'
    CHECK (approval_decision = 'approve');
ALTER TABLE plan_versions ADD CONSTRAINT plan_versions_approval_fkey
    FOREIGN KEY (cycle_id, round, content_hash, approval_decision)
    REFERENCES approvals (cycle_id, round, version_hash, decision);

-- Whether reaching an indicator's target means being at or above it (a
-- survey score) or at or below it (absences). Indicators recorded before
-- this migration are read as the usual kind: the target is a minimum.
ALTER TABLE indicators ADD COLUMN better text NOT NULL DEFAULT 'higher'
    CHECK (better IN ('higher', 'lower'));

-- Signatures and what they sign are never edited or removed, whoever asks.
CREATE FUNCTION signatures_refuse_rewrite() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are signed records and are never changed or removed: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER signoffs_no_update_delete BEFORE UPDATE OR DELETE ON signoffs
    FOR EACH ROW EXECUTE FUNCTION signatures_refuse_rewrite();
CREATE TRIGGER signoffs_no_truncate BEFORE TRUNCATE ON signoffs
    FOR EACH STATEMENT EXECUTE FUNCTION signatures_refuse_rewrite();
CREATE TRIGGER approvals_no_update_delete BEFORE UPDATE OR DELETE ON approvals
    FOR EACH ROW EXECUTE FUNCTION signatures_refuse_rewrite();
CREATE TRIGGER approvals_no_truncate BEFORE TRUNCATE ON approvals
    FOR EACH STATEMENT EXECUTE FUNCTION signatures_refuse_rewrite();
CREATE TRIGGER plan_drafts_no_update_delete BEFORE UPDATE OR DELETE ON plan_drafts
    FOR EACH ROW EXECUTE FUNCTION signatures_refuse_rewrite();
CREATE TRIGGER plan_drafts_no_truncate BEFORE TRUNCATE ON plan_drafts
    FOR EACH STATEMENT EXECUTE FUNCTION signatures_refuse_rewrite();
CREATE TRIGGER plan_versions_no_update_delete BEFORE UPDATE OR DELETE ON plan_versions
    FOR EACH ROW EXECUTE FUNCTION signatures_refuse_rewrite();
CREATE TRIGGER plan_versions_no_truncate BEFORE TRUNCATE ON plan_versions
    FOR EACH STATEMENT EXECUTE FUNCTION signatures_refuse_rewrite();
