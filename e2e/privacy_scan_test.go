package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/oho-dev/oho/smtptest"
)

// TestNothingSensitiveOutsidePayloads runs the demo's two cycles with
// payload encryption on and looks for every free text its people wrote —
// findings, feedback, changes, dispositions, comments, reasons — and every
// person's name and e-mail address, where Temporal keeps things in plain
// text: the workflows' IDs, search attributes and memos, their whole
// histories as the Temporal CLI shows them without the codec (task IDs,
// activity and Update names, failures' messages, payloads' metadata), and
// the worker's log, with notices mailed as in production. It finds none:
// they travel only inside encrypted payloads. (Without a mail server the
// worker logs each notice whole instead, as a stand-in for the mail: see
// the README's "Personal data".)
func TestNothingSensitiveOutsidePayloads(t *testing.T) {
	mail := smtptest.Start(t)
	e := newEnv(t)
	e.vars = append(e.vars, "SMTP_URL="+mail.URL()+"?from=oho@example.fi", "OHO_NOTIFY_POLL=100ms")
	keys := filepath.Join(t.TempDir(), "payload-keys")
	if err := os.WriteFile(keys, []byte(newPayloadKey(t, "scan")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.vars = append(e.vars, "OHO_PAYLOAD_KEYS_FILE="+keys, "OHO_PAYLOAD_KEYS=", "OHO_PAYLOAD_ENCRYPTION=required")
	wk := e.startWorker()
	e.ok("demo", "--provider", e.provider)

	texts := writtenTexts(t, e)
	if len(texts) < 40 {
		t.Fatalf("only %d free texts, names and addresses found in the demo's records; the scan would prove little: %q", len(texts), texts)
	}

	// Every workflow of the provider, as Temporal's visibility lists it.
	c := dialTemporal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var ids []string
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("OhoProvider = '%s'", e.provider), NextPageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range resp.GetExecutions() {
			id := ex.GetExecution().GetWorkflowId()
			ids = append(ids, id)
			// IDs are codes and numbers; search attributes and memo hold
			// no text anyone wrote.
			if !regexp.MustCompile(`^[A-Za-z0-9/._:-]+$`).MatchString(id) {
				t.Errorf("workflow ID %q holds more than codes and numbers", id)
			}
			visible := string(mustProtoJSON(t, ex.GetSearchAttributes())) + string(mustProtoJSON(t, ex.GetMemo()))
			for _, text := range texts {
				if containsEncoded(visible, text) {
					t.Errorf("workflow %s: its search attributes or memo hold %q", id, text)
				}
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	// Two cycles of three units, each with its review and round sign-offs.
	if len(ids) < 2*(1+3+3) {
		t.Fatalf("visibility lists %d workflows of %s, want at least 14: %v", len(ids), e.provider, ids)
	}

	for _, id := range ids {
		h, err := e.showHistory(id)
		if err != nil {
			t.Fatal(err)
		}
		raw := string(mustProtoJSON(t, h))
		for _, text := range texts {
			if containsEncoded(raw, text) {
				t.Errorf("temporal workflow show %s shows %q", id, text)
			}
		}
		for i, p := range payloadsOf(t, h) {
			if enc := string(p.GetMetadata()["encoding"]); enc != "binary/encrypted" {
				t.Errorf("%s: payload %d is %q, not encrypted", id, i, enc)
			}
		}
	}

	// Every notice mailed, or, for the people without an address (the
	// students' representatives), logged in codes.
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM notifications WHERE state NOT IN ('sent', 'logged')`) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := e.count(`SELECT count(*) FROM notifications WHERE NOT (state = 'sent' OR state = 'logged' AND email = '')`); n != 0 || len(mail.Messages()) == 0 {
		t.Errorf("%d notices neither mailed nor without an address, %d mails; want every notice with an address mailed", n, len(mail.Messages()))
	}
	log := wk.output()
	if !strings.Contains(log, "worker started") || !strings.Contains(log, "notice mailed") {
		t.Fatalf("the worker's log is not its log:\n%s", log)
	}
	for _, text := range texts {
		if strings.Contains(log, text) {
			t.Errorf("the worker's log holds %q", text)
		}
	}
}

// writtenTexts returns what the demo's people wrote and who they are, as the
// database holds it: every string of a done task's outcome that reads as
// free text (a space in it, not a date or a hash), the reasons and comments
// of the audit trail's events, and the people's names and e-mail addresses.
func writtenTexts(t *testing.T, e *env) []string {
	t.Helper()
	var docs []string
	if err := e.db.Select(&docs, `
SELECT t.outcome::text FROM tasks t JOIN cycles c ON c.id = t.cycle_id
WHERE c.provider_code = $1 AND t.outcome IS NOT NULL
UNION ALL
SELECT e.payload::text FROM audit_events e JOIN cycles c ON c.id = e.cycle_id
WHERE c.provider_code = $1 AND e.actor <> 'system'`, e.provider); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if s := strings.TrimSpace(v); len(s) >= 8 && strings.Contains(s, " ") {
				seen[s] = true
			}
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, d := range docs {
		var v any
		if err := json.Unmarshal([]byte(d), &v); err != nil {
			t.Fatalf("a stored outcome or payload is not JSON: %v", err)
		}
		walk(v)
	}
	var people []struct {
		Name  string `db:"name"`
		Email string `db:"email"`
	}
	if err := e.db.Select(&people, `SELECT name, email FROM people WHERE provider_code = $1`, e.provider); err != nil {
		t.Fatal(err)
	}
	for _, p := range people {
		for _, s := range []string{p.Name, p.Email} {
			if strings.TrimSpace(s) != "" {
				seen[s] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
