package render

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/oho-dev/oho/store"
)

// ExportFormatVersion is the version of the audit export's layout, written
// in its first line. Readers of older exports rely on it: change it with any
// change to the lines, and never change the lines of a version.
//
// Version 2 added "payloads" to the header (Decoding): the histories'
// payloads, encrypted in Temporal since then, are written decrypted.
const ExportFormatVersion = 2

// Workflow is one workflow of a cycle as Temporal knows it. Its JSON is a
// line of the audit export and a row of cycle history --json.
type Workflow struct {
	WorkflowID    string    `json:"workflow_id"`
	RunID         string    `json:"run_id"`
	WorkflowType  string    `json:"workflow_type"`
	Status        string    `json:"status"`
	StartTime     time.Time `json:"start_time"`
	CloseTime     time.Time `json:"close_time,omitzero"`
	HistoryLength int64     `json:"history_length"`
	// WebUI is the address of the history in the Temporal Web UI.
	WebUI string `json:"web_ui"`
	// History is the run's whole history, in order. The export writes each
	// event on a line of its own, not inside the workflow's line.
	History []*historypb.HistoryEvent `json:"-"`
}

// Export is what the audit export of a cycle holds, gathered by the caller
// from the database and the Temporal server.
type Export struct {
	Provider string
	Year     int
	CycleID  string
	// ExportedAt is when the data was gathered; it is written in UTC.
	ExportedAt time.Time
	// Events are the cycle's audit events, in order.
	Events []store.Event
	// Workflows are the cycle's workflow and its units' workflows, each with
	// its history, in the order they are to be written.
	Workflows []Workflow
	// Payloads says how the histories' payloads were decoded; the header
	// carries it.
	Payloads *Decoding
	// ChainHead is the audit chain's head when the export was gathered: the
	// end line carries it, so that a kept export anchors the whole trail
	// (every event of every cycle up to it), not only this cycle's events.
	ChainHead *store.ChainHead
}

// ExportCounts is what an export holds, as its end line says, so that a
// reader can tell a whole file from a cut one.
type ExportCounts struct {
	AuditEvents   int `json:"audit_events"`
	Workflows     int `json:"workflows"`
	HistoryEvents int `json:"history_events"`
}

// Decoding is what the header says of the histories' payloads: Temporal
// holds them encrypted (package payloadcrypt), and the export writes them
// decrypted for the person who exported, so that they read as people wrote
// them. Their metadata says how each was stored.
type Decoding struct {
	// Written is "decrypted".
	Written string `json:"written"`
	// For is who they were decrypted for: the ID of the person who
	// exported (or "operator").
	For string `json:"for"`
	// Encrypted is how many payloads Temporal holds encrypted; Plain how
	// many it holds in plain text (written before encryption was turned
	// on, or by a program without keys).
	Encrypted int `json:"encrypted"`
	Plain     int `json:"plain"`
	// KeyIDs are the keys the encrypted ones were encrypted with, sorted.
	KeyIDs []string `json:"key_ids"`
}

// exportHeader is the first line of an export.
type exportHeader struct {
	Type          string    `json:"type"`
	Provider      string    `json:"provider"`
	Year          int       `json:"year"`
	CycleID       string    `json:"cycle_id"`
	ExportedAt    time.Time `json:"exported_at"`
	FormatVersion int       `json:"format_version"`
	Payloads      *Decoding `json:"payloads,omitempty"`
}

// exportHistoryEvent is one event of a workflow's history, as protojson (the
// shape `temporal workflow show --output json` prints).
type exportHistoryEvent struct {
	Type       string          `json:"type"`
	WorkflowID string          `json:"workflow_id"`
	RunID      string          `json:"run_id"`
	Event      json.RawMessage `json:"event"`
}

// AuditExport writes a cycle's audit trail and its workflow histories as JSON
// Lines: a header, the audit events, each workflow followed by its history
// events, and an end line with the counts, which it returns, and the audit
// chain's head.
//
// Lines are written as they are encoded: a caller that must not leave half
// an export behind (a file, a response already under way) writes to a
// buffer first.
func AuditExport(w io.Writer, e Export) (ExportCounts, error) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	line := func(v any) error {
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("writing the audit export: %w", err)
		}
		return nil
	}
	if err := line(exportHeader{Type: "export", Provider: e.Provider, Year: e.Year, CycleID: e.CycleID,
		ExportedAt: e.ExportedAt.UTC(), FormatVersion: ExportFormatVersion, Payloads: e.Payloads}); err != nil {
		return ExportCounts{}, err
	}
	for _, ev := range e.Events {
		if err := line(struct {
			Type string `json:"type"`
			store.Event
		}{"audit_event", ev}); err != nil {
			return ExportCounts{}, err
		}
	}
	historyEvents := 0
	for _, wf := range e.Workflows {
		if err := line(struct {
			Type string `json:"type"`
			Workflow
		}{"workflow", wf}); err != nil {
			return ExportCounts{}, err
		}
		for _, ev := range wf.History {
			raw, err := protojson.Marshal(ev)
			if err != nil {
				return ExportCounts{}, fmt.Errorf("encoding event %d of %s: %w", ev.GetEventId(), wf.WorkflowID, err)
			}
			if err := line(exportHistoryEvent{Type: "history_event", WorkflowID: wf.WorkflowID, RunID: wf.RunID, Event: raw}); err != nil {
				return ExportCounts{}, err
			}
			historyEvents++
		}
	}
	counts := ExportCounts{AuditEvents: len(e.Events), Workflows: len(e.Workflows), HistoryEvents: historyEvents}
	if err := line(struct {
		Type string `json:"type"`
		ExportCounts
		ChainHead *store.ChainHead `json:"chain_head,omitempty"`
	}{"end", counts, e.ChainHead}); err != nil {
		return ExportCounts{}, err
	}
	return counts, nil
}
