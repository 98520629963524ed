package e2e

import (
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
)

// TestReportThroughCommandLine runs a one-round cycle through the command
// line and checks the traceability report, in both formats, against the
// database: every finding and feedback item with its disposition, every
// signature with its meaning; and the refusals.
func TestReportThroughCommandLine(t *testing.T) {
	e := newEnv(t)
	e.startWorker()
	e.ok("org", "import", e.file("org.json", e.org()))

	report := func(args ...string) []string {
		return append([]string{"report", "--provider", e.provider, "--year", year}, args...)
	}
	e.refused(1, "has no cycle for 2026", report()...)
	e.refused(1, `provider "NOSUCH" has not been imported`, "report", "--provider", "NOSUCH", "--year", year)
	e.refused(2, `--format must be md or html (got "pdf")`, report("--format", "pdf")...)
	e.refused(2, "report needs --provider", "report", "--year", year)

	cfg := e.file("config.json", `{"phases": {"evaluate": "2h", "consult": "2h", "update": "1h", "signoff": "1h", "approve": "1h"}}`)
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year, "--config", cfg)
	for _, u := range units {
		text := u
		if u == "NORTH" {
			text = `NORTH <script>alert("owned")</script>`
		}
		e.complete(e.taskID(review.KindEvaluate, 0, u), strings.ToLower(u)+".staff", evaluation(text))
		e.complete(e.taskID(review.KindConsult, 0, u), strings.ToLower(u)+".rep", consultation())
	}

	// While the cycle runs the report is written, and says so at the top.
	running := e.ok(report()...)
	if lines := strings.SplitN(running, "\n", 4); len(lines) < 3 || !strings.HasPrefix(lines[2], "> **IN PROGRESS: this cycle is still running") {
		t.Errorf("the report of a running cycle does not open with the notice:\n%s", running[:min(len(running), 600)])
	}

	e.complete(e.taskID(review.KindDraft, 1, ""), "p.editor", draft(1))
	for _, u := range units {
		id := e.taskID(review.KindSignOff, 1, u)
		e.complete(id, strings.ToLower(u)+".head", map[string]any{"decision": "approve", "comment": "For " + u, "version_hash": hashOf(e.waitTask(id))})
	}
	e.complete(e.taskID(review.KindApprove, 1, ""), "r.approver", map[string]any{"decision": "approve", "effective_from": "2026-08-01"})
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM cycles WHERE status = 'completed'`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cycle did not complete")
		}
		time.Sleep(100 * time.Millisecond)
	}

	md := e.ok(report()...)
	out := filepath.Join(e.dir, "report.html")
	if got := e.ok(report("--format", "html", "--out", out)...); !strings.Contains(got, "wrote the report of "+e.provider+" 2026 to "+out) {
		t.Errorf("report --out printed %q", got)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)

	// What the database holds, item by item and signature by signature.
	var items []struct {
		Ref      string `db:"ref"`
		Text     string `db:"text"`
		Decision string `db:"decision"`
		Change   string `db:"change_id"`
	}
	const qItems = `
SELECT i.ref, i.text, COALESCE(d.decision, '') AS decision, COALESCE(d.change_id, '') AS change_id
FROM (SELECT unit_code || '/' || item_id AS ref, text FROM findings
      UNION ALL SELECT unit_code || '/' || item_id, text FROM feedback_items) i
LEFT JOIN dispositions d ON d.item_ref = i.ref AND d.round = (SELECT round FROM plan_versions)
ORDER BY i.ref`
	if err := e.db.Select(&items, qItems); err != nil {
		t.Fatal(err)
	}
	if len(items) != 9 {
		t.Fatalf("got %d items in the database, want 9 (2 findings and 1 feedback item in each of 3 units)", len(items))
	}
	var signatures []struct {
		Signer  string `db:"signer"`
		Role    string `db:"role"`
		Meaning string `db:"meaning"`
		Hash    string `db:"version_hash"`
	}
	const qSignatures = `
SELECT signer, role, meaning, version_hash FROM signoffs
UNION ALL SELECT approver, role, meaning, version_hash FROM approvals`
	if err := e.db.Select(&signatures, qSignatures); err != nil {
		t.Fatal(err)
	}
	var hash string
	if err := e.db.Get(&hash, `SELECT content_hash FROM plan_versions`); err != nil {
		t.Fatal(err)
	}
	if len(signatures) != 4 {
		t.Fatalf("got %d signatures, want 3 sign-offs and an approval", len(signatures))
	}

	for _, f := range []struct {
		name, out string
		esc       func(string) string
		row       func(ref string) *regexp.Regexp
	}{
		{"md", md, mdEscape, func(ref string) *regexp.Regexp {
			return regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(ref) + "` \\|.*$")
		}},
		{"html", html, template.HTMLEscapeString, func(ref string) *regexp.Regexp {
			return regexp.MustCompile(`<tr><td><code>` + regexp.QuoteMeta(ref) + `</code></td>.*?</tr>`)
		}},
	} {
		t.Run(f.name, func(t *testing.T) {
			for _, it := range items {
				rows := f.row(it.Ref).FindAllString(f.out, -1)
				if len(rows) < 2 {
					t.Errorf("%s appears in %d table rows, want the chain and its unit's table", it.Ref, len(rows))
					continue
				}
				says := []string{f.esc(it.Text), it.Decision + " (round 1) by change " + it.Change, "yes, version 1",
					"version 1 (round 1): signed off for FOREST, HARBOUR, NORTH; approved for the provider by Rita Approver (r.approver)"}
				if it.Decision == "" {
					says = []string{f.esc(it.Text), "none (not required for info findings)"}
				}
				for _, s := range says {
					if !strings.Contains(rows[0], s) {
						t.Errorf("%s: the chain row does not say %q:\n%s", it.Ref, s, rows[0])
					}
				}
			}
			for _, s := range signatures {
				row := regexp.MustCompile(regexp.QuoteMeta(s.Signer) + `\).*` + regexp.QuoteMeta(strings.ReplaceAll(s.Role, "_", " ")) +
					`.*` + regexp.QuoteMeta(s.Meaning) + `.*` + s.Hash + `.*yes`)
				if !row.MatchString(f.out) || s.Hash != hash {
					t.Errorf("the signature of %s (%s, %q on %s) is not in the report as recorded", s.Signer, s.Role, s.Meaning, s.Hash)
				}
			}
			for _, s := range []string{"Round 1: approved for the provider and published as version 1", hash, "48 students took part"} {
				if !strings.Contains(f.out, s) {
					t.Errorf("the report does not say %q", s)
				}
			}
			if regexp.MustCompile(`(?i)(^|[^\\])<script`).MatchString(f.out) {
				t.Errorf("the report carries the finding's <script> unescaped")
			}
		})
	}
	for _, external := range []string{"http:", "https:", "src=", "href=", "<link", "@import", "url("} {
		if strings.Contains(strings.ToLower(html), external) {
			t.Errorf("the HTML report refers to something outside it: it contains %q", external)
		}
	}
}

// mdEscape escapes text as the Markdown report does.
var mdEscape = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, `<`, `\<`, `>`, `\>`,
	`|`, `\|`, `#`, `\#`, `&`, `\&`, `~`, `\~`, "\r\n", " ", "\n", " ", "\r", " ",
).Replace
