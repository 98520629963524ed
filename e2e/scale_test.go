package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
)

// TestFiftyUnitsThreeRoundsHistory runs the largest cycle the design brief
// plans for — 50 units, three rounds in which every unit signs — and checks
// that the parent's history stays well inside Temporal's limits (a warning
// at 10,240 events), the per-unit work living in the children.
func TestFiftyUnitsThreeRoundsHistory(t *testing.T) {
	const n = 50
	e := newEnv(t)
	e.startWorker()

	var codes []string
	org := map[string]any{"provider": map[string]string{"code": e.provider, "name": "Large College"}}
	people := []map[string]any{
		{"id": "m.manager", "name": "Manager", "roles": []map[string]string{{"role": "manager", "unit": ""}}},
		{"id": "p.editor", "name": "Editor", "roles": []map[string]string{{"role": "plan_editor", "unit": ""}}},
		{"id": "r.approver", "name": "Approver", "roles": []map[string]string{{"role": "approver", "unit": ""}}},
	}
	var unitList []map[string]string
	for i := range n {
		u := fmt.Sprintf("U%02d", i)
		codes = append(codes, u)
		unitList = append(unitList, map[string]string{"code": u, "name": "Unit " + u})
		for _, role := range []string{"unit_head", "welfare_staff", "student_rep"} {
			people = append(people, map[string]any{"id": strings.ToLower(u) + "." + role, "name": role + " " + u,
				"roles": []map[string]string{{"role": role, "unit": u}}})
		}
	}
	org["units"], org["people"] = unitList, people
	e.ok("org", "import", e.file("org.json", org))
	wfID := strings.TrimSpace(e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year,
		"--config", e.file("cfg.json", `{"max_rounds": 3}`)))

	c := dialTemporal(t)
	svc := service.New(service.Config{Store: store.New(e.db), Temporal: func(context.Context) (client.Client, error) { return c, nil }})

	// complete sends completions through the service, ten at a time,
	// Temporal's limit of Updates in flight per workflow, waiting for each
	// task to be open first.
	complete := func(reqs []completion) {
		t.Helper()
		sem := make(chan struct{}, 10)
		var wg sync.WaitGroup
		errs := make(chan error, len(reqs))
		for _, req := range reqs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				for ctx.Err() == nil && e.count(`SELECT count(*) FROM tasks WHERE id = $1 AND status = 'open'`, req.TaskID) == 0 {
					time.Sleep(50 * time.Millisecond)
				}
				actor, err := svc.Act(ctx, req.Actor, review.Via{Channel: review.ChannelCLI, Ref: "e2e"})
				if err == nil {
					_, err = svc.CompleteTask(ctx, actor, req.TaskID, req.Outcome)
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", req.TaskID, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	raw := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	var units []completion
	for _, u := range codes {
		l := strings.ToLower(u)
		units = append(units,
			completion{TaskID: e.taskID(review.KindEvaluate, 0, u), Actor: l + ".welfare_staff", Outcome: raw(evaluation(u))},
			completion{TaskID: e.taskID(review.KindConsult, 0, u), Actor: l + ".student_rep", Outcome: raw(consultation())})
	}
	complete(units)

	var dispositions []map[string]any
	for _, u := range codes {
		dispositions = append(dispositions,
			map[string]any{"item": u + "/F1", "decision": "rejected", "reason": "Covered by the provider-wide rota"},
			map[string]any{"item": u + "/S1", "decision": "deferred", "reason": "Planned with next year's budget"})
	}
	for round := 1; round <= 3; round++ {
		change := map[string]any{"changes": []map[string]any{{"id": "C1", "section": "communal", "text": fmt.Sprintf("Round %d wording.", round), "rationale": "Evaluation"}},
			"dispositions": dispositions, "coverage": coverage(nil)}
		complete([]completion{{TaskID: e.taskID(review.KindDraft, round, ""), Actor: "p.editor", Outcome: raw(change)}})
		var hash string
		if err := e.db.Get(&hash, `SELECT content_hash FROM plan_drafts WHERE cycle_id = $1 AND round = $2`, wfID, round); err != nil {
			t.Fatal(err)
		}
		// Every unit but the last approves; in rounds 1 and 2 the last asks for changes.
		var signs []completion
		for _, u := range codes[:n-1] {
			signs = append(signs, completion{TaskID: e.taskID(review.KindSignOff, round, u), Actor: strings.ToLower(u) + ".unit_head",
				Outcome: raw(map[string]any{"decision": "approve", "version_hash": hash})})
		}
		complete(signs)
		last := map[string]any{"decision": "approve", "version_hash": hash}
		if round < 3 {
			last = map[string]any{"decision": "request_changes", "comment": "One more pass", "version_hash": hash}
		}
		complete([]completion{{TaskID: e.taskID(review.KindSignOff, round, codes[n-1]), Actor: strings.ToLower(codes[n-1]) + ".unit_head", Outcome: raw(last)}})
	}
	complete([]completion{{TaskID: e.taskID(review.KindApprove, 3, ""), Actor: "r.approver",
		Outcome: raw(map[string]any{"decision": "approve", "effective_from": "2026-08-01"})}})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var summary workflows.Summary
	if err := c.GetWorkflow(ctx, wfID, "").Get(ctx, &summary); err != nil {
		t.Fatalf("cycle result: %v", err)
	}
	if summary.Rounds != 3 {
		t.Errorf("rounds: got %d, want 3", summary.Rounds)
	}
	parent := historyLength(ctx, t, c, wfID)
	child := historyLength(ctx, t, c, review.UnitReviewID(wfID, codes[0]))
	t.Logf("history events: parent %d (50 units, 3 rounds, 150 sign-offs), one unit's child %d", parent, child)
	if parent > 5000 {
		t.Errorf("parent history has %d events; want it well under Temporal's 10,240 warning (at most 5,000)", parent)
	}
}

// completion is a task to complete, by whom, with what.
type completion struct {
	TaskID  string
	Actor   string
	Outcome json.RawMessage
}

func historyLength(ctx context.Context, t *testing.T, c client.Client, workflowID string) int {
	t.Helper()
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, 0)
	n := 0
	for it.HasNext() {
		if _, err := it.Next(); err != nil {
			t.Fatalf("reading the history of %s: %v", workflowID, err)
		}
		n++
	}
	return n
}
