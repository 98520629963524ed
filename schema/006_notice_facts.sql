-- Notices store facts; the sender writes the words.
--
-- Until now the store wrote each notice's subject and body when it queued
-- it, so the text of a notice was frozen in the outbox: wording, languages
-- and the command line it told people to run. From here on a notice holds
-- what it is about (review.NoticeFacts as JSON: kind, task, unit, due time,
-- actor and reason, or the published plan), and package notify renders the
-- subject and body when it delivers it, with a link to the task's web page.
--
-- Notices queued before this migration keep their subject and body and no
-- facts, and are delivered with that text as it is. A notice has either
-- facts or a stored text, never both and never neither, and its facts are of
-- its own kind: the sender never has to guess which to trust.

ALTER TABLE notifications
    ADD COLUMN facts jsonb,
    ALTER COLUMN subject DROP NOT NULL,
    ALTER COLUMN body DROP NOT NULL;

ALTER TABLE notifications ADD CONSTRAINT notifications_content_check CHECK (
    (facts IS NOT NULL AND subject IS NULL AND body IS NULL)
    OR (facts IS NULL AND subject IS NOT NULL AND body IS NOT NULL));

-- IS NOT DISTINCT FROM: facts without a kind give NULL, which a CHECK
-- would let pass.
ALTER TABLE notifications ADD CONSTRAINT notifications_facts_kind_check CHECK (
    facts IS NULL OR (jsonb_typeof(facts) = 'object' AND facts->>'kind' IS NOT DISTINCT FROM kind));

COMMENT ON COLUMN notifications.facts IS 'what the notice is about (review.NoticeFacts); NULL for notices queued with their text before 006';
COMMENT ON COLUMN notifications.subject IS 'legacy: the stored subject of a notice queued before 006; NULL when facts are set';
COMMENT ON COLUMN notifications.body IS 'legacy: the stored body of a notice queued before 006; NULL when facts are set';
