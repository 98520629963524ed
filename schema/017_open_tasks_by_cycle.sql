-- The inbox with many providers' open tasks (issue 11, benchmark 3). A pool
-- is a role in a unit, and unit codes are each provider's own: NORTH is a
-- unit of many providers. The inbox read a pool's open tasks as one range of
-- tasks_open_idx (assignee '', role, unit_code) and then dropped the other
-- providers' by their cycle, so with 10,000 open tasks of 100 providers a
-- nurse's inbox read 420 tasks and their cycles to show 20 (1,560 buffers,
-- 1.3 ms). With the cycle in the index after the unit, the inbox reads each
-- pool once per cycle of the person's provider and finds exactly its tasks.
--
-- The new index replaces tasks_open_idx, whose last column, due_at, no query
-- reads through it (the inbox sorts its few rows itself): both would be kept
-- up to date on every change of a task for nothing.
DROP INDEX tasks_open_idx;
CREATE INDEX tasks_open_idx ON tasks (assignee, role, unit_code, cycle_id) WHERE status = 'open';
