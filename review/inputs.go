package review

// DraftInput is what the draft task shows the plan editor.
type DraftInput struct {
	Round int `json:"round"`
	// Plan is the current published text the draft changes.
	Plan PlanContent `json:"plan"`
	// Items are the cycle's findings and feedback; NeedDisposition names those
	// the draft must answer.
	Items           []Item   `json:"items"`
	NeedDisposition []string `json:"need_disposition"`
	// Comments are the requests for changes that sent the previous draft back.
	Comments []Comment `json:"comments,omitempty"`
	// Checklist is the legal content the draft must say it covers, and
	// ChecklistReasons whether an item may be left uncovered with a reason.
	Checklist        []ChecklistItem `json:"checklist,omitempty"`
	ChecklistReasons bool            `json:"checklist_reasons,omitempty"`
}

// Comment is a request for changes from a unit head or the approver.
type Comment struct {
	Round int    `json:"round"`
	Unit  string `json:"unit,omitempty"`
	By    string `json:"by"`
	Text  string `json:"text"`
}

// SignOffInput is what a sign-off or approval task shows: the round whose
// draft is to be signed and the hash that binds the signature to it. The
// draft's text is kept once per round in the database, not in every task.
type SignOffInput struct {
	Round       int    `json:"round"`
	VersionHash string `json:"version_hash"`
}

// EvaluateInput is what a unit's evaluate task shows its assignee.
type EvaluateInput struct {
	Unit            string    `json:"unit"`
	Sections        []Section `json:"sections"`
	PreviousChanges []string  `json:"previous_changes"`
	// Annex is the section key of the unit's own annex ("annex/NORTH"),
	// which findings may point at besides the plan's sections.
	Annex string `json:"annex,omitempty"`
	// Indicators are the catalogue's indicators the evaluation must report
	// on, each with the unit's own target; empty when the cycle has no
	// catalogue, so that such a task's input reads as before catalogues.
	Indicators Catalogue `json:"indicators,omitempty"`
}

// ConsultInput is what a unit's consult task shows its assignee.
type ConsultInput struct {
	Unit     string    `json:"unit"`
	Sections []Section `json:"sections"`
	Methods  []string  `json:"methods"`
	// Annex is the section key of the unit's own annex, which feedback
	// items may point at besides the plan's sections.
	Annex string `json:"annex,omitempty"`
}
