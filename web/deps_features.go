package web

// These interfaces are filled in by the features that use them; each feature's helper owns
// its own file (graph_store.go, run_engine.go, task_store.go) and moves its interface there.

// RunEngine is what the run pages and API need of the engine.
type RunEngine interface{}

// TaskStore is what the inbox needs of the store.
type TaskStore interface{}
