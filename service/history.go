package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// WebUI is the address of a workflow's history in the Temporal Web UI, or of
// the workflow when runID is empty.
func (s *Service) WebUI(workflowID, runID string) string {
	u := fmt.Sprintf("%s/namespaces/%s/workflows/%s", s.ui, url.PathEscape(s.namespace), url.PathEscape(workflowID))
	if runID != "" {
		u += "/" + url.PathEscape(runID) + "/history"
	}
	return u
}

// CycleWorkflows returns the workflows of the provider's cycle for the year
// as the Temporal server knows them — the cycle's own (its latest run), then
// each unit's in workflow ID order (for a year started again, every
// attempt's own first, the first attempt first, then all their units') — with the address of each history in the
// Web UI, and, when withHistory is set, the histories themselves. The
// provider's auditors and managers may read them.
//
// The units' workflows are read from the cycle's history (the children that
// run really started, each with its run ID), rather than guessed from the
// units or the tasks table (a unit with no task yet would be missed) or
// listed by search attributes (visibility lags behind and would also list
// the children of an earlier run of the same cycle). Their histories are
// read to find them in any case.
func (s *Service) CycleWorkflows(ctx context.Context, a Actor, provider string, year int, withHistory bool) ([]render.Workflow, error) {
	if err := checkCycle(provider, year); err != nil {
		return nil, err
	}
	if err := a.authorize(provider, authz.OpAudit, authz.Subject{On: "the workflow histories of " + provider}); err != nil {
		return nil, err
	}
	if _, err := s.store.Cycle(ctx, provider, year); err != nil {
		return nil, fromStore(err)
	}
	return s.cycleWorkflows(ctx, provider, year, withHistory)
}

