-- The legal-content checklist: the content a cycle's drafts must say they
-- cover (review.DefaultChecklist, from section 13 of the Student Welfare
-- Act, unless the cycle's config gives its own), kept with the cycle as it
-- was set up, and each draft's coverage of it, kept with the draft. Cycles
-- and drafts from before have none.
ALTER TABLE cycles
    ADD COLUMN checklist         jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(checklist) = 'array'),
    ADD COLUMN checklist_reasons boolean NOT NULL DEFAULT false;

ALTER TABLE plan_drafts
    ADD COLUMN coverage jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(coverage) = 'array');

COMMENT ON COLUMN cycles.checklist IS 'the legal content this cycle''s drafts must cover (review.ChecklistItem)';
COMMENT ON COLUMN plan_drafts.coverage IS 'where the draft covers each checklist item (review.Coverage)';
