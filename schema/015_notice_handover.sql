-- When a notice's sender handed its message over to the mail server: the
-- moment just before the end of the message's data, after which the server
-- may have taken it. A sender records it under the attempt it claimed, and
-- sends the end of the data only if that record was made, so a notice
-- another sender has taken over meanwhile is never handed over twice.
--
-- A notice left sending by a sender that died is then told apart: without
-- handed_over_at, its mail certainly did not go, and it is sent again;
-- with it, the mail may have gone, and it becomes uncertain (package
-- notify). Before this column every such notice became uncertain. oho_app's
-- rights on notifications (005) cover the new column.
ALTER TABLE notifications ADD COLUMN handed_over_at timestamptz;

COMMENT ON COLUMN notifications.handed_over_at IS 'when the sender of the current attempt began handing the message over to the mail server (NULL: not yet)';
