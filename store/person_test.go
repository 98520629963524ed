package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// TestPersonData gathers everything the database holds about a welfare
// staff member after a published cycle and the start of the next: their
// record, role, logins, session, token, the tasks they completed (with
// their outcome), were offered and were given, the records their outcome
// made, their notices and every audit event that names them, each
// checkable against its hash; and nothing of other people's outcomes, no
// secret, and no event of a person whose ID merely begins like theirs.
func TestPersonData(t *testing.T) {
	ctx := context.Background()
	const me = "acme.nurse.north"
	lookalike := store.OrgPerson{ID: "acme.nurse.north-2", Name: "Nurse two", Email: "two@acme.example",
		Roles: []store.PersonRole{{Role: review.RoleWelfareStaff, Unit: "SOUTH"}}}
	s, db := imported(t, "BETA")
	addPeople(t, s, "ACME", lookalike)
	c := newCycle(t, s, db, "ACME", 2025, review.Config{}.WithDefaults())
	c.run(round1Changes, round2Changes)

	// The next year: NORTH's evaluation offered to its nurses, SOUTH's
	// given to this one, and SOUTH's consultation to the look-alike.
	next := newCycle(t, s, db, "ACME", 2026, review.Config{}.WithDefaults())
	north, south, consult := next.task(review.KindEvaluate, 0, "NORTH"), next.task(review.KindEvaluate, 0, "SOUTH"), next.task(review.KindConsult, 0, "SOUTH")
	next.open(review.PhaseEvaluate, 0, north, south, consult)
	next.taskOp(review.TaskOpInput{Task: south, Op: review.OpReassign, Seq: 1, Actor: "acme.manager", Assignee: me,
		Reason: "Covering for South this spring.", DueAt: south.DueAt})
	next.taskOp(review.TaskOpInput{Task: consult, Op: review.OpReassign, Seq: 1, Actor: "acme.manager", Assignee: lookalike.ID,
		Reason: "Only the look-alike knows.", DueAt: consult.DueAt})

	// Logging in: an invitation (its secret in the notice until it is
	// sent), a password, an API token, a login attempt and a live session,
	// and another person's session.
	const linkSecret, linkHash = "oho_link_SECRETSECRETSECRET", "1111111111111111111111111111111111111111111111111111111111111111"
	if _, err := s.Invite(ctx, "acme.manager", me, linkSecret, linkHash, time.Now().Add(7*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	const passwordHash = "$argon2id$v=19$m=19456,t=2,p=1$NOTAREALSALT$NOTAREALHASH"
	if err := s.SetPasswordByOperator(ctx, store.ActorOperator, me, passwordHash); err != nil {
		t.Fatal(err)
	}
	const tokenHash = "2222222222222222222222222222222222222222222222222222222222222222"
	if _, err := s.CreateToken(ctx, store.Token{ID: "tok_0123456789", Person: me, Name: "reports", Scope: "read",
		ExpiresAt: time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)}, tokenHash); err != nil {
		t.Fatal(err)
	}
	attempt, _, _, err := s.BeginLogin(ctx, time.Now(), me, "192.0.2.7", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishLogin(ctx, attempt, true); err != nil {
		t.Fatal(err)
	}
	session := func(token, person, ref string) {
		t.Helper()
		data, err := scs.GobCodec{}.Encode(time.Now().Add(time.Hour), map[string]any{store.SessionPersonKey: person, store.SessionRefKey: ref})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, now() + interval '30 minutes')`, token, data); err != nil {
			t.Fatal(err)
		}
	}
	session("SESSIONTOKENOFTHENURSE", me, "s_nurse1")
	session("SESSIONTOKENOFTHEHEAD", "acme.head.north", "s_head1")

	d, err := s.PersonData(ctx, me)
	if err != nil {
		t.Fatal(err)
	}

	p := d.Person
	if p.ID != me || p.Name != "Nurse of NORTH" || p.Email != me+"@acme.example" || p.Provider != "ACME" || p.ProviderName != "Provider ACME" ||
		p.Status != "active" || p.DisabledAt != nil || p.AddedAt == nil || p.AddedBy != store.ActorOperator {
		t.Errorf("got the person %+v, want the nurse of NORTH, active, added by the operator", p)
	}
	if len(d.Roles) != 1 || d.Roles[0] != (store.PersonRoleData{Role: review.RoleWelfareStaff, Unit: "NORTH", UnitName: "North campus"}) {
		t.Errorf("got roles %+v, want welfare_staff of NORTH (North campus)", d.Roles)
	}
	if l := d.Login; !l.PasswordSet || l.PasswordSetAt == nil || l.AccountCreatedAt == nil || len(l.Invitations) != 1 ||
		l.Invitations[0].CreatedBy != "acme.manager" || len(l.Attempts) != 1 || l.Attempts[0].Address != "192.0.2.7" || !l.Attempts[0].OK {
		t.Errorf("got the logins %+v, want a password set, one invitation by acme.manager and one login from 192.0.2.7", l)
	}
	if len(d.Sessions) != 1 || d.Sessions[0].Ref != "s_nurse1" || d.Sessions[0].ExpiresAt.Before(time.Now()) {
		t.Errorf("got sessions %+v, want the nurse's live one, s_nurse1", d.Sessions)
	}
	if len(d.Tokens) != 1 || d.Tokens[0].ID != "tok_0123456789" || d.Tokens[0].Scope != "read" {
		t.Errorf("got tokens %+v, want tok_0123456789", d.Tokens)
	}

	tasks := map[string]store.PersonTask{}
	for _, task := range d.Tasks {
		tasks[task.ID] = task
	}
	done := tasks["ACME/2025/evaluate/NORTH"]
	if len(tasks) != 3 || !slices.Equal(done.Relation, []string{"completed"}) || done.CompletedBy != me ||
		!strings.Contains(string(done.Outcome), "Reports of bullying are not followed up") ||
		!slices.Equal(tasks[north.ID].Relation, []string{"offered"}) || string(tasks[north.ID].Outcome) != "null" ||
		!slices.Equal(tasks[south.ID].Relation, []string{"assigned"}) || tasks[south.ID].Assignee != me {
		t.Errorf("got tasks %+v, want 2025's NORTH evaluation completed with its outcome, 2026's NORTH offered, 2026's SOUTH assigned", d.Tasks)
	}
	r := d.Records
	if len(r.Findings) != 2 || r.Findings[0].ItemID != "F1" || r.Findings[0].Unit != "NORTH" || len(r.Indicators) != 2 ||
		len(r.Feedback) != 0 || len(r.Changes) != 0 || len(r.SignOffs) != 0 || len(r.Approvals) != 0 || len(r.PlanVersions) != 0 {
		t.Errorf("got records %+v, want NORTH's two findings and two indicators only", r)
	}

	kinds := map[string]int{}
	for _, n := range d.Notices {
		kinds[n.Kind]++
		if n.Kind == string(review.NoticeInvitation) && (n.Email != me+"@acme.example" || !strings.Contains(string(n.Facts), `"expires_at"`)) {
			t.Errorf("got the invitation notice %+v, want its facts without the secret", n)
		}
	}
	if kinds["assigned"] != 2 || kinds["reassigned"] != 1 || kinds["invitation"] != 1 {
		t.Errorf("got notices by kind %v, want 2 assigned (2025 and 2026 NORTH), 1 reassigned, 1 invitation", kinds)
	}

	// Every event names the person, and its hash is what its fields and
	// prev_hash give.
	named := map[string][]string{}
	for _, e := range d.Audit.Events {
		named[e.Action] = append(named[e.Action], strings.Join(e.NamedAs, "+"))
		check := e.Event
		check.Payload = json.RawMessage(e.PayloadText)
		if got := store.AuditHash(check); got != e.Hash {
			t.Errorf("event seq %d (%s): its fields hash to %s, not its hash %s", e.Seq, e.Action, got, e.Hash)
		}
		mentions := e.Actor == me || e.Subject == store.PersonSubject(me) || strings.Contains(e.PayloadText, `"`+me+`"`) ||
			strings.Contains(e.PayloadText, "person "+me+" added") || strings.Contains(e.PayloadText, " of "+me+" added")
		if !mentions || len(e.NamedAs) == 0 {
			t.Errorf("event seq %d (%s %s, named as %v) does not name %s: %s", e.Seq, e.Action, e.Subject, e.NamedAs, me, e.PayloadText)
		}
		if strings.Contains(e.PayloadText, lookalike.ID) && !strings.Contains(e.PayloadText, `"`+me+`"`) && e.Action != store.ActionOrgImported {
			t.Errorf("event seq %d (%s) names only %s, not %s", e.Seq, e.Action, lookalike.ID, me)
		}
	}
	for action, want := range map[string]string{
		store.ActionOrgImported:      "payload",
		store.ActionTaskCompleted:    "actor",
		store.ActionFindingRecorded:  "actor,actor",
		store.ActionTaskReassigned:   "payload",
		store.ActionInvitationSent:   "subject",
		store.ActionPasswordSet:      "subject",
		store.ActionTokenCreated:     "actor+subject",
		store.ActionSignOffRecorded:  "",
		store.ActionApprovalRecorded: "",
	} {
		if got := strings.Join(named[action], ","); !strings.HasPrefix(got, want) || (want == "" && got != "") {
			t.Errorf("%s events name the nurse as %q, want %q", action, got, want)
		}
	}
	if head, err := s.Head(ctx); err != nil || d.Audit.ChainHead != head {
		t.Errorf("got the chain head %+v, want %+v (%v)", d.Audit.ChainHead, head, err)
	}

	// Nothing of other people's outcomes, no secret, no token.
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, never := range []string{
		"Indicators are collected but not reviewed",                   // SOUTH's nurse's finding
		"Students want to hear how their feedback changed",            // NORTH's representative's feedback
		"Nurse drop-in hours run every school day",                    // the editor's change
		"Name who owns the procedure on each campus",                  // NORTH's head's comment
		"Only the look-alike knows",                                   // the look-alike's reassignment
		linkSecret, linkHash, passwordHash, "NOTAREALHASH", tokenHash, // secrets and their hashes
		"SESSIONTOKENOFTHENURSE", "s_head1", // session tokens, another's session
	} {
		if strings.Contains(string(b), never) {
			t.Errorf("the data of %s holds %q", me, never)
		}
	}

	if _, err := s.PersonData(ctx, "nobody.here"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown person: got %v, want ErrNotFound", err)
	}
	if _, err := s.PersonData(ctx, `x" || true`); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a malformed ID: got %v, want ErrInvalid", err)
	}
}

