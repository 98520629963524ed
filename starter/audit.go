package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/render"
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
		return render.EventsCSV(a.stdout, events)
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

// cycleWorkflows finds a cycle's workflows on the Temporal server: the
// cycle's own (its latest run), then each unit's child in unit code order.
// The children are read from the cycle's history (the children that run
// really started, each with its run ID), rather than guessed from the units
// or the tasks table (a unit with no task yet would be missed) or listed by
// search attributes (visibility lags behind and would also list the children
// of an earlier run of the same cycle). Each comes with its whole history.
func (a *app) cycleWorkflows(ctx context.Context, provider string, year int) ([]render.Workflow, error) {
	st, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := st.Cycle(ctx, provider, year); err != nil {
		return nil, err
	}
	c, err := a.client(ctx)
	if err != nil {
		return nil, err
	}
	parentID := review.CycleID(provider, year)
	type run struct{ id, runID string }
	runs := []run{{id: parentID}}
	var out []render.Workflow
	for i := 0; i < len(runs); i++ {
		r := runs[i]
		desc, err := c.DescribeWorkflowExecution(ctx, r.id, r.runID)
		if err != nil {
			var notFound *serviceerror.NotFound
			if errors.As(err, &notFound) {
				return nil, fmt.Errorf("Temporal has no workflow %s (its history may have passed the namespace's retention period)", r.id)
			}
			return nil, fmt.Errorf("reading workflow %s from Temporal: %w", r.id, err)
		}
		info := desc.GetWorkflowExecutionInfo()
		w := render.Workflow{
			WorkflowID: r.id, RunID: info.GetExecution().GetRunId(), WorkflowType: info.GetType().GetName(),
			Status:    strings.TrimPrefix(info.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"),
			StartTime: info.GetStartTime().AsTime(),
		}
		if info.GetCloseTime() != nil {
			w.CloseTime = info.GetCloseTime().AsTime()
		}
		w.WebUI = webUIURL(w.WorkflowID, w.RunID)
		iter := c.GetWorkflowHistory(ctx, w.WorkflowID, w.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			e, err := iter.Next()
			if err != nil {
				return nil, fmt.Errorf("reading the history of %s: %w", w.WorkflowID, err)
			}
			w.History = append(w.History, e)
			if i == 0 {
				if started := e.GetChildWorkflowExecutionStartedEventAttributes(); started != nil {
					runs = append(runs, run{id: started.GetWorkflowExecution().GetWorkflowId(), runID: started.GetWorkflowExecution().GetRunId()})
				}
			}
		}
		w.HistoryLength = int64(len(w.History))
		out = append(out, w)
	}
	slices.SortFunc(out[1:], func(a, b render.Workflow) int { return strings.Compare(a.WorkflowID, b.WorkflowID) })
	return out, nil
}

// cycleHistory prints where each of a cycle's workflow histories can be read.
func (a *app) cycleHistory(ctx context.Context, args []string) error {
	fs := newFlags("cycle history")
	var ref cycleRef
	asJSON := fs.Bool("json", false, "print JSON")
	if err := ref.parse(fs, args); err != nil {
		return err
	}
	wfs, err := a.cycleWorkflows(ctx, ref.provider, ref.year)
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

// exportCycle gathers a cycle's audit events and workflow histories and
// renders its audit export (render.AuditExport) in memory.
func (a *app) exportCycle(ctx context.Context, provider string, year int) ([]byte, render.ExportCounts, error) {
	st, err := a.store(ctx)
	if err != nil {
		return nil, render.ExportCounts{}, err
	}
	cyc, err := st.Cycle(ctx, provider, year)
	if err != nil {
		return nil, render.ExportCounts{}, err
	}
	events, err := st.Events(ctx, cyc.ID)
	if err != nil {
		return nil, render.ExportCounts{}, err
	}
	wfs, err := a.cycleWorkflows(ctx, provider, year)
	if err != nil {
		return nil, render.ExportCounts{}, err
	}
	var buf bytes.Buffer
	counts, err := render.AuditExport(&buf, render.Export{Provider: provider, Year: year, CycleID: cyc.ID,
		ExportedAt: time.Now(), Events: events, Workflows: wfs})
	if err != nil {
		return nil, render.ExportCounts{}, err
	}
	return buf.Bytes(), counts, nil
}
