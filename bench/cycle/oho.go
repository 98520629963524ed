package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// bench holds what every OHO benchmark uses: the database, the service
// over it (in this process, as the web server and the command line hold
// it) and how changes come (the command line, ref "bench").
type bench struct {
	db  *sqlx.DB
	svc *service.Service
	via review.Via
}

// unitCodes names n units U000, U001, …
func unitCodes(n int) []string {
	var codes []string
	for i := range n {
		codes = append(codes, fmt.Sprintf("U%03d", i))
	}
	return codes
}

// person is the ID of the person of the provider holding role in unit (in
// every unit: unit ""). IDs are unique across providers.
func person(provider, unit, role string) string {
	if unit == "" {
		return strings.ToLower(provider) + "." + role
	}
	return strings.ToLower(provider + "." + unit + "." + role)
}

// importProvider imports a provider of n units with every role filled, as
// the operator.
func (b *bench) importProvider(ctx context.Context, provider string, n int) ([]string, error) {
	codes := unitCodes(n)
	people := []map[string]any{
		{"id": person(provider, "", "manager"), "name": "Manager", "roles": []map[string]string{{"role": "manager", "unit": ""}}},
		{"id": person(provider, "", "plan_editor"), "name": "Editor", "roles": []map[string]string{{"role": "plan_editor", "unit": ""}}},
		{"id": person(provider, "", "approver"), "name": "Approver", "roles": []map[string]string{{"role": "approver", "unit": ""}}},
	}
	var units []map[string]string
	for _, u := range codes {
		units = append(units, map[string]string{"code": u, "name": "Unit " + u})
		for _, role := range []string{"unit_head", "welfare_staff", "student_rep"} {
			people = append(people, map[string]any{"id": person(provider, u, role), "name": role + " " + u,
				"roles": []map[string]string{{"role": role, "unit": u}}})
		}
	}
	raw, err := json.Marshal(map[string]any{"provider": map[string]string{"code": provider, "name": "Bench " + provider},
		"units": units, "people": people})
	if err != nil {
		return nil, err
	}
	var org store.Org
	if err := json.Unmarshal(raw, &org); err != nil {
		return nil, err
	}
	if _, err := b.svc.ImportOrg(ctx, service.Operator(b.via), org); err != nil {
		return nil, fmt.Errorf("importing provider %s: %w", provider, err)
	}
	return codes, nil
}

// startCycle starts the provider's cycle of the year as its manager.
func (b *bench) startCycle(ctx context.Context, provider string, year, maxRounds int) (string, error) {
	a, err := b.svc.Act(ctx, person(provider, "", "manager"), b.via)
	if err != nil {
		return "", err
	}
	st, err := b.svc.StartCycle(ctx, a, service.StartCycle{Provider: provider, Year: year, Config: review.Config{MaxRounds: maxRounds}})
	if err != nil {
		return "", fmt.Errorf("starting the cycle %s %d: %w", provider, year, err)
	}
	return st.CycleID, nil
}

// waitOpen waits until the tasks are open in the database, looking every
// 50 ms (a whole cycle's figures include these waits: they are the time
// OHO's workflows take to open the next tasks).
func (b *bench) waitOpen(ctx context.Context, ids []string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		var n int
		if err := b.db.GetContext(ctx, &n, `SELECT count(*) FROM tasks WHERE id = ANY($1) AND status = 'open'`, pq.Array(ids)); err != nil {
			return fmt.Errorf("waiting for %d tasks to open: %w", len(ids), err)
		}
		if n == len(ids) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d tasks (%s, …) were open after %s", n, len(ids), ids[0], limit)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// completion is a task to complete, by whom, with what.
type completion struct {
	TaskID  string
	Actor   string
	Outcome json.RawMessage
}

// complete completes one task through the service, as the command line
// and the web pages do.
func (b *bench) complete(ctx context.Context, c completion) error {
	a, err := b.svc.Act(ctx, c.Actor, b.via)
	if err != nil {
		return err
	}
	if _, err := b.svc.CompleteTask(ctx, a, c.TaskID, c.Outcome); err != nil {
		return fmt.Errorf("completing %s as %s: %w", c.TaskID, c.Actor, err)
	}
	return nil
}

// completeAll completes the tasks once they are open, ten at a time
// (Temporal's limit of Updates in flight per workflow): the set-up of a
// benchmark, not what it measures.
func (b *bench) completeAll(ctx context.Context, cs []completion) error {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.TaskID)
	}
	if err := b.waitOpen(ctx, ids, 5*time.Minute); err != nil {
		return err
	}
	sem := make(chan struct{}, 10)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, c := range cs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := b.complete(ctx, c); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// raw encodes an outcome.
