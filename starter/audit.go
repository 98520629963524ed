package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// auditVerify recomputes the audit trail's hash chain: "ok N events" and exit
// 0, or the first broken event and exit 1.
func (a *app) auditVerify(ctx context.Context, args []string) error {
	fs := newFlags("audit verify")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	v, err := st.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := a.printJSON(v); err != nil {
			return err
		}
	}
	if v.Broken != nil {
		return fmt.Errorf("the audit trail is broken at %s", v.Broken)
	}
	if !*asJSON {
		a.printf("ok %d events\n", v.Events)
	}
	return nil
}

// auditLog prints the audit events a filter selects.
func (a *app) auditLog(ctx context.Context, args []string) error {
	fs := newFlags("audit log")
	var f store.AuditFilter
	fs.StringVar(&f.Provider, "provider", "", "provider code")
	fs.IntVar(&f.Year, "year", 0, "cycle year")
	fs.StringVar(&f.Actor, "actor", "", "person ID, or system")
	since := fs.String("since", "", "YYYY-MM-DD or RFC 3339 time")
	asJSON := fs.Bool("json", false, "print JSON")
	asCSV := fs.Bool("csv", false, "print CSV")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *asJSON && *asCSV:
		return usagef("audit log: choose --json or --csv, not both")
	case f.Provider != "" && !check.Code(f.Provider):
		return fmt.Errorf("--provider %q is not a provider code", f.Provider)
	case f.Year != 0 && (f.Year < 2000 || f.Year > 2999):
		return fmt.Errorf("--year %d is not a year between 2000 and 2999", f.Year)
	case f.Actor != "" && f.Actor != store.ActorSystem && !check.Person(f.Actor):
		return fmt.Errorf("--actor %q is not a person ID", f.Actor)
	}
	if *since != "" {
		t, err := parseSince(*since)
		if err != nil {
			return err
		}
		f.Since = t
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	events, err := st.AuditLog(ctx, f)
	if err != nil {
		return err
	}
	switch {
	case *asJSON:
		return a.printJSON(events)
	case *asCSV:
		return writeEventsCSV(a.stdout, events)
	}
	if len(events) == 0 {
		a.printf("no events\n")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tSUBJECT\tWORKFLOW")
	for _, e := range events {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.Local().Format("2006-01-02 15:04:05"), e.Actor, e.Action, e.Subject, orDash(e.WorkflowID))
	}
	return tw.Flush()
}

func parseSince(s string) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q is not a date (YYYY-MM-DD) or a time (2027-03-01T09:00:00+02:00)", s)
}

// writeEventsCSV writes the events as CSV with a header row; the payload is
// one JSON column.
func writeEventsCSV(w io.Writer, events []store.Event) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"seq", "id", "at", "actor", "action", "subject", "cycle_id", "workflow_id", "run_id", "payload", "prev_hash", "hash"})
	for _, e := range events {
		cw.Write([]string{fmt.Sprint(e.Seq), fmt.Sprint(e.ID), e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Subject,
			e.CycleID, e.WorkflowID, e.RunID, string(e.Payload), e.PrevHash, e.Hash})
	}
	cw.Flush()
	return cw.Error()
}

// cycleWorkflow is one workflow of a cycle as Temporal knows it.
type cycleWorkflow struct {
	WorkflowID    string    `json:"workflow_id"`
	RunID         string    `json:"run_id"`
	WorkflowType  string    `json:"workflow_type"`
	Status        string    `json:"status"`
	StartTime     time.Time `json:"start_time"`
	CloseTime     time.Time `json:"close_time,omitzero"`
	HistoryLength int64     `json:"history_length"`
	WebUI         string    `json:"web_ui"`
}