// TestPersonDataOfSigners: a unit head's and an approver's signatures,
// comments included, and the published version the approver approved.
func TestPersonDataOfSigners(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{}.WithDefaults())
	pub := c.run(round1Changes, round2Changes)

	head, err := s.PersonData(ctx, "acme.head.north")
	if err != nil {
		t.Fatal(err)
	}
	if so := head.Records.SignOffs; len(so) != 2 || so[0].Decision != review.DecisionRequestChanges || so[0].Comment != "Name who owns the procedure on each campus." ||
		so[1].Round != 2 || so[1].VersionHash != pub.Hash {
		t.Errorf("got the head's sign-offs %+v, want round 1's request with its comment and round 2's approval of %s", so, pub.Hash)
	}
	approver, err := s.PersonData(ctx, "acme.approver")
	if err != nil {
		t.Fatal(err)
	}
	if a := approver.Records.Approvals; len(a) != 1 || a[0].Comment != "Approved by the board." || a[0].EffectiveFrom == nil || *a[0].EffectiveFrom != "2025-08-01" {
		t.Errorf("got the approver's approvals %+v, want the board's approval effective 2025-08-01", a)
	}
	if v := approver.Records.PlanVersions; len(v) != 1 || v[0].Version != pub.Version || v[0].As != "approver" {
		t.Errorf("got the approver's versions %+v, want version %d as approver", v, pub.Version)
	}
	editor, err := s.PersonData(ctx, "acme.editor")
	if err != nil {
		t.Fatal(err)
	}
	if r := editor.Records; len(r.Drafts) != 2 || len(r.Changes) != 3 || len(r.Dispositions) != 8 {
		t.Errorf("got the editor's records: %d drafts, %d changes, %d dispositions; want 2, 3, 8", len(r.Drafts), len(r.Changes), len(r.Dispositions))
	}
}

