package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/oho-dev/oho/connect"
	"github.com/oho-dev/oho/payloadcrypt"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/workflows"
)

// temporalCLI is the pinned Temporal CLI that 'make up' installs.
func temporalCLI(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", ".tools", "bin", "temporal"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the Temporal CLI is missing (%v): run 'make up', which installs it into .tools/", err)
	}
	return path
}

// showHistory runs 'temporal workflow show' on the workflow, with the extra
// arguments (a codec server), and returns its history; the CLI's failure is
// returned with what it printed.
func (e *env) showHistory(workflowID string, args ...string) (*historypb.History, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, temporalCLI(e.t), append([]string{"workflow", "show", "--workflow-id", workflowID, "--output", "json"}, args...)...)
	cmd.Env = e.vars
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("temporal workflow show %s: %v\n%s%s", workflowID, err, stdout.Bytes(), stderr.Bytes())
	}
	var h historypb.History
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(stdout.Bytes(), &h); err != nil {
		return nil, fmt.Errorf("temporal workflow show %s printed what is not a history: %v\n%.400s", workflowID, err, stdout.Bytes())
	}
	if len(h.Events) == 0 {
		return nil, fmt.Errorf("temporal workflow show %s printed no events:\n%.400s", workflowID, stdout.Bytes())
	}
	return &h, nil
}

