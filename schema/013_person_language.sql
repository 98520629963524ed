-- The language a person reads OHO's pages in, chosen with the pages'
-- language switch and remembered with their account: 'fi' or 'en'. Empty
-- until they choose; the pages then follow the browser's Accept-Language,
-- and Finnish is the default. It is a preference, not part of the review
-- process, so changing it is not an audit event.
ALTER TABLE accounts ADD COLUMN language text NOT NULL DEFAULT '' CHECK (language IN ('', 'fi', 'en'));

COMMENT ON COLUMN accounts.language IS 'the language the person chose for the pages: fi, en, or empty (not chosen)';
