package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/oho-dev/oho/review"
)

// TestTextThatCannotBeStored sends an evaluation through the command line
// as a new user might: a finding of three megabytes, a finding holding a
// NUL character, a file that is not UTF-8, and an outcome over the whole
// outcome's limit. Each is refused in one line naming the field and the
// limit before it reaches Temporal: nothing is recorded, the unit's
// workflow has no failed workflow task, and the task is then completed.
func TestTextThatCannotBeStored(t *testing.T) {
	e := newEnv(t)
	e.startWorker()
	e.ok("org", "import", e.file("org.json", e.org()))
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", "2026", "--config",
		e.file("c.json", `{"phases": {"evaluate": "2h", "consult": "2h", "update": "1h", "signoff": "1h", "approve": "1h"}}`))
	id := e.taskID(review.KindEvaluate, 0, "NORTH")
	task := e.waitTask(id)
	complete := func(file string) []string {
		return []string{"task", "complete", id, "--as", "north.staff", "--outcome", file}
	}
	withText := func(text string) map[string]any {
		ev := evaluation("NORTH")
		ev["findings"].([]map[string]any)[0]["text"] = text
		return ev
	}

	e.refusedOneLine("findings[0].text must be at most 4000 characters",
		complete(e.file("huge.json", withText(strings.Repeat("Supervision gaps. ", 3<<20/18))))...)
	e.refusedOneLine(`findings[0].text contains a NUL character (\u0000), which text may not hold`,
		complete(e.file("nul.json", withText("gaps\x00here")))...)
	latin1 := filepath.Join(e.dir, "latin1.json")
	if err := os.WriteFile(latin1, []byte(`{"findings": [{"id": "F1", "section": "communal", "severity": "info", "text": "K`+"\xe4"+`yt`+"\xe4"+`v`+"\xe4"+`t"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.refusedOneLine("is not valid UTF-8 text", complete(latin1)...)
	big := evaluation("NORTH")
	var many []map[string]any
	// Every field within its limit, the whole over the outcome's.
	for i := 0; i < 200; i++ {
		many = append(many, map[string]any{"id": "F" + string(rune('A'+i%26)) + string(rune('a'+i/26)),
			"section": "communal", "severity": "info", "text": strings.Repeat("y", 3900), "recommendation": strings.Repeat("z", 3900)})
	}
	big["findings"] = many
	e.refusedOneLine("an outcome may be at most 1024 KiB", complete(e.file("big.json", big))...)

	for _, q := range []string{`SELECT count(*) FROM findings`, `SELECT count(*) FROM indicators`, `SELECT count(*) FROM tasks WHERE status <> 'open'`} {
		if n := e.count(q); n != 0 {
			t.Errorf("%s: %d after refusals, want 0", q, n)
		}
	}
	// Nothing reached the workflow: no workflow task of the unit failed.
	c := dialTemporal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := c.GetWorkflowHistory(ctx, task.WorkflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED {
			t.Errorf("the unit's workflow has a failed workflow task: %v", ev)
		}
	}
	e.complete(id, "north.staff", evaluation("NORTH"))
}
