-- A map item's task (issue #13): node_id is NODE.INDEX; item_node and item_index are those two
-- parts, so that the task page reads only the window of siblings it links and the inbox groups
-- a run's item tasks by node; item_total is the map's item count as the run gave it (NULL
-- when unknown: tasks from before this column, or from runs that did not say). All three are
-- NULL for any other task.
ALTER TABLE tasks ADD COLUMN item_node TEXT;
ALTER TABLE tasks ADD COLUMN item_index INTEGER;
ALTER TABLE tasks ADD COLUMN item_total INTEGER;

-- Existing item tasks: the index is in node_id (digits after the one dot; node ids have no
-- dots, agent tool calls use '/'). The total is not, so it stays NULL.
UPDATE tasks SET
	item_node = substr(node_id, 1, instr(node_id, '.') - 1),
	item_index = CAST(substr(node_id, instr(node_id, '.') + 1) AS INTEGER)
WHERE instr(node_id, '.') > 1
	AND length(substr(node_id, instr(node_id, '.') + 1)) BETWEEN 1 AND 9
	AND substr(node_id, instr(node_id, '.') + 1) NOT GLOB '*[^0-9]*';

-- The siblings of an item, by index.
CREATE INDEX tasks_by_item ON tasks (run_id, item_node, item_index) WHERE item_node IS NOT NULL;
-- The open tasks of one map node of a run, for the inbox's group rows (the group's newest
-- task, and how many wait).
CREATE INDEX tasks_open_items ON tasks (run_id, item_node, id) WHERE item_node IS NOT NULL AND state = 'open';
