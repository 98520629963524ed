package workflows

import (
	"encoding/json"

	"github.com/oho-dev/oho/review"
)

// CycleInput starts a ReviewCycle.
type CycleInput struct {
	Provider string        `json:"provider" validate:"required,code"`
	Year     int           `json:"year" validate:"required,min=2000,max=2999"`
	Config   review.Config `json:"config"`
	// StartedBy is the person who started the cycle and Via how, for the
	// audit trail; empty when a yearly schedule started it.
	StartedBy string     `json:"started_by,omitempty"`
	Via       review.Via `json:"via,omitzero"`
	// Restart is set when a manager starts the year again after its cycle
	// failed or was cancelled: this run is a later attempt, whose tasks
	// have IDs of their own (review.CycleRef).
	Restart review.Restart `json:"restart,omitzero"`
}

// UnitInput starts a unit's UnitReview child workflow.
type UnitInput struct {
	CycleID         string                `json:"cycle_id"`
	Provider        string                `json:"provider"`
	Year            int                   `json:"year"`
	Attempt         int                   `json:"attempt,omitempty"`
	Unit            string                `json:"unit"`
	Sections        []review.Section      `json:"sections"`
	PreviousChanges []string              `json:"previous_changes"`
	Phases          review.PhaseDurations `json:"phases"`
	Reminders       review.Reminders      `json:"reminders"`
	Managers        []string              `json:"managers"`
	// Indicators is the cycle's indicator catalogue, with every unit's
	// targets; the unit's evaluation reports on it. Empty for cycles without
	// a catalogue, whose inputs then read as before catalogues.
	Indicators review.Catalogue `json:"indicators,omitempty"`
}

// UnitResult is what a unit's evaluation and consultation produced.
type UnitResult struct {
	Unit  string        `json:"unit"`
	Items []review.Item `json:"items"`
}

// Summary is the result of a cycle that ended without failing: published,
// or cancelled by a manager (Status says which).
type Summary struct {
	Provider      string `json:"provider"`
	Year          int    `json:"year"`
	Status        string `json:"status"`
	Reason        string `json:"reason,omitempty"`
	Version       int    `json:"version"`
	Hash          string `json:"hash"`
	EffectiveFrom string `json:"effective_from"`
	Rounds        int    `json:"rounds"`
}

// UnitSignOffInput starts a unit's UnitSignOff child workflow: its head
// signs the round's draft, bound to its hash, or requests changes.
type UnitSignOffInput struct {
	CycleID     string                `json:"cycle_id"`
	Provider    string                `json:"provider"`
	Year        int                   `json:"year"`
	Attempt     int                   `json:"attempt,omitempty"`
	Unit        string                `json:"unit"`
	Round       int                   `json:"round"`
	VersionHash string                `json:"version_hash"`
	Phases      review.PhaseDurations `json:"phases"`
	Reminders   review.Reminders      `json:"reminders"`
	Managers    []string              `json:"managers"`
}

// UnitSignOffResult is how a unit's sign-off ended: done, with who signed
// and the outcome, or superseded because another unit requested changes
// first.
type UnitSignOffResult struct {
	Unit    string          `json:"unit"`
	TaskID  string          `json:"task_id"`
	Status  string          `json:"status"`
	Actor   string          `json:"actor,omitempty"`
	Outcome json.RawMessage `json:"outcome,omitempty"`
}
