package review

import (
	"fmt"
	"strconv"
)

// CycleID is the deterministic ID of the first attempt at a provider's cycle
// for a year. It is also the ID of the cycle's workflow, so that starting the
// same cycle twice finds the first one.
func CycleID(provider string, year int) string {
	return CycleRef{Provider: provider, Year: year}.ID()
}

// CycleRef names one run of a provider's cycle for a year. A year has one
// cycle, but one that failed or was cancelled may be started again: each
// such restart is a new attempt, with IDs of its own, so that the ended
// attempt's records and workflow history stay as they were. Attempt 0 and 1
// both name the first attempt, whose IDs carry no attempt number (they are
// the IDs cycles had before restarts existed).
type CycleRef struct {
	Provider string
	Year     int
	Attempt  int
}

// ID is the ID of the attempt's ReviewCycle workflow, and of its record.
func (r CycleRef) ID() string {
	return fmt.Sprintf("review-cycle/%s/%s", r.Provider, r.yearPart())
}

// TaskID is the deterministic ID of a human task of the attempt. Evaluation
// and consultation happen once per attempt; drafts, sign-offs and approvals
// once per round.
func (r CycleRef) TaskID(kind TaskKind, round int, unit string) string {
	id := fmt.Sprintf("%s/%s/%s", r.Provider, r.yearPart(), kind)
	if kind != KindEvaluate && kind != KindConsult {
		id += fmt.Sprintf("/r%d", round)
	}
	if unit != "" {
		id += "/" + unit
	}
	return id
}

// yearPart is the year, followed by the attempt from the second on.
func (r CycleRef) yearPart() string {
	if r.Attempt <= 1 {
		return strconv.Itoa(r.Year)
	}
	return fmt.Sprintf("%d/attempt-%d", r.Year, r.Attempt)
}

// UnitReviewID is the ID of a unit's review within a cycle: the ID of the
// workflow that runs the unit's evaluation and student consultation.
func UnitReviewID(cycleID, unit string) string {
	return cycleID + "/unit/" + unit
}

// SignOffWorkflowID is the ID of the workflow in which a unit's head signs
// the draft of a round off: a child of the cycle's workflow, one per unit
// and round, so that every head signing at the same moment meets no other
// in one workflow.
func SignOffWorkflowID(cycleID, unit string, round int) string {
	return fmt.Sprintf("%s/unit/%s/signoff/r%d", cycleID, unit, round)
}

// TaskID is the deterministic ID of a human task of the first attempt at the
// provider's cycle for the year (CycleRef.TaskID).
func TaskID(provider string, year int, kind TaskKind, round int, unit string) string {
	return CycleRef{Provider: provider, Year: year}.TaskID(kind, round, unit)
}
