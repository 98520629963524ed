package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
)

// handWritten writes v as a person writes an outcome file: indented, and,
// when reversed, with every object's keys in the opposite order to the
// one encoding/json gives (which a script sending the same outcome to the
// API uses).
func handWritten(t *testing.T, v any, reversed bool) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var write func(v any, indent string)
	write = func(v any, indent string) {
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if reversed {
				slices.Reverse(keys)
			}
			out.WriteString("{\n")
			for i, k := range keys {
				kb, _ := json.Marshal(k)
				fmt.Fprintf(&out, "%s  %s: ", indent, kb)
				write(v[k], indent+"  ")
				if i < len(keys)-1 {
					out.WriteString(",")
				}
				out.WriteString("\n")
			}
			out.WriteString(indent + "}")
		case []any:
			out.WriteString("[\n")
			for i, e := range v {
				out.WriteString(indent + "  ")
				write(e, indent+"  ")
				if i < len(v)-1 {
					out.WriteString(",")
				}
				out.WriteString("\n")
			}
			out.WriteString(indent + "]")
		default:
			b, _ := json.Marshal(v)
			out.Write(b)
		}
	}
	write(generic, "")
	out.WriteString("\n")
	return out.Bytes()
}

// TestSameCompletionThroughTwoFrontEnds sends every task of a cycle twice at
// the same moment: through the HTTP API with the person's token, and through
// 'starter task complete' as them, released together. The outcome is the
// same; the file the command line reads is written as a person writes it
// (indented, and for every other task with its keys in another order than
// the script's). Both answer that the task is done by the person, and it is
// recorded once: one task.completed event per task, each outcome's rows
// once, the cycle published once.
func TestSameCompletionThroughTwoFrontEnds(t *testing.T) {
	w := newWebWorld(t, webOptions{})
	e := w.env
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year)

	// Everyone who does a task makes an API token in a web session.
	tokens := map[string]string{}
	for _, p := range []string{"north.staff", "harbour.staff", "forest.staff", "north.rep", "harbour.rep", "forest.rep",
		"p.editor", "north.head", "harbour.head", "forest.head", "r.approver"} {
		var tok struct {
			Secret string `json:"secret"`
		}
		w.login(p).ok(201, "POST", "/api/v1/tokens", map[string]any{"name": "script", "scope": "act", "expires_in_days": 1}, &tok)
		tokens[p] = tok.Secret
	}
	post := func(ctx context.Context, token, path string, body []byte) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, "POST", w.srv.base+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}

	type step struct {
		kind    review.TaskKind
		round   int
		unit    string
		person  string
		outcome func(id string) any
	}
	fixed := func(v any) func(string) any { return func(string) any { return v } }
	var steps []step
	for _, u := range units {
		l := strings.ToLower(u)
		steps = append(steps, step{review.KindEvaluate, 0, u, l + ".staff", fixed(evaluation(u))})
		steps = append(steps, step{review.KindConsult, 0, u, l + ".rep", fixed(consultation())})
	}
	steps = append(steps, step{review.KindDraft, 1, "", "p.editor", fixed(draft(1))})
	for _, u := range units {
		steps = append(steps, step{review.KindSignOff, 1, u, strings.ToLower(u) + ".head", func(id string) any {
			var hash string
			if err := e.db.Get(&hash, `SELECT input->>'version_hash' FROM tasks WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
			return map[string]any{"decision": "approve", "version_hash": hash}
		}})
	}
	steps = append(steps, step{review.KindApprove, 1, "", "r.approver", fixed(map[string]any{"decision": "approve", "effective_from": "2026-08-01"})})

	// The command line takes longer to reach Temporal than the API (it
	// starts a process and connects), so the API's request leaves later by
	// a delay that grows from task to task, to meet it there at some point.
	const stagger = 40 * time.Millisecond
	var report []string
	for i, s := range steps {
		id := e.taskID(s.kind, s.round, s.unit)
		deadline := time.Now().Add(time.Minute)
		for e.count(`SELECT count(*) FROM tasks WHERE id = $1 AND status = 'open'`, id) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("task %s was not opened within a minute", id)
			}
			time.Sleep(50 * time.Millisecond)
		}
		outcome := s.outcome(id)
		apiOutcome, err := json.Marshal(outcome)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(map[string]json.RawMessage{"outcome": apiOutcome})
		file := e.file(fmt.Sprintf("both-%d.json", i), string(handWritten(t, outcome, i%2 == 1)))

		release := make(chan struct{})
		var wg sync.WaitGroup
		var cli result
		var cliErr, apiErr error
		var apiCode int
		var apiBody []byte
		var cliTook, apiTook time.Duration
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		wg.Go(func() {
			<-release
			start := time.Now()
			cli, cliErr = e.run(ctx, "task", "complete", id, "--as", s.person, "--outcome", file)
			cliTook = time.Since(start)
		})
		delay := time.Duration(i) * stagger
		wg.Go(func() {
			<-release
			time.Sleep(delay)
			start := time.Now()
			apiCode, apiBody, apiErr = post(ctx, tokens[s.person], taskPath(id, "complete"), body)
			apiTook = time.Since(start)
		})
		close(release)
		wg.Wait()
		cancel()
		if cliErr != nil || apiErr != nil {
			t.Fatalf("%s: command line %v, API %v", id, cliErr, apiErr)
		}

		// Both are told the task is done by the person.
		if want := "task " + id + " done by " + s.person; cli.code != 0 || !strings.Contains(cli.stdout, want) {
			t.Errorf("%s through the command line at the same time as the API: want %q, got %s", id, want, cli)
		}
		var res struct {
			TaskID      string `json:"task_id"`
			Status      string `json:"status"`
			CompletedBy string `json:"completed_by"`
		}
		if apiCode != http.StatusOK || json.Unmarshal(apiBody, &res) != nil || res.TaskID != id || res.Status != review.TaskDone || res.CompletedBy != s.person {
			t.Errorf("%s through the API at the same time as the command line: want 200 done by %s, got %d %s", id, s.person, apiCode, apiBody)
		}
		// It is recorded once, through whichever came first.
		var channels []string
		if err := e.db.Select(&channels, `SELECT coalesce(channel, '') FROM audit_events WHERE action = 'task.completed' AND subject = $1`, id); err != nil {
			t.Fatal(err)
		}
		if len(channels) != 1 {
			t.Errorf("%s: %d task.completed events (channels %v), want 1", id, len(channels), channels)
		}
		if n := e.count(`SELECT count(*) FROM tasks WHERE id = $1 AND status = 'done' AND completed_by = $2`, id, s.person); n != 1 {
			t.Errorf("%s: not done by %s", id, s.person)
		}
		report = append(report, fmt.Sprintf("%s: API %v later, command line %v, API %v, recorded via %v",
			id, delay, cliTook.Round(time.Millisecond), apiTook.Round(time.Millisecond), channels))
	}
	t.Logf("each task completed through both front ends at once:\n  %s", strings.Join(report, "\n  "))

	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM cycles WHERE status = 'completed'`) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the cycle did not complete: %v", e.cycleStates())
		}
		time.Sleep(100 * time.Millisecond)
	}
	checkCounts(t, e, append(oneRoundCounts(), []countCheck{
		{`SELECT count(*) FROM consultations`, 3},
		{`SELECT count(*) FROM audit_events WHERE action = 'task.completed' AND channel IN ('api', 'cli')`, 11},
		{`SELECT count(*) FROM (SELECT 1 FROM notifications GROUP BY person_id, kind, task_id HAVING count(*) > 1) d`, 0},
	}...))
	e.checkAuditVerify()
}
