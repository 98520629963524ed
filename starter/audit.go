package main

import (
	"bytes"
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
)

// auditVerify recomputes the audit trail's hash chain: "ok N events" and exit
// 0, or the first broken event and exit 1.
func (a *app) auditVerify(ctx context.Context, args []string) error {
	fs := newFlags("audit verify")
	asJSON := fs.Bool("json", false, "print JSON")
	as := readAs(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	actor, svc, err := a.readerService(ctx, *as)
	if err != nil {
		return err
	}
	v, err := svc.VerifyAudit(ctx, actor)
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
		if v.Pseudonymisations > 0 {
			a.printf("%s rewritten by %s, each as its run certified\n", plural(int(v.Pseudonymised), "event was", "events were"),
				plural(int(v.Pseudonymisations), "pseudonymisation", "pseudonymisations"))
		}
	}
	return nil
}

// auditLog prints the audit events a filter selects.
func (a *app) auditLog(ctx context.Context, args []string) error {
	fs := newFlags("audit log")
	var f service.AuditFilter
	fs.StringVar(&f.Provider, "provider", "", "provider code")
	fs.IntVar(&f.Year, "year", 0, "cycle year")
	fs.StringVar(&f.Actor, "actor", "", "person ID, or system, or operator")
	since := fs.String("since", "", "YYYY-MM-DD or RFC 3339 time")
	asJSON := fs.Bool("json", false, "print JSON")
	asCSV := fs.Bool("csv", false, "print CSV")
	as := readAs(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *asJSON && *asCSV {
		return usagef("audit log: choose --json or --csv, not both")
	}
	if *since != "" {
		t, err := parseSince(*since)
		if err != nil {
			return err
		}
		f.Since = t
	}
	actor, svc, err := a.readerService(ctx, *as)
	if err != nil {
		return err
	}
	events, err := svc.AuditLog(ctx, actor, f)
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
	fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tVIA\tACTION\tSUBJECT\tWORKFLOW")
	for _, e := range events {
		via := review.Via{Channel: e.Channel, Ref: e.ChannelRef}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.Local().Format("2006-01-02 15:04:05"), e.Actor, orDash(via.String()), e.Action, e.Subject, orDash(e.WorkflowID))
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

// cycleHistory prints where each of a cycle's workflow histories can be read.
func (a *app) cycleHistory(ctx context.Context, args []string) error {
	fs := newFlags("cycle history")
	var ref cycleRef
	asJSON := fs.Bool("json", false, "print JSON")
	as := readAs(fs)
	if err := ref.parse(fs, args); err != nil {
		return err
	}
	actor, svc, err := a.readerService(ctx, *as)
	if err != nil {
		return err
	}
	wfs, err := svc.CycleWorkflows(ctx, actor, ref.provider, ref.year, false)
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
	as := readAs(fs)
	if err := ref.parse(fs, args); err != nil {
		return err
	}
	actor, _, err := a.readerService(ctx, *as)
	if err != nil {
		return err
	}
	buf, counts, err := a.exportCycle(ctx, actor, ref.provider, ref.year)
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

// exportCycle renders the audit export of a cycle (render.AuditExport) in
// memory, so that a failure writes nothing.
func (a *app) exportCycle(ctx context.Context, actor service.Actor, provider string, year int) ([]byte, render.ExportCounts, error) {
	svc, err := a.service(ctx)
	if err != nil {
		return nil, render.ExportCounts{}, err
	}
	export, err := svc.AuditExport(ctx, actor, provider, year)
	if err != nil {
		return nil, render.ExportCounts{}, err
	}
	var buf bytes.Buffer
	counts, err := render.AuditExport(&buf, export)
	if err != nil {
		return nil, render.ExportCounts{}, err
	}
	return buf.Bytes(), counts, nil
}
