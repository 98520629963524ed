package review

import "fmt"

// CycleID is the deterministic ID of a provider's cycle for a year. It is
// also the ID of the cycle's workflow, so that starting the same cycle twice
// finds the first one.
func CycleID(provider string, year int) string {
	return fmt.Sprintf("review-cycle/%s/%d", provider, year)
}

// UnitReviewID is the ID of a unit's review within a cycle: the ID of the
// workflow that runs the unit's evaluation and student consultation.
func UnitReviewID(cycleID, unit string) string {
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
