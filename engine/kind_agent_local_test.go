package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"trellis/store/storetest"
)

// agentLocalTurnsHistory is an agent run with an approval-gated tool recorded since its
// model turns are local activities (changeAgentLocalTurns); agent_approval holds one from
// before, and TestReplayHistories replays both.
const agentLocalTurnsHistory = "agent_local_turns"

// TestRecordAgentLocalTurnsHistory records it (go test ./engine/ -run TestRecordAgentLocalTurnsHistory -update).
func TestRecordAgentLocalTurnsHistory(t *testing.T) {
	if !*update {
		t.Skip("run with -update to record histories")
	}
	desk := newRefundDesk(t)
	chat := newChatServer(t, approvalChat)
	db := storetest.MustOpen(t)
	cl := startCluster(t, t.TempDir(), Deps{Providers: defaultProviders(chat.URL), Secrets: memSecrets{"OPENAI_KEY": llmTestKey},
		Tasks: storeTasks{db}, Logger: quietLogger()})
	id := runApprovalAgent(t, cl, db, desk, chat)
	writeHistory(t, cl.c, id, agentLocalTurnsHistory, llmTestKey)
}

// TestAgentLocalTurnsHistoryIsRecorded: the recording has the change's marker, its turns as
// local activity markers and its tool call as an activity, and no turn activity.
func TestAgentLocalTurnsHistoryIsRecorded(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(historyDir, agentLocalTurnsHistory+".json"))
	if err != nil {
		t.Fatalf("%v; record it with -run TestRecordAgentLocalTurnsHistory -update", err)
	}
	h := string(b)
	for _, want := range []string{"LocalActivity", "approval.decided", "support/1/0", `"name": "http"`} {
		if !strings.Contains(h, want) {
			t.Errorf("the recorded history lacks %s", want)
		}
	}
	if strings.Contains(h, `"name": "agent.turn"`) {
		t.Error("the recorded history has a model turn as an activity")
	}
}