// attempts are the IDs of the provider's cycles for the year: one, or more
// when the year was started again after a failed or cancelled attempt.
func (s *Service) attempts(ctx context.Context, provider string, year int) ([]string, error) {
	cycles, err := s.store.Cycles(ctx, provider)
	if err != nil {
		return nil, fromStore(err)
	}
	var ids []string
	for _, c := range cycles {
		if c.Year == year {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) == 0 {
		ids = []string{review.CycleID(provider, year)}
	}
	return ids, nil
}

func (s *Service) cycleWorkflows(ctx context.Context, provider string, year int, withHistory bool) ([]render.Workflow, error) {
	c, err := s.client(ctx)
	if err != nil {
		return nil, err
	}
	type run struct{ id, runID string }
	ids, err := s.attempts(ctx, provider, year)
	if err != nil {
		return nil, err
	}
	var runs []run
	for _, id := range ids {
		runs = append(runs, run{id: id})
	}
	var out []render.Workflow
	for i := 0; i < len(runs); i++ {
		r := runs[i]
		desc, err := c.DescribeWorkflow(ctx, r.id, r.runID)
		if err != nil {
			var notFound *serviceerror.NotFound
			if errors.As(err, &notFound) {
				return nil, &Error{kind: ErrNotFound, msg: fmt.Sprintf("there is no workflow %s on the Temporal server (its history may have passed the namespace's retention period)", r.id), err: err}
			}
			return nil, fromTemporal("reading workflow "+r.id, err)
		}
		w := render.Workflow{
			WorkflowID: r.id, RunID: desc.WorkflowExecution.RunID, WorkflowType: desc.WorkflowType.Name,
			Status:    strings.TrimPrefix(desc.Status.String(), "WORKFLOW_EXECUTION_STATUS_"),
			StartTime: desc.WorkflowStartTime,
		}
		if desc.WorkflowCloseTime != nil {
			w.CloseTime = *desc.WorkflowCloseTime
		}
		w.WebUI = s.WebUI(w.WorkflowID, w.RunID)
		iter := c.GetWorkflowHistory(ctx, w.WorkflowID, w.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			e, err := iter.Next()
			if err != nil {
				return nil, fromTemporal("reading the history of "+w.WorkflowID, err)
			}
			w.HistoryLength++
			if withHistory {
				w.History = append(w.History, e)
			}
			if i < len(ids) { // a cycle's own workflow
				if started := e.GetChildWorkflowExecutionStartedEventAttributes(); started != nil {
					runs = append(runs, run{id: started.GetWorkflowExecution().GetWorkflowId(), runID: started.GetWorkflowExecution().GetRunId()})
				}
			}
		}
		out = append(out, w)
	}
	slices.SortFunc(out[len(ids):], func(a, b render.Workflow) int { return strings.Compare(a.WorkflowID, b.WorkflowID) })
	return out, nil
}

// AuditExport gathers what the audit export of the provider's cycle for the
// year holds: the cycle's audit events and its workflows with their whole
// histories, stamped with the time of the export. The provider's auditors
// and managers may export. The histories' payloads are decrypted for them
// (the export's header says so, and for whom), so that what people wrote
// reads in the export and each completion can be matched to its Update, and
// the audit trail records that they read them (payloads.decoded, naming the
// cycle exported) when any was encrypted.
func (s *Service) AuditExport(ctx context.Context, a Actor, provider string, year int) (render.Export, error) {
	if err := checkCycle(provider, year); err != nil {
		return render.Export{}, err
	}
	if err := a.authorize(provider, authz.OpAudit, authz.Subject{On: "the audit trail of " + provider}); err != nil {
		return render.Export{}, err
	}
	cyc, err := s.store.Cycle(ctx, provider, year)
	if err != nil {
		return render.Export{}, fromStore(err)
	}
	// A year started again exports every attempt's events, in the chain's
	// order, as it does every attempt's workflows.
	ids, err := s.attempts(ctx, provider, year)
	if err != nil {
		return render.Export{}, err
	}
	var events []store.Event
	for _, id := range ids {
		evs, err := s.store.Events(ctx, id)
		if err != nil {
			return render.Export{}, fromStore(err)
		}
		events = append(events, evs...)
	}
	slices.SortFunc(events, func(a, b store.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	wfs, err := s.cycleWorkflows(ctx, provider, year, true)
	if err != nil {
		return render.Export{}, err
	}
	decoding, err := s.decodeHistories(ctx, a, provider, wfs)
	if err != nil {
		return render.Export{}, err
	}
	// Reading decrypted payloads is recorded, as through the codec server,
	// and before the head is read, so that the export's head covers it.
	if decoding.Encrypted > 0 {
		ev := store.IdentityEvent{Actor: a.ID(), Action: store.ActionPayloadsDecoded, Subject: "provider/" + provider,
			Payload: map[string]any{"provider": provider, "payloads": decoding.Encrypted, "namespace": s.namespace,
				"audit_export": cyc.ID}}
		if err := s.store.RecordIdentity(a.ctx(ctx), ev); err != nil {
			return render.Export{}, fromStore(err)
		}
	}
	head, err := s.store.Head(ctx)
	if err != nil {
		return render.Export{}, fromStore(err)
	}
	return render.Export{Provider: provider, Year: year, CycleID: cyc.ID, ExportedAt: s.now(), Events: events, Workflows: wfs,
		Payloads: &decoding, ChainHead: &head}, nil
}

// CycleSummary is what a cycle did, for people: the store's report of it
// and the notices it queued.
type CycleSummary struct {
	store.Report
	Notices []store.NoticeCount `json:"notices"`
}

// CycleSummary summarises the provider's cycle for the year: counts of what
// was recorded, the published version, tasks done per unit, and the
// notices queued. Like the report, it is for the provider's staff and
// auditors.
func (s *Service) CycleSummary(ctx context.Context, a Actor, provider string, year int) (CycleSummary, error) {
	if err := checkCycle(provider, year); err != nil {
		return CycleSummary{}, err
	}
	if err := a.authorize(provider, authz.OpReport, authz.Subject{On: "the report of " + provider}); err != nil {
		return CycleSummary{}, err
	}
	rep, err := s.store.CycleReport(ctx, provider, year)
	if err != nil {
		return CycleSummary{}, fromStore(err)
	}
	notices, err := s.store.NoticeCounts(ctx, rep.Cycle.ID)
	if err != nil {
		return CycleSummary{}, fromStore(err)
	}
	return CycleSummary{Report: rep, Notices: notices}, nil
}