// payloadsOf returns every payload of the history's events but the search
// attributes (which the server indexes, never encoded).
func payloadsOf(t *testing.T, h *historypb.History) []*commonpb.Payload {
	t.Helper()
	var out []*commonpb.Payload
	for _, ev := range h.Events {
		err := proxy.VisitPayloads(context.Background(), ev, proxy.VisitPayloadsOptions{SkipSearchAttributes: true,
			Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
				out = append(out, ps...)
				return ps, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// newPayloadKey returns a line of a payload key file: the ID and a fresh key.
func newPayloadKey(t *testing.T, id string) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return id + " " + base64.StdEncoding.EncodeToString(b)
}

// TestEncryptedPayloadsAndCodecServer runs a cycle with payload encryption
// on and reads its histories three ways: with the Temporal CLI alone, which
// shows ciphertext only, every payload bound to the test provider; through
// the codec server, over HTTP with real sessions (logins through the
// identity provider) and API tokens, which gives plain text to the
// provider's auditor and manager and refuses its staff, the other
// provider's auditor and manager, and a visitor; and in the audit export,
// decrypted for the auditor who exports, which says so. Half way the key is
// rotated: the evaluations are written with key 1, the consultations with
// key 2, and everything reads after. A key setting that does not read stops
// the worker and the command line with one line naming it.
func TestEncryptedPayloadsAndCodecServer(t *testing.T) {
	k1, k2 := newPayloadKey(t, "k1"), newPayloadKey(t, "k2")
	dir := t.TempDir()
	keyFile := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := []string{"OHO_PAYLOAD_KEYS_FILE=" + keyFile("before", k1+"\n"), "OHO_PAYLOAD_KEYS=", "OHO_PAYLOAD_ENCRYPTION=required"}
	after := []string{"OHO_PAYLOAD_KEYS_FILE=" + keyFile("after", "# rotated\n"+k1+"\n"+k2+" current\n"), "OHO_PAYLOAD_KEYS=", "OHO_PAYLOAD_ENCRYPTION=required"}

	// The web server reads with both keys from the start; the worker and
	// the command line write with key 1 until the rotation.
	w := newWebWorld(t, webOptions{
		noWorker: true, vars: after,
		people: []map[string]any{personOf("a.auditor", "Aino Auditor", "auditor", "")},
		others: []map[string]any{personOf("x.auditor", "Other Auditor", "auditor", ""), personOf("x.manager", "Other Manager", "manager", "")},
	})
	e := w.env
	serverVars := slices.Clone(e.vars)
	e.vars = append(slices.Clone(serverVars), before...)

	// Keys that do not read: one line naming the setting, at start.
	bad := *e
	bad.vars = append(slices.Clone(e.vars), "OHO_PAYLOAD_KEYS_FILE="+keyFile("short", "k1 "+base64.StdEncoding.EncodeToString([]byte("too short"))+"\n"))
	if code, out := bad.workerStopsAtStart(); code != 1 || !strings.Contains(out, `OHO_PAYLOAD_KEYS_FILE (`) ||
		!strings.Contains(out, `line 1: the key of \"k1\" is 9 bytes; AES-256 needs 32`) {
		t.Errorf("a worker with a short key: got exit %d\n%s", code, out)
	}
	bad.refused(1, `line 1: the key of "k1" is 9 bytes; AES-256 needs 32`, "cycle", "status", "--provider", e.provider, "--year", year)
	bad.vars = append(slices.Clone(e.vars), "OHO_PAYLOAD_KEYS_FILE=", "OHO_PAYLOAD_KEYS=")
	bad.refused(1, "OHO_PAYLOAD_ENCRYPTION=required, but no payload keys are configured", "cycle", "history", "--provider", e.provider, "--year", year)

	wk := e.startWorker()
	if !strings.Contains(wk.output(), "Temporal payloads are encrypted") || !strings.Contains(wk.output(), "current_key=k1") {
		t.Errorf("the worker does not say it encrypts with k1:\n%s", wk.output())
	}
	cfg := e.file("config.json", `{"phases": {"evaluate": "2h", "consult": "2h", "update": "1h", "signoff": "1h", "approve": "1h"}}`)
	cycleID := strings.TrimSpace(e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year, "--config", cfg))
	for _, u := range units {
		e.complete(e.taskID(review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", evaluation(u))
	}

	// The rotation: key 2 becomes current, key 1 stays to read.
	wk.stop(syscall.SIGTERM)
	e.vars = append(slices.Clone(serverVars), after...)
	e.startWorker()
	feedback := "Counsellor hours are hard to find"
	for _, u := range units {
		e.complete(e.taskID(review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}

	// The yearly schedule: its action's input is encrypted for the
	// provider by the command line that sets it, and the worker reads it
	// in the YearlyStart the schedule starts (whose ID carries the time
	// after the provider's code).
	c := dialTemporal(t)
	deleteScheduleAtEnd(t, c, e.provider)
	e.ok("schedule", "set", "--provider", e.provider, "--month", "8", "--day", "1", "--as", "m.manager")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sh := c.ScheduleClient().GetHandle(ctx, workflows.ScheduleID(e.provider))
	desc, err := sh.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction); !ok || len(action.Args) != 1 {
		t.Errorf("schedule action: got %+v", desc.Schedule.Action)
	} else if p, ok := action.Args[0].(*commonpb.Payload); !ok || string(p.Metadata["encoding"]) != "binary/encrypted" || string(p.Metadata["oho-provider"]) != e.provider {
		t.Errorf("the schedule's input: got %v, want it encrypted for %s", action.Args[0], e.provider)
	}
	if err := sh.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	yearly := waitActions(t, sh, 1)[0]
	keyText, err := os.ReadFile(filepath.Join(dir, "after"))
	if err != nil {
		t.Fatal(err)
	}
	keyring, err := payloadcrypt.ParseKeys(string(keyText), "the test's keys")
	if err != nil {
		t.Fatal(err)
	}
	withCodec, err := connect.Temporal(ctx, slog.New(slog.DiscardHandler), connect.WithPayloadCodec(payloadcrypt.New(keyring, connect.WorkflowProvider)))
	if err != nil {
		t.Fatal(err)
	}
	defer withCodec.Close()
	yearlyResult(t, withCodec, yearly)

	// The Temporal CLI without the codec: ciphertext, every payload
	// encrypted and bound to the test provider, with both keys.
	unit := review.UnitReviewID(cycleID, "NORTH")
	wfs := []string{cycleID, unit, yearly.StartWorkflowResult.WorkflowID}
	keys := map[string]int{}
	var sample []*commonpb.Payload
	for _, id := range wfs {
		h, err := e.showHistory(id)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := protojson.Marshal(h)
		for _, secret := range []string{"Supervision gaps", "Figures arrive late", feedback, "Wellbeing survey"} {
			if bytes.Contains(raw, []byte(secret)) {
				t.Errorf("temporal workflow show %s shows %q in plain text", id, secret)
			}
		}
		ps := payloadsOf(t, h)
		if len(ps) < 3 {
			t.Fatalf("%s: only %d payloads in its history", id, len(ps))
		}
		for i, p := range ps {
			md := p.GetMetadata()
			if string(md["encoding"]) != "binary/encrypted" || string(md["oho-provider"]) != e.provider {
				t.Errorf("%s: payload %d is %q bound to %q, want binary/encrypted bound to %s", id, i, md["encoding"], md["oho-provider"], e.provider)
			}
			keys[string(md["encryption-key-id"])]++
		}
		if id == unit {
			sample = ps
		}
	}
	if len(keys) != 2 || keys["k1"] == 0 || keys["k2"] == 0 {
		t.Errorf("payloads per key: %v, want k1's (evaluations) and k2's (consultations)", keys)
	}

	// The codec server, over HTTP, as the Web UI calls it.
	body := json.RawMessage(mustProtoJSON(t, &commonpb.Payloads{Payloads: sample}))
	decode := func(c *browser, header ...string) reply {
		t.Helper()
		return c.do("POST", "/codec/decode", body, append([]string{"X-Namespace", "default"}, header...)...)
	}
	auditor := w.login("a.auditor")
	// The auditor's page of the workflows says where to point the Web UI.
	if p := auditor.get("/cycles/" + e.provider + "/" + year + "/workflows"); p.code != http.StatusOK ||
		!strings.Contains(p.body, "koodekkipalvelimeksi (Codec Server) "+w.srv.base+"/codec") {
		t.Errorf("the workflows page does not give the codec server's address: %d\n%s", p.code, p.body)
	}
	for _, who := range []string{"a.auditor", "m.manager"} {
		c := auditor
		if who != "a.auditor" {
			c = w.login(who)
		}
		r := decode(c, "Origin", "http://localhost:8233")
		var out commonpb.Payloads
		if r.code != http.StatusOK || protojson.Unmarshal(r.body, &out) != nil || len(out.Payloads) != len(sample) {
			t.Fatalf("%s decoding the history of %s: got %s", who, unit, r)
		}
		plain := string(mustProtoJSON(t, &out))
		for _, p := range out.Payloads {
			if string(p.Metadata["encoding"]) == "binary/encrypted" {
				t.Errorf("%s: a payload came back encrypted", who)
			}
		}
		for _, b64 := range []string{"Supervision gaps in NORTH", feedback} {
			if !containsEncoded(plain, b64) {
				t.Errorf("%s: the decoded history does not hold %q", who, b64)
			}
		}
		if r.header.Get("Access-Control-Allow-Origin") != "http://localhost:8233" || r.header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("%s: the Web UI's origin may not read the answer: %v", who, r.header)
		}
	}
	for _, tc := range []struct {
		who  string
		code int
		says string
	}{
		{"north.staff", http.StatusForbidden, `"north.staff" may not audit workflow payloads: only the provider's auditors and managers may`},
		{"north.head", http.StatusForbidden, "only the provider's auditors and managers may"},
		{"x.auditor", http.StatusForbidden, `"x.auditor" may not audit the workflow payloads of ` + e.provider},
		{"x.manager", http.StatusForbidden, `"x.manager" may not audit the workflow payloads of ` + e.provider},
		{"", http.StatusUnauthorized, "log in first"},
	} {
		c := w.srv.client(t, "a visitor")
		if tc.who != "" {
			c = w.login(tc.who)
		}
		r := decode(c)
		if r.code != tc.code || !strings.Contains(r.errorText(), tc.says) || containsEncoded(string(r.body), "Supervision") {
			t.Errorf("%s decoding: got %s, want %d saying %q", c.name, r, tc.code, tc.says)
		}
	}

	// The Temporal CLI through the codec server with the auditor's API
	// token: plain text; with the staff's, a refusal.
	token := func(c *browser) string {
		var created struct{ Secret string }
		c.ok(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{"name": "codec", "scope": "read", "expires_in_days": 1}, &created)
		return created.Secret
	}
	endpoint := w.srv.base + "/codec"
	h, err := e.showHistory(unit, "--codec-endpoint", endpoint, "--codec-auth", "Bearer "+token(auditor))
	if err != nil {
		t.Fatal(err)
	}
	if raw := string(mustProtoJSON(t, h)); !containsEncoded(raw, "Supervision gaps in NORTH") || !containsEncoded(raw, feedback) {
		t.Errorf("temporal workflow show through the codec server, as the auditor: the texts are not in plain text")
	}
	// (The CLI, refused, gives up on the history without saying why.)
	if h, err := e.showHistory(unit, "--codec-endpoint", endpoint, "--codec-auth", "Bearer "+token(w.login("north.staff"))); err == nil {
		t.Errorf("temporal workflow show through the codec server, as staff: got a history (plain text: %v), want a refusal",
			containsEncoded(string(mustProtoJSON(t, h)), "Supervision"))
	} else if containsEncoded(err.Error(), "Supervision") {
		t.Errorf("temporal workflow show through the codec server, as staff, printed the plain text: %v", err)
	}

	// The audit export, as the auditor: decrypted, and the header says so.
	out := e.ok("audit", "export", "--provider", e.provider, "--year", year, "--as", "a.auditor")
	lines := parseExport(t, []byte(out))
	head := lines[0]
	if p := head.Payloads; head.FormatVersion != 2 || p == nil || p.Written != "decrypted" || p.For != "a.auditor" || p.Encrypted == 0 ||
		fmt.Sprint(p.KeyIDs) != "[k1 k2]" {
		t.Errorf("export header: got %+v %+v, want payloads decrypted for a.auditor, encrypted with k1 and k2", head, head.Payloads)
	}
	for _, secret := range []string{"Supervision gaps in NORTH", feedback} {
		if !containsEncoded(out, secret) {
			t.Errorf("the audit export does not hold %q in plain text", secret)
		}
	}
	if strings.Contains(out, "binary/encrypted") || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte("binary/encrypted"))) {
		t.Errorf("the audit export still holds encrypted payloads")
	}
	e.refused(1, `"north.staff" may not audit the audit trail of `+e.provider, "audit", "export", "--provider", e.provider, "--year", year, "--as", "north.staff")
	// The reading is recorded, and the export's head covers it; the
	// refused export recorded nothing.
	var read struct {
		Seq      int64  `db:"seq"`
		Payloads string `db:"payloads"`
	}
	if err := e.db.Get(&read, `SELECT seq, payload ->> 'payloads' AS payloads FROM audit_events
WHERE action = 'payloads.decoded' AND actor = 'a.auditor' AND payload ->> 'audit_export' = 'review-cycle/' || $1 || '/' || $2`, e.provider, year); err != nil {
		t.Errorf("the audit export's reading is not recorded: %v", err)
	} else if last := lines[len(lines)-1]; read.Payloads != fmt.Sprint(head.Payloads.Encrypted) || last.ChainHead == nil || last.ChainHead.Seq < read.Seq {
		t.Errorf("the recorded reading (seq %d, %s payloads) is not what the export read (%d payloads, head %+v)", read.Seq, read.Payloads, head.Payloads.Encrypted, last.ChainHead)
	}
	if n := e.count(`SELECT count(*) FROM audit_events WHERE action = 'payloads.decoded' AND actor = 'north.staff'`); n != 0 {
		t.Errorf("the staff's refused reads recorded %d readings", n)
	}
	e.checkAuditVerify()
}

func mustProtoJSON(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// containsEncoded reports whether the protobuf JSON holds the text, in a
// payload's data (base64 of JSON) or as is.
func containsEncoded(protoJSON, text string) bool {
	if strings.Contains(protoJSON, text) {
		return true
	}
	var v any
	if json.Unmarshal([]byte(protoJSON), &v) != nil {
		return false
	}
	found := false
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "data" {
					if b, err := base64.StdEncoding.DecodeString(s); err == nil && bytes.Contains(b, []byte(text)) {
						found = true
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return found
}

// devServerUI is the Web UI of the Temporal dev server the tests run
// against, by the name 127.0.0.1 (the site of the web server the tests
// start, so that the browser sends it its cookie): port TEMPORAL_ADDRESS's
// plus 1000, as scripts/devenv.sh starts it. A UI that does not answer
// fails the test.
func devServerUI(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		addr = "127.0.0.1:7233"
	}
	_, port, err := net.SplitHostPort(addr)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil {
		t.Fatalf("TEMPORAL_ADDRESS %q is not host:port", addr)
	}
	ui := fmt.Sprintf("http://127.0.0.1:%d", p+1000)
	resp, err := http.Get(ui + "/")
	if err != nil {
		t.Fatalf("the Temporal dev server's Web UI does not answer at %s (%v): run the tests against the dev server, which 'make test' starts", ui, err)
	}
	resp.Body.Close()
	return ui
}

// TestWebUIReadsHistoriesThroughTheCodecServer opens a unit's history in
// the Temporal dev server's Web UI, in Chromium, with the UI's codec server
// set to OHO's web server and cross-origin credentials on, as an auditor
// would: logged in to OHO as the provider's auditor, the UI shows the
// workflow's input and an evaluation's findings in plain text; logged in as
// the unit's staff, it shows only the ciphertext.
func TestWebUIReadsHistoriesThroughTheCodecServer(t *testing.T) {
	ui := devServerUI(t)
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte(newPayloadKey(t, "k1")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := newWebWorld(t, webOptions{vars: []string{"OHO_PAYLOAD_KEYS_FILE=" + keys, "OHO_PAYLOAD_KEYS="},
		people: []map[string]any{personOf("a.auditor", "Aino Auditor", "auditor", "")}})
	e := w.env
	cfg := e.file("config.json", `{"phases": {"evaluate": "2h", "consult": "2h", "update": "1h", "signoff": "1h", "approve": "1h"}}`)
	cycleID := strings.TrimSpace(e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year, "--config", cfg))
	e.complete(e.taskID(review.KindEvaluate, 0, "NORTH"), "north.staff", evaluation("NORTH"))
	unit := review.UnitReviewID(cycleID, "NORTH")
	desc, err := dialTemporal(t).DescribeWorkflow(context.Background(), unit, "")
	if err != nil {
		t.Fatal(err)
	}
	namespace := os.Getenv("TEMPORAL_NAMESPACE")
	if namespace == "" {
		namespace = "default"
	}
	history := ui + "/namespaces/" + namespace + "/workflows/" + url.PathEscape(unit) + "/" + desc.WorkflowExecution.RunID + "/history"
	// The UI keeps its codec settings in its origin's local storage, as its
	// Configure Codec Server dialog writes them.
	settings := `localStorage.setItem("endpoint", JSON.stringify(` + strconv.Quote(w.srv.base+"/codec") + `));
		localStorage.setItem("includeCredentials", "true"); localStorage.setItem("passAccessToken", "false");
		localStorage.setItem("overrideRemoteCodecConfiguration", "true")`
	// Expands the first event of the Update accepted, whose input is the
	// completion's outcome.
	expand := `(() => {
		const label = [...document.querySelectorAll("*")].find(e => e.children.length === 0 && e.textContent.trim() === "Workflow Execution Update Accepted");
		let row = label;
		while (row && row.tagName !== "TR") row = row.parentElement;
		if (!row) return false;
		row.click();
		return true;
	})()`
	const encrypted = "YmluYXJ5L2VuY3J5cHRlZA==" // binary/encrypted, as the UI shows metadata
	textUntil := func(ctx context.Context, what string, done func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			text := run(t, ctx, what, chromedp.Evaluate[string](`document.body.innerText`))
			if done(text) {
				return text
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30 s; the page says:\n%.3000s", what, text)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	for _, tc := range []struct {
		who   string
		reads bool
	}{{"a.auditor", true}, {"north.staff", false}} {
		ctx := newBrowser(t)
		w.loginIn(ctx, tc.who)
		openPage(t, ctx, ui+"/namespaces/"+namespace+"/workflows")
		do(t, ctx, "setting the UI's codec server", chromedp.Evaluate[chromedp.Void](settings))
		openPage(t, ctx, history)
		// The UI shows the payload as Temporal holds it until the codec
		// server answers.
		if tc.reads {
			textUntil(ctx, tc.who+": the workflow's input decoded", func(s string) bool { return strings.Contains(s, `"previous_changes"`) })
		} else {
			textUntil(ctx, tc.who+": the workflow's input encrypted", func(s string) bool { return strings.Contains(s, encrypted) })
		}
		textUntil(ctx, tc.who+": the Update in the history", func(s string) bool { return strings.Contains(s, "Workflow Execution Update Accepted") })
		if !run(t, ctx, tc.who+": expanding the Update", chromedp.Evaluate[bool](expand)) {
			t.Fatalf("%s: no Update accepted to expand", tc.who)
		}
		if tc.reads {
			textUntil(ctx, tc.who+": the finding's text", func(s string) bool { return strings.Contains(s, "Supervision gaps in NORTH") })
			continue
		}
		// Long enough for the codec server to have answered the auditor.
		time.Sleep(3 * time.Second)
		if text := run(t, ctx, "the page", chromedp.Evaluate[string](`document.body.innerText`)); strings.Contains(text, "Supervision gaps") ||
			strings.Contains(text, `"previous_changes"`) || !strings.Contains(text, encrypted) {
			t.Errorf("%s: the UI shows the input or the finding in plain text, or not the ciphertext:\n%.3000s", tc.who, text)
		}
	}
}
