package engine

import (
	stdsql "database/sql"
	"fmt"

	_ "modernc.org/sqlite" // Temporal's SQLite plugin registers it too; this reads its file
)

// Temporal splits each task queue into partitions to spread it over matching hosts: four
// by default. In one process they only add forwarding, so the embedded server writes every
// new task to the root partition and, once no task an older release wrote waits in another,
// reads only the root too. Temporal's way down is in that order: writes first, reads once
// the other partitions' backlogs are empty, or their tasks would never be delivered.
const (
	defaultPartitions = 4
	writePartitions   = 1
)

// partitionsToRead is how many partitions of each task queue the server at dbPath must read:
// 1, or all four while a task an older server wrote to a partition other than the root
// waits in its backlog (a partition's name is "/_sys/<queue>/<n>", its root the queue's
// own name).
func partitionsToRead(dbPath string) (int, error) {
	db, err := stdsql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, fmt.Errorf("read temporal task backlog: %w", err)
	}
	defer db.Close()
	// tasks_v2 holds the backlogs of Temporal's newer matcher; a schema without it has none.
	for _, table := range []string{"tasks", "tasks_v2"} {
		var exists, old bool
		if err := db.QueryRow(`SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)`, table).Scan(&exists); err != nil {
			return 0, fmt.Errorf("read temporal task backlog: %w", err)
		}
		if !exists {
			continue
		}
		q := `SELECT EXISTS (SELECT 1 FROM ` + table + ` WHERE instr(task_queue_id, CAST('/_sys/' AS BLOB)) > 0)`
		if err := db.QueryRow(q).Scan(&old); err != nil {
			return 0, fmt.Errorf("read temporal task backlog: %w", err)
		}
		if old {
			return defaultPartitions, nil
		}
	}
	return 1, nil
}
