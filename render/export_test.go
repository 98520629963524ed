package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/oho-dev/oho/store"
)

// exportFixture is a cycle with two audit events and two workflows, the
// second still running; times are in Helsinki, the export writes UTC.
func exportFixture(t *testing.T) Export {
	t.Helper()
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 1, 11, 0, 0, 0, helsinki)
	started := &historypb.HistoryEvent{EventId: 1, EventTime: timestamppb.New(at), EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
			WorkflowType: &commonpb.WorkflowType{Name: "ReviewCycle"}}}}
	completed := &historypb.HistoryEvent{EventId: 2, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED}
	return Export{
		Provider: "ACME", Year: 2025, CycleID: "review-cycle/ACME/2025", ExportedAt: time.Date(2025, 9, 1, 15, 4, 5, 0, helsinki),
		Events: []store.Event{
			{ID: 7, Seq: 1, At: at, Actor: "m.manager", Action: "cycle.started", Subject: "review-cycle/ACME/2025", CycleID: "review-cycle/ACME/2025",
				Payload: json.RawMessage(`{"note":"<b> & co"}`), PrevHash: strings.Repeat("0", 64), Hash: strings.Repeat("a", 64)},
			{ID: 8, Seq: 2, At: at, Actor: "system", Action: "task.opened", Subject: "ACME/2025/evaluate/NORTH",
				Payload: json.RawMessage(`{}`), PrevHash: strings.Repeat("a", 64), Hash: strings.Repeat("b", 64)},
		},
		Workflows: []Workflow{
			{WorkflowID: "review-cycle/ACME/2025", RunID: "run-1", WorkflowType: "ReviewCycle", Status: "Completed",
				StartTime: at, CloseTime: at.Add(time.Hour), HistoryLength: 2, WebUI: "http://ui/1", History: []*historypb.HistoryEvent{started, completed}},
			{WorkflowID: "review-cycle/ACME/2025/unit/NORTH", RunID: "run-2", WorkflowType: "UnitReview", Status: "Running",
				StartTime: at, WebUI: "http://ui/2"},
		},
		Payloads: &Decoding{Written: "decrypted", For: "a.auditor", Encrypted: 3, Plain: 1, KeyIDs: []string{"k1", "k2"}},
	}
}

func TestAuditExport(t *testing.T) {
	var b bytes.Buffer
	counts, err := AuditExport(&b, exportFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	// Format version 2, byte for byte: readers of exports already written
	// depend on it.
	want := []string{
		`{"type":"export","provider":"ACME","year":2025,"cycle_id":"review-cycle/ACME/2025","exported_at":"2025-09-01T12:04:05Z","format_version":2,` +
			`"payloads":{"written":"decrypted","for":"a.auditor","encrypted":3,"plain":1,"key_ids":["k1","k2"]}}`,
		`{"type":"audit_event","id":7,"seq":1,"at":"2025-03-01T11:00:00+02:00","actor":"m.manager","action":"cycle.started","subject":"review-cycle/ACME/2025","cycle_id":"review-cycle/ACME/2025","payload":{"note":"<b> & co"},"prev_hash":"` + strings.Repeat("0", 64) + `","hash":"` + strings.Repeat("a", 64) + `"}`,
		`{"type":"audit_event","id":8,"seq":2,"at":"2025-03-01T11:00:00+02:00","actor":"system","action":"task.opened","subject":"ACME/2025/evaluate/NORTH","payload":{},"prev_hash":"` + strings.Repeat("a", 64) + `","hash":"` + strings.Repeat("b", 64) + `"}`,
		`{"type":"workflow","workflow_id":"review-cycle/ACME/2025","run_id":"run-1","workflow_type":"ReviewCycle","status":"Completed","start_time":"2025-03-01T11:00:00+02:00","close_time":"2025-03-01T12:00:00+02:00","history_length":2,"web_ui":"http://ui/1"}`,
		`{"type":"history_event","workflow_id":"review-cycle/ACME/2025","run_id":"run-1","event":{"eventId":"1","eventTime":"2025-03-01T09:00:00Z","eventType":"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED","workflowExecutionStartedEventAttributes":{"workflowType":{"name":"ReviewCycle"}}}}`,
		`{"type":"history_event","workflow_id":"review-cycle/ACME/2025","run_id":"run-1","event":{"eventId":"2","eventType":"EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"}}`,
		`{"type":"workflow","workflow_id":"review-cycle/ACME/2025/unit/NORTH","run_id":"run-2","workflow_type":"UnitReview","status":"Running","start_time":"2025-03-01T11:00:00+02:00","history_length":0,"web_ui":"http://ui/2"}`,
		`{"type":"end","audit_events":2,"workflows":2,"history_events":2}`,
	}
	got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if !strings.HasSuffix(b.String(), "\n") || len(got) != len(want) {
		t.Fatalf("got %d lines, want %d, each ending in a newline:\n%s", len(got), len(want), b.String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\ngot  %s\nwant %s", i+1, got[i], want[i])
		}
	}
	if want := (ExportCounts{AuditEvents: 2, Workflows: 2, HistoryEvents: 2}); counts != want {
		t.Errorf("got counts %+v, want %+v", counts, want)
	}
}

func TestEventsCSV(t *testing.T) {
	var b bytes.Buffer
	if err := EventsCSV(&b, exportFixture(t).Events[:1]); err != nil {
		t.Fatal(err)
	}
	want := "seq,id,at,actor,action,subject,cycle_id,workflow_id,run_id,payload,prev_hash,hash\n" +
		`1,7,2025-03-01T09:00:00Z,m.manager,cycle.started,review-cycle/ACME/2025,review-cycle/ACME/2025,,,"{""note"":""<b> & co""}",` +
		strings.Repeat("0", 64) + "," + strings.Repeat("a", 64) + "\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
