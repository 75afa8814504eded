-- The run a map item's task is grouped under (issue #13). A map over 1,000 items runs its
-- items in batch child runs, RUN.NODE.batchK, and a batch's item tasks carry that run id,
-- since a decision must reach the batch that waits on it. item_run is RUN for those, and
-- run_id for every other item task, so that the inbox groups a map's items, and a task links
-- its siblings, across batches. It is computed, so nothing is backfilled or written twice;
-- (The rule lives only here; store tests read its edge cases back through the column.)
ALTER TABLE tasks ADD COLUMN item_run TEXT GENERATED ALWAYS AS (
	CASE WHEN item_node IS NOT NULL
		AND length(rtrim(run_id, '0123456789')) < length(run_id)
		AND substr(rtrim(run_id, '0123456789'), -(length(item_node) + 7)) = '.' || item_node || '.batch'
		AND length(rtrim(run_id, '0123456789')) > length(item_node) + 7
	THEN substr(run_id, 1, length(rtrim(run_id, '0123456789')) - length(item_node) - 7)
	ELSE run_id END
) VIRTUAL;

DROP INDEX tasks_by_item;
CREATE INDEX tasks_by_item ON tasks (item_run, item_node, item_index) WHERE item_node IS NOT NULL;
DROP INDEX tasks_open_items;
CREATE INDEX tasks_open_items ON tasks (item_run, item_node, id) WHERE item_node IS NOT NULL AND state = 'open';
