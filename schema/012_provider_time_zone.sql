-- The provider's time zone: the organisation file's provider.time_zone, an
-- IANA name such as Europe/Helsinki. Documents (the traceability report, the
-- handbook) and notices show every time in it, so that the same moment reads
-- the same wherever it is shown. Providers imported before this migration,
-- and files that give none, are in Europe/Helsinki, where OHO's providers
-- are and where every time was shown before.
--
-- The name is checked where the file is read (package check: Go's
-- time.LoadLocation must accept it, and Go's zone database, not
-- PostgreSQL's, is what renders the times), so the database only refuses an
-- empty name. oho_app's rights on providers (005) cover the new column: they
-- are granted on the table.
ALTER TABLE providers
    ADD COLUMN time_zone text NOT NULL DEFAULT 'Europe/Helsinki' CHECK (time_zone <> '');

COMMENT ON COLUMN providers.time_zone IS 'IANA time zone in which the provider''s times are shown (provider.time_zone of the organisation file)';
