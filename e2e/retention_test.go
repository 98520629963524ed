package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oho-dev/oho/store"
)

// TestRetentionRun runs the demo's two cycles, then has the nurse of NORTH
// (who evaluated her unit both years) and the head of NORTH (who signed)
// leave, two and a half years ago as far as the database knows, and runs
// retention as the operator would from cron: the wrong settings and the
// wrong people are refused without a change, a dry run changes nothing, and
// the run deletes the old notices and pseudonymises both of them. Afterwards
// no row of any table names them (ID, name or address), what they did is
// still there under pseudonyms, `audit verify` says ok with the rewritten
// events certified, the audit export and the report still work, and a
// second run finds nothing to do.
func TestRetentionRun(t *testing.T) {
	e := newEnv(t)
	wk := e.startWorker()
	e.ok("demo", "--provider", e.provider)
	// Every notice dealt with, then no worker: the run is the only writer.
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM notifications WHERE state IN ('pending', 'sending')`) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	wk.stop(syscall.SIGTERM)

	leavers := []struct{ id, name, email string }{
		{"north.nurse", "Noora Terveys", "north.nurse@harjula.example"},
		{"north.head", "Niko Pohjola", "north.head@harjula.example"},
	}
	for _, l := range leavers {
		if n := e.count(`SELECT count(*) FROM tasks WHERE completed_by = $1`, l.id); n == 0 {
			t.Fatalf("%s did no task in the demo; the test would prove little", l.id)
		}
		e.ok("person", "disable", l.id, "--reason", "Moved to another college")
	}
	// They left two and a half years ago, and notices were sent then.
	if _, err := e.db.Exec(`UPDATE accounts SET disabled_at = now() - interval '900 days' WHERE person_id IN ('north.nurse', 'north.head')`); err != nil {
		t.Fatal(err)
	}
	oldNotices := e.count(`SELECT count(*) FROM notifications WHERE state IN ('sent', 'logged')`)
	if oldNotices == 0 {
		t.Fatal("the demo sent no notices")
	}
	if _, err := e.db.Exec(`UPDATE notifications SET created_at = now() - interval '500 days' WHERE state IN ('sent', 'logged')`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(`UPDATE notifications SET state = 'pending', created_at = now() - interval '500 days' WHERE id = (SELECT min(id) FROM notifications WHERE person_id = 'ella.manager')`); err != nil {
		t.Fatal(err)
	}
	oldNotices--

	// The wrong settings and the wrong people change nothing.
	events := e.count(`SELECT count(*) FROM audit_events`)
	settings := []string{"OHO_RETAIN_NOTICES=400d", "OHO_RETAIN_LEFT=730d"}
	refusedWith := func(vars []string, want string, args ...string) {
		t.Helper()
		r := e.starterWith(vars, args...)
		if first, _, _ := strings.Cut(r.stderr, "\n"); r.code != 1 || !strings.Contains(first, want) || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("starter %s with %v: got %s; want exit 1 saying %q", strings.Join(args, " "), vars, r, want)
		}
	}
	refusedWith(nil, "no retention period is set: set OHO_RETAIN_NOTICES, OHO_RETAIN_LEFT or both", "retention", "run")
	refusedWith([]string{"OHO_RETAIN_LEFT=730"}, `OHO_RETAIN_LEFT: "730" is neither days (400d) nor a duration (9600h)`, "retention", "run")
	refusedWith([]string{"OHO_RETAIN_NOTICES=12h"}, `OHO_RETAIN_NOTICES: "12h" is shorter than a day`, "retention", "run")
	refusedWith([]string{"OHO_RETAIN_NOTICES=0d"}, `OHO_RETAIN_NOTICES: "0d" is not a number of days`, "retention", "run")
	refusedWith(settings, "refused", "retention", "run", "--provider", e.provider, "--as", "north.counsellor")
	refusedWith(settings, "name the provider", "retention", "run", "--as", "ella.manager")
	refusedWith(settings, "NOPE", "retention", "run", "--provider", "NOPE")
	refusedWith(settings, "disabled", "retention", "run", "--provider", e.provider, "--as", "north.nurse")
	if r := e.starterWith(settings, "retention", "run", "--provider", e.provider, "stray"); r.code != 2 {
		t.Errorf("retention run with a stray argument: got %s, want exit 2", r)
	}

	dry := e.starterWith(settings, "retention", "run", "--provider", e.provider, "--as", "ella.manager", "--dry-run")
	if dry.code != 0 || !strings.Contains(dry.stdout, fmt.Sprintf("would delete %d notices", oldNotices)) ||
		!strings.Contains(dry.stdout, "would pseudonymise 2 people") || !strings.Contains(dry.stdout, "  north.nurse\n") {
		t.Fatalf("dry run: got %s", dry)
	}
	if n := e.count(`SELECT count(*) FROM audit_events`); n != events {
		t.Errorf("the refusals and the dry run recorded %d audit events", n-events)
	}
	if n := e.count(`SELECT count(*) FROM people WHERE pseudonymised_at IS NOT NULL`); n != 0 {
		t.Errorf("the refusals and the dry run pseudonymised %d people", n)
	}

	before := traces(t, e, leavers[0].id, leavers[0].name, leavers[0].email, leavers[1].id, leavers[1].name, leavers[1].email)
	for _, table := range []string{"audit_events", "tasks", "signoffs", "people", "notifications", "person_roles"} {
		if !strings.Contains(before, table+" ") {
			t.Errorf("before the run, no trace of the leavers in %s (%s): the test would prove nothing there", table, before)
		}
	}

	out := e.starterWith(settings, "retention", "run", "--provider", e.provider, "--as", "ella.manager")
	if out.code != 0 || !strings.Contains(out.stdout, fmt.Sprintf("deleted %d notices", oldNotices)) ||
		!regexp.MustCompile(`north\.nurse: \d+ audit events rewritten`).MatchString(out.stdout) ||
		strings.Contains(out.stdout, "former-") {
		t.Fatalf("retention run: got %s; want the notices deleted and both pseudonymised, no pseudonym printed", out)
	}
	if after := traces(t, e, leavers[0].id, leavers[0].name, leavers[0].email, leavers[1].id, leavers[1].name, leavers[1].email); after != "" {
		t.Errorf("after the run, the leavers are still named in: %s", after)
	}
	if n := e.count(`SELECT count(*) FROM notifications WHERE created_at < now() - interval '400 days'`); n != 1 {
		t.Errorf("%d old notices left, want the one still pending", n)
	}

	// The organisation file, which still lists them, does not bring them
	// back; without them it imports.
	raw, err := os.ReadFile(filepath.Join("..", "starter", "demo_org.json"))
	if err != nil {
		t.Fatal(err)
	}
	var org map[string]any
	if err := json.Unmarshal(raw, &org); err != nil {
		t.Fatal(err)
	}
	org["provider"].(map[string]any)["code"] = e.provider
	e.refused(1, "these people left and were pseudonymised, so they are not added again: north.head, north.nurse;", "org", "import", e.file("org.json", org))
	var staying []any
	for _, p := range org["people"].([]any) {
		if id := p.(map[string]any)["id"]; id != "north.head" && id != "north.nurse" {
			staying = append(staying, p)
		}
	}
	// North's new head, so that the next cycle can start.
	org["people"] = append(staying, map[string]any{"id": "north.head2", "name": "Noel Uusi", "email": "north.head2@harjula.example",
		"roles": []any{map[string]any{"role": "unit_head", "unit": "NORTH"}}})
	e.ok("org", "import", e.file("org-now.json", org))

	verify := e.ok("audit", "verify")
	wantVerify := regexp.MustCompile(fmt.Sprintf(`^ok %d events\n\d+ events were rewritten by 2 pseudonymisations, each as its run certified\n$`,
		e.count(`SELECT count(*) FROM audit_events`)))
	if !wantVerify.MatchString(verify) {
		t.Errorf("audit verify: got %q", verify)
	}

	// What they did is still there, under their pseudonyms.
	var pseudonyms []string
	if err := e.db.Select(&pseudonyms, `SELECT id FROM people WHERE pseudonymised_at IS NOT NULL ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if len(pseudonyms) != 2 {
		t.Fatalf("pseudonyms: %v, want 2", pseudonyms)
	}
	for _, p := range pseudonyms {
		if n := e.count(`SELECT count(*) FROM tasks WHERE completed_by = $1`, p); n == 0 {
			t.Errorf("%s completed no task: the leavers' work went with their names", p)
		}
		var x personExport
		if err := json.Unmarshal([]byte(e.ok("person", "export", p)), &x); err != nil {
			t.Fatal(err)
		}
		// Each event checks, from the export alone, against the hash its
		// pseudonymisation certified, or its own.
		rewritten := 0
		for _, ev := range x.Audit.Events {
			check, want := ev.Event, ev.Hash
			check.Payload = json.RawMessage(ev.PayloadText)
			if ev.RedactedBy != 0 {
				want = ev.RedactedHash
				rewritten++
			}
			if got := store.AuditHash(check); got != want {
				t.Errorf("%s's exported event %d hashes to %s, want %s", p, ev.Seq, got, want)
			}
		}
		if rewritten == 0 {
			t.Errorf("none of %s's exported events says it was rewritten", p)
		}
		if x.Person.Status != "pseudonymised" || x.Person.Name != "" || x.Person.Email != "" || len(x.Roles) != 0 || len(x.Audit.Events) == 0 {
			t.Errorf("the export of %s: got %+v, %d roles, %d events; want pseudonymised, nameless, without roles, with events",
				p, x.Person, len(x.Roles), len(x.Audit.Events))
		}
	}
	e.refused(1, "north.nurse", "person", "export", "north.nurse")

	// The audit export's events (its workflow histories are Temporal's,
	// kept for the namespace's retention period: see the README) and the
	// report name the pseudonyms; the events rewritten say by which
	// pseudonymisation.
	year := e.count(`SELECT max(year) FROM cycles`)
	var auditLines []string
	rewritten := 0
	for _, line := range strings.Split(e.ok("audit", "export", "--provider", e.provider, "--year", fmt.Sprint(year)), "\n") {
		var ev struct {
			Type string `json:"type"`
			store.Event
		}
		if line == "" || json.Unmarshal([]byte(line), &ev) != nil || ev.Type != "audit_event" {
			continue
		}
		auditLines = append(auditLines, line)
		if ev.RedactedBy != 0 && ev.RedactedHash != "" {
			rewritten++
		}
	}
	if len(auditLines) == 0 || rewritten == 0 {
		t.Fatalf("the audit export has %d events, %d of them pseudonymised; want both", len(auditLines), rewritten)
	}
	report := e.ok("report", "--provider", e.provider, "--year", fmt.Sprint(year))
	for _, l := range leavers {
		for _, doc := range []struct{ name, text string }{{"audit export's events", strings.Join(auditLines, "\n")}, {"report", report}} {
			if strings.Contains(doc.text, l.id) || strings.Contains(doc.text, l.name) {
				t.Errorf("the %s still names %s", doc.name, l.id)
			}
		}
	}
	if !strings.Contains(report, pseudonyms[0]) && !strings.Contains(report, pseudonyms[1]) {
		t.Errorf("the report names neither pseudonym, though both did the year's work")
	}

	again := e.starterWith(settings, "retention", "run")
	if again.code != 0 || !strings.Contains(again.stdout, "deleted 0 notices") || !strings.Contains(again.stdout, "pseudonymised 0 people") {
		t.Errorf("the second run: got %s, want nothing left to do", again)
	}

	// Forest's adviser leaves while the next year's cycle runs, in whose
	// pools she still holds a role: she is held back, named with the cycle.
	// (No worker: the cycle is recorded as running once Temporal has taken
	// its start, which is all this needs.)
	next := fmt.Sprint(year + 1)
	e.ok("cycle", "start", "--as", "ella.manager", "--provider", e.provider, "--year", next)
	cycleID := "review-cycle/" + e.provider + "/" + next
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = dialTemporal(t).TerminateWorkflow(ctx, cycleID, "", "end of test")
	})
	e.ok("person", "disable", "forest.adviser", "--reason", "Moved abroad")
	if _, err := e.db.Exec(`UPDATE accounts SET disabled_at = now() - interval '800 days' WHERE person_id = 'forest.adviser'`); err != nil {
		t.Fatal(err)
	}
	held := e.starterWith(settings, "retention", "run", "--provider", e.provider)
	if held.code != 0 || !strings.Contains(held.stdout, "pseudonymised 0 people") ||
		!strings.Contains(held.stdout, "  forest.adviser: held back, holds a role while cycle "+cycleID+" runs (pseudonymised once it has ended)") ||
		!strings.Contains(held.stdout, "1 person held back") {
		t.Errorf("the run during the next cycle: got %s, want the adviser held back by %s", held, cycleID)
	}
	if n := e.count(`SELECT count(*) FROM people WHERE id = 'forest.adviser'`); n != 1 {
		t.Errorf("the adviser was pseudonymised during the cycle")
	}
	if out := e.ok("audit", "verify"); !strings.HasPrefix(out, fmt.Sprintf("ok %d events\n", e.count(`SELECT count(*) FROM audit_events`))) {
		t.Errorf("audit verify at the end: got %q", out)
	}
}

// traces lists the tables (with row counts) whose rows hold any of the
// words as a whole word, in any letter case, as the pseudonymisation reads
// words: "audit_events 12, tasks 3", or "" when none does.
func traces(t *testing.T, e *env, words ...string) string {
	t.Helper()
	var tables []string
	if err := e.db.Select(&tables, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, table := range tables {
		parts := make([]string, len(words))
		for i, w := range words {
			parts[i] = regexp.QuoteMeta(w)
		}
		pattern := `(?<![[:alnum:]._@+-])(` + strings.Join(parts, "|") + `)(?![[:alnum:]_@+-])(?!\.[[:alnum:]])`
		if n := e.count(fmt.Sprintf(`SELECT count(*) FROM %q r WHERE r::text ~* $1`, table), pattern); n > 0 {
			found = append(found, fmt.Sprintf("%s %d", table, n))
		}
	}
	return strings.Join(found, ", ")
}
