package main

import (
	"context"
	"encoding/json"
	"html/template"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// dbPlanVersion is a published version as the database holds it, with the
// signatures of the round it was published from.
type dbPlanVersion struct {
	Version       int    `db:"version"`
	Hash          string `db:"content_hash"`
	EffectiveFrom string `db:"effective_from"`
	CycleID       string `db:"cycle_id"`
	Round         int    `db:"round"`
	ApprovedBy    string `db:"approved_by"`
	Raw           []byte `db:"content"`
	Content       review.PlanContent
	Signatures    []dbSignature
}

type dbSignature struct {
	Signer   string    `db:"signer"`
	Role     string    `db:"role"`
	Meaning  string    `db:"meaning"`
	Hash     string    `db:"version_hash"`
	SignedAt time.Time `db:"signed_at"`
}

// planFromDB reads the provider's plan version straight from the tables.
func planFromDB(t *testing.T, db *sqlx.DB, provider string, version int) dbPlanVersion {
	t.Helper()
	ctx := context.Background()
	var v dbPlanVersion
	if err := db.GetContext(ctx, &v, `
SELECT pv.version, pv.content_hash, to_char(pv.effective_from, 'YYYY-MM-DD') AS effective_from, pv.cycle_id, pv.round, pv.approved_by, pv.content
FROM plan_versions pv JOIN plans p ON p.id = pv.plan_id WHERE p.provider_code = $1 AND pv.version = $2`, provider, version); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(v.Raw, &v.Content); err != nil {
		t.Fatal(err)
	}
	if err := db.SelectContext(ctx, &v.Signatures, `
SELECT signer, role, meaning, version_hash, signed_at FROM signoffs WHERE cycle_id = $1 AND round = $2
UNION ALL
SELECT approver, role, meaning, version_hash, signed_at FROM approvals WHERE cycle_id = $1 AND round = $2`, v.CycleID, v.Round); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPlanCommandsAgainstTheDatabase(t *testing.T) {
	db, url := dbtest.New(t)
	t.Setenv("DATABASE_URL", dbtest.AppURL(t, url)) // as the programs connect
	s := store.New(db)
	// ACME is in Stockholm: the handbook shows its times there.
	org := dbtest.Org("ACME")
	org.Provider.TimeZone = "Europe/Stockholm"
	if _, err := s.ImportOrg(context.Background(), store.ActorOperator, org); err != nil {
		t.Fatal(err)
	}
	stockholm, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Fatal(err)
	}
	newReportCycle(t, s, 2025).run()
	v := planFromDB(t, db, "ACME", 1)
	if v.Content.Hash() != v.Hash {
		t.Fatalf("the stored content hashes to %s, the version records %s", v.Content.Hash(), v.Hash)
	}
	// Round 2 was published: NORTH's and SOUTH's sign-offs and the approval.
	if len(v.Signatures) != 3 || v.Round != 2 {
		t.Fatalf("got %d signatures of round %d in the database, want 3 of round 2", len(v.Signatures), v.Round)
	}
	var withText int
	for _, sec := range v.Content.Sections {
		if sec.Text != "" {
			withText++
		}
		if strings.ContainsAny(sec.Title+sec.Text, `\<>&#`) {
			t.Fatalf("section %s has characters the Markdown escapes; the checks below compare text as is", sec.Key)
		}
	}
	if withText < 2 || len(v.Content.Sections) < 6 {
		t.Fatalf("the published version has %d sections, %d with text; want the six sections with the two changed", len(v.Content.Sections), withText)
	}

	// plan show: the record, then every section.
	out, stderr, code := runStarter("plan", "show", "--provider", "ACME")
	if code != 0 {
		t.Fatalf("plan show: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Provider ACME — student welfare plan, version 1", "effective from   " + v.EffectiveFrom,
		"content SHA-256  " + v.Hash, "cycle            " + v.CycleID + " (round 2)", "approved by      " + v.ApprovedBy} {
		if !strings.Contains(out, want) {
			t.Errorf("plan show does not say %q:\n%s", want, out)
		}
	}
	for i, sec := range v.Content.Sections {
		text := sec.Text
		if text == "" {
			text = "-"
		}
		if want := strconv.Itoa(i+1) + ". " + sec.Title + "\n" + text + "\n"; !strings.Contains(out, want) {
			t.Errorf("plan show lacks section %s as %q", sec.Key, want)
		}
	}
	out, _, code = runStarter("plan", "show", "--provider", "ACME", "--version", "1", "--json")
	var shown store.PlanDocument
	if err := json.Unmarshal([]byte(out), &shown); code != 0 || err != nil {
		t.Fatalf("plan show --json: exit %d, %v", code, err)
	}
	if shown.Version != 1 || shown.Hash != v.Hash || shown.Content.Hash() != v.Hash || shown.EffectiveFrom != v.EffectiveFrom || len(shown.Signatures) != len(v.Signatures) {
		t.Errorf("plan show --json: got version %d hash %s effective %s with %d signatures; want the database's", shown.Version, shown.Hash, shown.EffectiveFrom, len(shown.Signatures))
	}

	// plan export: the first page has the record and every signature of the
	// published round, nothing of the round sent back; then every section.
	dir := t.TempDir()
	for _, format := range []string{"md", "html"} {
		path := filepath.Join(dir, "handbook."+format)
		out, stderr, code := runStarter("plan", "export", "--provider", "ACME", "--format", format, "--out", path)
		if code != 0 || out != "wrote "+path+": version 1 of the plan of ACME\n" {
			t.Fatalf("plan export --format %s: exit %d, stdout %q, stderr %q", format, code, out, stderr)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(b)
		esc := func(s string) string { return s }
		if format == "html" {
			esc = template.HTMLEscapeString
		}
		cut := strings.Index(doc, "Contents")
		if cut < 0 {
			t.Fatalf("%s: no table of contents", format)
		}
		front := doc[:cut]
		version := "<th>Version</th><td>1</td>"
		if format == "md" {
			version = "| Version | 1 |"
		}
		if !strings.Contains(front, version) {
			t.Errorf("%s: the first page does not give version 1 as %q", format, version)
		}
		effective, err := time.Parse(time.DateOnly, v.EffectiveFrom)
		if err != nil {
			t.Fatal(err)
		}
		wants := []string{"Provider ACME", "Student welfare plan", "Opiskeluhuoltosuunnitelma", render.Day(effective, time.UTC, render.English), v.Hash, v.CycleID, "Europe/Stockholm"}
		for _, sig := range v.Signatures {
			if sig.Hash != v.Hash {
				t.Errorf("the database has a signature by %s of %s, not of the published hash", sig.Signer, sig.Hash)
			}
			wants = append(wants, sig.Signer, sig.Role, sig.Meaning, render.When(sig.SignedAt, stockholm, render.English))
		}
		for _, want := range wants {
			if !strings.Contains(front, esc(want)) {
				t.Errorf("%s: the first page lacks %q", format, want)
			}
		}
		if strings.Contains(doc, "changes requested") {
			t.Errorf("%s: the handbook shows round 1's request for changes, which did not sign this version", format)
		}
		if n := strings.Count(front, v.Hash); n != 1+len(v.Signatures) {
			t.Errorf("%s: the hash appears %d times on the first page, want once and once per signature", format, n)
		}
		body := doc[cut:]
		last := 0
		for _, sec := range v.Content.Sections {
			at := strings.Index(body[last:], esc(sec.Title))
			if at < 0 {
				t.Errorf("%s: section %s (%q) is missing or out of order", format, sec.Key, sec.Title)
				continue
			}
			last += at
			for _, para := range strings.Split(sec.Text, "\n\n") {
				if !strings.Contains(body, esc(strings.TrimSpace(para))) {
					t.Errorf("%s: the text of section %s is missing: %q", format, sec.Key, para)
				}
			}
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp") {
				t.Errorf("plan export left a temporary file %s", e.Name())
			}
		}
	}

	out, _, code = runStarter("plan", "diff", "--provider", "ACME", "--from", "1", "--to", "1")
	if code != 0 || !strings.Contains(out, "the two versions have the same sections and text") {
		t.Errorf("plan diff of a version with itself: exit %d\n%s", code, out)
	}

	for _, tt := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"plan", "show", "--provider", "NOPE"}, 1, `provider "NOPE" has not been imported`},
		{[]string{"plan", "show", "--provider", "ACME", "--version", "2"}, 1, "provider ACME has no plan version 2"},
		{[]string{"plan", "show", "--provider", "ACME", "--version", "-1"}, 1, "version -1 is not a version number"},
		{[]string{"plan", "show", "--provider", "acme corp"}, 1, `provider "acme corp" is not a provider code`},
		{[]string{"plan", "diff", "--provider", "NOPE", "--from", "1", "--to", "2"}, 1, `provider "NOPE" has not been imported`},
		{[]string{"plan", "diff", "--provider", "ACME", "--from", "1", "--to", "3"}, 1, "provider ACME has no plan version 3"},
		{[]string{"plan", "diff", "--provider", "ACME", "--to", "1"}, 2, "plan diff needs --from VERSION and --to VERSION"},
		{[]string{"plan", "export", "--provider", "ACME", "--format", "pdf", "--out", filepath.Join(dir, "x.pdf")}, 2, "plan export needs --format md or --format html"},
		{[]string{"plan", "export", "--provider", "ACME", "--format", "md"}, 2, "plan export needs --out FILE"},
		{[]string{"plan", "export", "--provider", "ACME", "--format", "md", "--out", filepath.Join(dir, "missing", "h.md")}, 1, "cannot write"},
		{[]string{"plan", "publish"}, 2, "plan"},
	} {
		stdout, stderr, code := runStarter(tt.args...)
		first, _, _ := strings.Cut(stderr, "\n")
		if code != tt.code || !strings.Contains(first, tt.says) || stdout != "" {
			t.Errorf("starter %v: got exit %d, stdout %q, stderr %q; want exit %d saying %q", tt.args, code, stdout, stderr, tt.code, tt.says)
		}
		if tt.code == 1 && strings.Count(stderr, "\n") != 1 {
			t.Errorf("starter %v: got stderr %q, want one line", tt.args, stderr)
		}
	}
}
