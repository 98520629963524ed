package workflows_test

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/oho-dev/oho/workflows"
)

// TestReplayRecordedHistories replays the histories of real runs, recorded
// from the dev server with scripts/record-histories.sh, against the code as
// it is now. A change that fails here would break cycles running when it is
// deployed: version it with workflow.GetVersion instead of re-recording.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Every workflow type has at least one recorded run.
	types := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"ReviewCycle", "UnitReview", "UnitSignOff", "YearlyStart"} {
			if strings.Contains(string(b), `"name": "`+name+`"`) {
				types[name] = true
			}
		}
	}
	for _, name := range []string{"ReviewCycle", "UnitReview", "UnitSignOff", "YearlyStart"} {
		if !types[name] {
			t.Errorf("no recorded history of %s in testdata/histories", name)
		}
	}

	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(workflows.ReviewCycle)
			r.RegisterWorkflow(workflows.UnitReview)
			r.RegisterWorkflow(workflows.UnitSignOff)
			r.RegisterWorkflow(workflows.YearlyStart)
			// The workflows derive their children's IDs from their own, so
			// the replay runs under the recorded ID, which the file is named
			// after.
			id, err := url.PathUnescape(strings.TrimSuffix(filepath.Base(f), ".json"))
			if err != nil {
				t.Fatalf("the file name %s is not an escaped workflow ID: %v", f, err)
			}
			history, err := readHistory(f)
			if err != nil {
				t.Fatal(err)
			}
			logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
			err = r.ReplayWorkflowHistoryWithOptions(logger, history, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: id, RunID: "recorded"},
			})
			if err != nil {
				t.Errorf("replaying %s: %v", id, err)
			}
		})
	}
}

func readHistory(file string) (*historypb.History, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading the history in %s: %w", file, err)
	}
	return h, nil
}
