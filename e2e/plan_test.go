package e2e

import (
	"encoding/json"
	"html"
	"os"
	"strings"
	"testing"

	"github.com/oho-dev/oho/workflows"
)

// checkPlanDocuments reads the plan the cycle published through 'plan show',
// 'plan diff' and 'plan export', and checks them against the database.
func checkPlanDocuments(t *testing.T, e *env, version int, hash string) {
	t.Helper()
	var content []byte
	if err := e.db.QueryRow(`SELECT content FROM plan_versions WHERE version = $1`, version).Scan(&content); err != nil {
		t.Fatal(err)
	}
	var plan workflows.PlanContent
	if err := json.Unmarshal(content, &plan); err != nil {
		t.Fatal(err)
	}
	if plan.Hash() != hash {
		t.Fatalf("the stored content hashes to %s, the version records %s", plan.Hash(), hash)
	}
	var signers []string
	if err := e.db.Select(&signers, `SELECT signer || ' ' || meaning FROM signoffs WHERE version_hash = $1
UNION ALL SELECT approver || ' ' || meaning FROM approvals WHERE version_hash = $1 AND decision = 'approve'`, hash); err != nil {
		t.Fatal(err)
	}
	if len(signers) != len(units)+1 {
		t.Fatalf("the database has signatures %v of the published hash, want every unit head's and the approval", signers)
	}

	var shown struct {
		Version    int                   `json:"version"`
		Hash       string                `json:"hash"`
		Content    workflows.PlanContent `json:"content"`
		Signatures []struct {
			Signer  string `json:"signer"`
			Meaning string `json:"meaning"`
			Hash    string `json:"hash"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal([]byte(e.ok("plan", "show", "--provider", e.provider, "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Version != version || shown.Hash != hash || shown.Content.Hash() != hash || len(shown.Signatures) != len(signers) {
		t.Errorf("plan show: got version %d hash %s with %d signatures", shown.Version, shown.Hash, len(shown.Signatures))
	}
	for _, sig := range shown.Signatures {
		if sig.Hash != hash {
			t.Errorf("plan show: the signature of %s names hash %s, not the version's", sig.Signer, sig.Hash)
		}
	}
	if out := e.ok("plan", "show", "--provider", e.provider); !strings.Contains(out, "content SHA-256  "+hash) {
		t.Errorf("plan show: got\n%s", out)
	}

	for _, format := range []string{"md", "html"} {
		file := e.dir + "/plan." + format
		e.ok("plan", "export", "--provider", e.provider, "--version", "1", "--format", format, "--out", file)
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(b)
		front := doc[:strings.Index(doc, "Contents")]
		wants := []string{"Version", "2026-08-01", hash}
		for _, sig := range signers {
			wants = append(wants, strings.SplitN(sig, " ", 2)...) // the signer and the meaning
		}
		for _, want := range wants {
			if !strings.Contains(front, want) {
				t.Errorf("plan export --format %s: the first page lacks %q", format, want)
			}
		}
		for _, s := range plan.Sections {
			text := s.Text
			if format == "html" {
				text = html.EscapeString(text)
			}
			if !strings.Contains(doc, s.Title) || !strings.Contains(doc, text) {
				t.Errorf("plan export --format %s lacks section %s or its text", format, s.Key)
			}
		}
	}
	if out := e.ok("plan", "diff", "--provider", e.provider, "--from", "1", "--to", "1"); !strings.Contains(out, "the two versions have the same sections and text") {
		t.Errorf("plan diff of a version with itself: got\n%s", out)
	}
	e.refused(1, "has no plan version 2", "plan", "show", "--provider", e.provider, "--version", "2")
	e.refused(1, "has no plan version 7", "plan", "diff", "--provider", e.provider, "--from", "1", "--to", "7")
	e.refused(1, "has no published plan", "plan", "show", "--provider", "NOPLAN")
	e.refused(2, "plan export needs --format md or --format html", "plan", "export", "--provider", e.provider, "--format", "pdf", "--out", e.dir+"/x")
	e.refused(2, "plan export needs --out FILE", "plan", "export", "--provider", e.provider, "--format", "md")
	e.refused(2, "plan diff needs --from VERSION and --to VERSION", "plan", "diff", "--provider", e.provider, "--from", "1")
	e.refused(2, "plan show needs --provider", "plan", "show")
}