func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encoding an outcome the benchmark wrote: %v", err)) // a bug in the benchmark
	}
	return b
}

// unitWork is the evaluation and consultation of every unit of the cycle.
func unitWork(provider string, year int, codes []string) []completion {
	var cs []completion
	for _, u := range codes {
		cs = append(cs,
			completion{TaskID: review.TaskID(provider, year, review.KindEvaluate, 0, u), Actor: person(provider, u, "welfare_staff"), Outcome: evaluation(u)},
			completion{TaskID: review.TaskID(provider, year, review.KindConsult, 0, u), Actor: person(provider, u, "student_rep"), Outcome: consultation()})
	}
	return cs
}

func evaluation(unit string) json.RawMessage {
	return raw(map[string]any{
		"indicators": []map[string]any{{"name": "Wellbeing survey", "value": 3.7, "target": 4, "unit": "1-5"}},
		"findings": []map[string]any{
			{"id": "F1", "section": "communal", "severity": "major", "text": "Supervision gaps in " + unit, "recommendation": "Extend the rota"},
			{"id": "F2", "section": "monitoring", "severity": "info", "text": "Figures arrive late"},
		},
	})
}

func consultation() json.RawMessage {
	return raw(map[string]any{"method": "survey", "participants": 48, "held_on": "2026-03-10",
		"feedback": []map[string]any{{"id": "S1", "section": "individual", "text": "Counsellor hours are hard to find"}}})
}

// draft answers every unit's major finding and feedback item and covers the
// default legal-content checklist.
func draft(codes []string, round int) json.RawMessage {
	var dispositions []map[string]any
	for _, u := range codes {
		dispositions = append(dispositions,
			map[string]any{"item": u + "/F1", "decision": "rejected", "reason": "Covered by the provider-wide rota"},
			map[string]any{"item": u + "/S1", "decision": "deferred", "reason": "Planned with next year's budget"})
	}
	var coverage []map[string]any
	for _, it := range review.DefaultChecklist {
		coverage = append(coverage, map[string]any{"item": it.ID, "section": it.Section, "note": "See the section."})
	}
	return raw(map[string]any{
		"changes":      []map[string]any{{"id": "C1", "section": "communal", "text": fmt.Sprintf("Round %d wording.", round), "rationale": "Evaluation"}},
		"dispositions": dispositions, "coverage": coverage})
}

// draftHash is the content hash of the round's draft.
func (b *bench) draftHash(ctx context.Context, cycleID string, round int) (string, error) {
	var hash string
	err := b.db.GetContext(ctx, &hash, `SELECT content_hash FROM plan_drafts WHERE cycle_id = $1 AND round = $2`, cycleID, round)
	if err != nil {
		return "", fmt.Errorf("reading the hash of round %d's draft of %s: %w", round, cycleID, err)
	}
	return hash, nil
}

// signoffs are the round's sign-offs of every unit, approving; except the
// last unit's when changes is true, which requests changes.
func signoffs(provider string, year, round int, codes []string, hash string, changes bool) []completion {
	var cs []completion
	for i, u := range codes {
		o := map[string]any{"decision": "approve", "version_hash": hash}
		if changes && i == len(codes)-1 {
			o = map[string]any{"decision": "request_changes", "comment": "One more pass", "version_hash": hash}
		}
		cs = append(cs, completion{TaskID: review.TaskID(provider, year, review.KindSignOff, round, u), Actor: person(provider, u, "unit_head"), Outcome: raw(o)})
	}
	return cs
}
