// Package workflows holds OHO's Temporal workflows — the yearly ReviewCycle of
// a provider's student welfare plan, the UnitReview child each unit runs, the
// UnitSignOff child in which each unit's head signs a round's draft, and the
// YearlyStart a provider's schedule runs — with the names of their
// Updates, queries, activities and search attributes, which clients share.
// The domain types they carry live in package review.
//
// Workflow code here is deterministic: it does no I/O, reads time only through
// workflow.Now, never ranges over maps and starts no goroutines. All reads and
// writes of PostgreSQL happen in activities, which are called by the names
// declared below so that this package does not import the database code.
package workflows

import (
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
	// QueryStatus returns the review.Progress of a cycle, UnitReview or
	// UnitSignOff.
	QueryStatus = "status"
	// SignalSupersede tells a UnitSignOff that its sign-off is no longer
	// needed, with the reason: another unit requested changes to the draft.
	SignalSupersede = "supersede"
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
