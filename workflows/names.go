// Package workflows holds OHO's Temporal workflows — the yearly ReviewCycle of
// a provider's student welfare plan and the UnitReview child each unit runs —
// and the types, names and IDs that the worker, the activities and the command
// line share with them.
//
// Workflow code here is deterministic: it does no I/O, reads time only through
// workflow.Now, never ranges over maps and starts no goroutines. All reads and
// writes of PostgreSQL happen in activities, which are called by the names
// declared below so that this package does not import the database code.
package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
)

// TaskQueue is the task queue the OHO worker polls.
const TaskQueue = "oho-review"

// Update and query names.
const (
	// UpdateCompleteTask completes a human task with an outcome. Its validator
	// refuses unknown or closed tasks, people who may not complete the task and
	// outcomes that break the rules, before anything is written.
	UpdateCompleteTask = "complete-task"
	// QueryStatus returns the Status of a cycle or UnitReview.
	QueryStatus = "status"
)

// Activity names. The activities package registers methods with exactly these
// names; a test there checks that every name has its method.
const (
	ActivitySetupCycle     = "SetupCycle"
	ActivityOpenTasks      = "OpenTasks"
	ActivityCompleteTask   = "CompleteTask"
	ActivitySupersedeTasks = "SupersedeTasks"
	ActivityPublish        = "Publish"
	ActivityFailCycle      = "FailCycle"
	ActivityRecordTaskOp   = "RecordTaskOp"
	ActivityRecordDeadline = "RecordDeadline"
	ActivityCancelCycle    = "CancelCycle"
)

// ActivityNames lists every activity the workflows call.
var ActivityNames = []string{
	ActivitySetupCycle, ActivityOpenTasks, ActivityCompleteTask,
	ActivitySupersedeTasks, ActivityPublish, ActivityFailCycle,
	ActivityRecordTaskOp, ActivityRecordDeadline, ActivityCancelCycle,
}

// Search attributes set on every OHO workflow. They carry no personal data.
// The dev server must be started with them registered (scripts/devenv.sh does).
var (
	AttrProvider = temporal.NewSearchAttributeKeyKeyword("OhoProvider")
	AttrYear     = temporal.NewSearchAttributeKeyInt64("OhoYear")
	AttrPhase    = temporal.NewSearchAttributeKeyKeyword("OhoPhase")
)

// SearchAttributeTypes maps each search attribute to its Temporal type, for
// registering them with a server.
var SearchAttributeTypes = [][2]string{
	{"OhoProvider", "Keyword"},
	{"OhoYear", "Int"},
	{"OhoPhase", "Keyword"},
}

// CycleWorkflowID is the deterministic ID of a provider's cycle for a year, so
// that starting the same cycle twice finds the first one.
func CycleWorkflowID(provider string, year int) string {
	return fmt.Sprintf("review-cycle/%s/%d", provider, year)
}

// UnitWorkflowID is the ID of a unit's child workflow within a cycle.
func UnitWorkflowID(cycleID, unit string) string {
	return cycleID + "/unit/" + unit
}

// TaskID is the deterministic ID of a human task. Evaluation and consultation
// happen once per cycle; drafts, sign-offs and approvals once per round.
func TaskID(provider string, year int, kind TaskKind, round int, unit string) string {
	id := fmt.Sprintf("%s/%d/%s", provider, year, kind)
	if kind != KindEvaluate && kind != KindConsult {
		id += fmt.Sprintf("/r%d", round)
	}
	if unit != "" {
		id += "/" + unit
	}
	return id
}
