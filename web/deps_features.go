package web

// These interfaces are filled in by the features that use them; each feature's helper owns
// its own file (graph_store.go, run_engine.go, task_store.go) and moves its interface there.