// cycleWorkflows finds a cycle's workflows on the Temporal server: the
// cycle's own (its latest run), then each unit's child in unit code order.
// The children are read from the cycle's history (the children that run
// really started, each with its run ID), rather than guessed from the units
// or the tasks table (a unit with no task yet would be missed) or listed by
// search attributes (visibility lags behind and would also list the children
// of an earlier run of the same cycle).
func (a *app) cycleWorkflows(ctx context.Context, provider string, year int) ([]cycleWorkflow, map[string][]*historypb.HistoryEvent, error) {
	st, err := a.store(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, err := st.Cycle(ctx, provider, year); err != nil {
		return nil, nil, err
	}
	c, err := a.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	histories := map[string][]*historypb.HistoryEvent{}
	parentID := review.CycleID(provider, year)
	type run struct{ id, runID string }
	runs := []run{{id: parentID}}
	var out []cycleWorkflow
	for i := 0; i < len(runs); i++ {
		r := runs[i]
		desc, err := c.DescribeWorkflowExecution(ctx, r.id, r.runID)
		if err != nil {
			var notFound *serviceerror.NotFound
			if errors.As(err, &notFound) {
				return nil, nil, fmt.Errorf("Temporal has no workflow %s (its history may have passed the namespace's retention period)", r.id)
			}
			return nil, nil, fmt.Errorf("reading workflow %s from Temporal: %w", r.id, err)
		}
		info := desc.GetWorkflowExecutionInfo()
		w := cycleWorkflow{
			WorkflowID: r.id, RunID: info.GetExecution().GetRunId(), WorkflowType: info.GetType().GetName(),
			Status:    strings.TrimPrefix(info.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"),
			StartTime: info.GetStartTime().AsTime(),
		}
		if info.GetCloseTime() != nil {
			w.CloseTime = info.GetCloseTime().AsTime()
		}
		w.WebUI = webUIURL(w.WorkflowID, w.RunID)
		var events []*historypb.HistoryEvent
		iter := c.GetWorkflowHistory(ctx, w.WorkflowID, w.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			e, err := iter.Next()
			if err != nil {
				return nil, nil, fmt.Errorf("reading the history of %s: %w", w.WorkflowID, err)
			}
			events = append(events, e)
			if i == 0 {
				if started := e.GetChildWorkflowExecutionStartedEventAttributes(); started != nil {
					runs = append(runs, run{id: started.GetWorkflowExecution().GetWorkflowId(), runID: started.GetWorkflowExecution().GetRunId()})
				}
			}
		}
		w.HistoryLength = int64(len(events))
		histories[w.WorkflowID] = events
		out = append(out, w)
	}
	slices.SortFunc(out[1:], func(a, b cycleWorkflow) int { return strings.Compare(a.WorkflowID, b.WorkflowID) })
	return out, histories, nil
}

// cycleHistory prints where each of a cycle's workflow histories can be read.
func (a *app) cycleHistory(ctx context.Context, args []string) error {
	fs := newFlags("cycle history")
	var ref cycleRef
	asJSON := fs.Bool("json", false, "print JSON")
	if err := ref.parse(fs, args); err != nil {
		return err
	}
	wfs, _, err := a.cycleWorkflows(ctx, ref.provider, ref.year)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(wfs)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKFLOW\tSTATUS\tEVENTS\tHISTORY")
	for _, w := range wfs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", w.WorkflowID, w.Status, w.HistoryLength, w.WebUI)
	}
	return tw.Flush()
}

// exportFormat is the version of the audit export's layout.
const exportFormat = 1

// auditExport writes a cycle's audit trail and its workflow histories as JSON
// Lines: a header, the audit events, each workflow followed by its history
// events, and a trailer with the counts, so a reader can tell the file is
// whole. It is built in memory and written at once (to --out atomically), so
// a failure leaves nothing half-written.
func (a *app) auditExport(ctx context.Context, args []string) error {
	fs := newFlags("audit export")
	var ref cycleRef
	out := fs.String("out", "", "file to write (default: standard output)")
	if err := ref.parse(fs, args); err != nil {
		return err
	}
	buf, counts, err := a.exportCycle(ctx, ref.provider, ref.year)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err := a.stdout.Write(buf)
		return err
	}
	if err := writeFileAtomic(*out, buf); err != nil {
		return err
	}
	a.printf("wrote %s: %d audit events, %d workflows, %d history events\n", *out, counts.AuditEvents, counts.Workflows, counts.HistoryEvents)
	return nil
}

// exportHeader is the first line of an export.
type exportHeader struct {
	Type          string    `json:"type"`
	Provider      string    `json:"provider"`
	Year          int       `json:"year"`
	CycleID       string    `json:"cycle_id"`
	ExportedAt    time.Time `json:"exported_at"`
	FormatVersion int       `json:"format_version"`
}

// exportHistoryEvent is one event of a workflow's history, as protojson (the
// shape `temporal workflow show --output json` prints).
type exportHistoryEvent struct {
	Type       string          `json:"type"`
	WorkflowID string          `json:"workflow_id"`
	RunID      string          `json:"run_id"`
	Event      json.RawMessage `json:"event"`
}

// exportCounts is what an export holds, as its end line says.
type exportCounts struct {
	AuditEvents   int `json:"audit_events"`
	Workflows     int `json:"workflows"`
	HistoryEvents int `json:"history_events"`
}

// exportCycle renders the audit export of a cycle.
func (a *app) exportCycle(ctx context.Context, provider string, year int) ([]byte, exportCounts, error) {
	var counts exportCounts
	st, err := a.store(ctx)
	if err != nil {
		return nil, counts, err
	}
	cyc, err := st.Cycle(ctx, provider, year)
	if err != nil {
		return nil, counts, err
	}
	events, err := st.Events(ctx, cyc.ID)
	if err != nil {
		return nil, counts, err
	}
	wfs, histories, err := a.cycleWorkflows(ctx, provider, year)
	if err != nil {
		return nil, counts, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	line := func(v any) error { return enc.Encode(v) }
	if err := line(exportHeader{Type: "export", Provider: provider, Year: year, CycleID: cyc.ID,
		ExportedAt: time.Now().UTC(), FormatVersion: exportFormat}); err != nil {
		return nil, counts, err
	}
	for _, e := range events {
		if err := line(struct {
			Type string `json:"type"`
			store.Event
		}{"audit_event", e}); err != nil {
			return nil, counts, err
		}
	}
	historyEvents := 0
	for _, w := range wfs {
		if err := line(struct {
			Type string `json:"type"`
			cycleWorkflow
		}{"workflow", w}); err != nil {
			return nil, counts, err
		}
		for _, e := range histories[w.WorkflowID] {
			raw, err := protojson.Marshal(e)
			if err != nil {
				return nil, counts, fmt.Errorf("encoding event %d of %s: %w", e.GetEventId(), w.WorkflowID, err)
			}
			if err := line(exportHistoryEvent{Type: "history_event", WorkflowID: w.WorkflowID, RunID: w.RunID, Event: raw}); err != nil {
				return nil, counts, err
			}
			historyEvents++
		}
	}
	counts = exportCounts{AuditEvents: len(events), Workflows: len(wfs), HistoryEvents: historyEvents}
	if err := line(struct {
		Type string `json:"type"`
		exportCounts
	}{"end", counts}); err != nil {
		return nil, exportCounts{}, err
	}
	return buf.Bytes(), counts, nil
}