// TestPersonMention: an ID is found in a payload's strings as a whole word,
// in any case, wherever it stands (a value, a list's element, a sentence,
// at a sentence's end), and not inside a longer ID or word.
func TestPersonMention(t *testing.T) {
	_, db := newStore(t)
	for _, c := range []struct {
		payload string
		want    bool
	}{
		{`{"assignee": "north.nurse"}`, true},
		{`{"notified": ["a.b", "north.nurse"]}`, true},
		{`{"changes": ["role welfare_staff@NORTH of north.nurse added"]}`, true},
		{`{"reason": "Covering for North.Nurse."}`, true},
		{`{"reason": "north.nurse, who is away"}`, true},
		{`{"deep": {"list": [{"text": "(north.nurse)"}]}}`, true},
		{`{"assignee": "north.nurses"}`, false},
		{`{"assignee": "north.nurse-2"}`, false},
		{`{"assignee": "north.nurse.x"}`, false},
		{`{"assignee": "x.north.nurse"}`, false},
		{`{"assignee": "anorth.nurse"}`, false},
		{`{"assignee": "northxnurse"}`, false},
		{`{"north.nurse": 1}`, false}, // keys are not strings of the payload
	} {
		var got bool
		if err := db.Get(&got, `SELECT jsonb_path_exists($1::jsonb, $2::jsonpath)`, c.payload, store.PersonMention("north.nurse")); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s: found %v, want %v", c.payload, got, c.want)
		}
	}
}
