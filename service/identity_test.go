package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// clock is a clock the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// identityWorld is provider ACME with a service whose clock the test moves.
type identityWorld struct {
	t     *testing.T
	db    *sqlx.DB
	svc   *service.Service
	clock *clock
	ctx   context.Context
}

func newIdentityWorld(t *testing.T) *identityWorld {
	t.Helper()
	db, _ := dbtest.New(t)
	st := store.New(db)
	for _, p := range []string{"ACME", "BETA"} {
		if _, err := st.ImportOrg(context.Background(), store.ActorOperator, dbtest.Org(p)); err != nil {
			t.Fatal(err)
		}
	}
	c := &clock{now: time.Now()}
	svc := service.New(service.Config{Store: st, Now: c.Now,
		Temporal: func(context.Context) (client.Client, error) { return nil, errReached }})
	return &identityWorld{t: t, db: db, svc: svc, clock: c, ctx: context.Background()}
}

var (
	cli = review.Via{Channel: review.ChannelCLI, Ref: "root"}
	web = review.Via{Channel: review.ChannelWeb, Ref: "s_test"}
)

// secretOf reads the link's secret from the invitation queued for the
// person, as the sender would.
func (w *identityWorld) secretOf(person string) string {
	w.t.Helper()
	var raw []byte
	if err := w.db.Get(&raw, `SELECT facts FROM notifications WHERE kind = 'invitation' AND person_id = $1 ORDER BY created_at DESC LIMIT 1`, person); err != nil {
		w.t.Fatal(err)
	}
	var f review.NoticeFacts
	if err := json.Unmarshal(raw, &f); err != nil || f.Secret == "" {
		w.t.Fatalf("the invitation of %s holds no secret: %s", person, raw)
	}
	return f.Secret
}

// withPassword invites the person as the operator and sets their password.
func (w *identityWorld) withPassword(person, password string) {
	w.t.Helper()
	if _, err := w.svc.InvitePerson(w.ctx, service.Operator(cli), person); err != nil {
		w.t.Fatal(err)
	}
	if got, err := w.svc.SetPassword(w.ctx, w.secretOf(person), password, "127.0.0.1"); err != nil || got != person {
		w.t.Fatalf("setting the password of %s: got %q, %v", person, got, err)
	}
}

func (w *identityWorld) events(action string) int {
	w.t.Helper()
	var n int
	if err := w.db.Get(&n, `SELECT count(*) FROM audit_events WHERE action = $1`, action); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func TestLoginWithPassword(t *testing.T) {
	w := newIdentityWorld(t)
	w.withPassword("acme.nurse.north", "correct horse battery")

	l, err := w.svc.Login(w.ctx, "acme.nurse.north", "correct horse battery", "10.0.0.1", review.ChannelWeb)
	if err != nil {
		t.Fatal(err)
	}
	if l.Actor.ID() != "acme.nurse.north" || l.Actor.Via.Channel != review.ChannelWeb || l.Actor.Via.Ref != l.SessionRef || !strings.HasPrefix(l.SessionRef, "s_") {
		t.Errorf("login: got %+v", l)
	}

	// Every failure gives the same answer.
	var answers []string
	for _, c := range []struct{ person, password string }{
		{"acme.nurse.north", "wrong password here"},
		{"nobody.here", "correct horse battery"},
		{"acme.nurse.south", "correct horse battery"}, // no password set
		{"Not An ID", "correct horse battery"},
	} {
		_, err := w.svc.Login(w.ctx, c.person, c.password, "10.0.0.2", review.ChannelWeb)
		if !errors.Is(err, service.ErrUnauthenticated) {
			t.Fatalf("login %s/%s: got %v, want ErrUnauthenticated", c.person, c.password, err)
		}
		answers = append(answers, err.Error())
	}
	for _, a := range answers[1:] {
		if a != answers[0] {
			t.Errorf("failed logins answer differently: %q and %q", answers[0], a)
		}
	}
	if w.events(store.ActionLoginSucceeded) != 1 || w.events(store.ActionLoginFailed) != 4 {
		t.Errorf("audit: %d logins, %d failures; want 1 and 4", w.events(store.ActionLoginSucceeded), w.events(store.ActionLoginFailed))
	}
	var unknownActor int
	if err := w.db.Get(&unknownActor, `SELECT count(*) FROM audit_events WHERE action = 'login.failed' AND actor = 'unknown'`); err != nil || unknownActor != 1 {
		t.Errorf("a failed login of no valid ID: %d events by 'unknown', want 1 (%v)", unknownActor, err)
	}
}

func TestLockout(t *testing.T) {
	w := newIdentityWorld(t)
	w.withPassword("acme.nurse.north", "correct horse battery")
	for i := 0; i < service.LockAfterPerson; i++ {
		if _, err := w.svc.Login(w.ctx, "acme.nurse.north", "wrong guess number", "10.0.0.3", review.ChannelWeb); !errors.Is(err, service.ErrUnauthenticated) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	// Locked: the right password is refused with the same words, from
	// another address too.
	_, err := w.svc.Login(w.ctx, "acme.nurse.north", "correct horse battery", "10.0.0.4", review.ChannelWeb)
	if !errors.Is(err, service.ErrUnauthenticated) || w.events(store.ActionLoginLocked) != 1 {
		t.Fatalf("the right password on a locked account: got %v, %d lockout events; want refused and one lockout", err, w.events(store.ActionLoginLocked))
	}
	// Other people are not locked out.
	w.withPassword("acme.head.north", "another good password")
	if _, err := w.svc.Login(w.ctx, "acme.head.north", "another good password", "10.0.0.4", review.ChannelWeb); err != nil {
		t.Errorf("another person's login while one is locked: %v", err)
	}
	// After the window it opens again.
	w.clock.add(service.LockWindow + time.Second)
	if _, err := w.svc.Login(w.ctx, "acme.nurse.north", "correct horse battery", "10.0.0.4", review.ChannelWeb); err != nil {
		t.Errorf("after the lock's window: %v", err)
	}

	// Guesses sent at once count against each other: none slips through
	// while the others are being checked.
	w.withPassword("acme.approver", "approver's good password")
	var wg sync.WaitGroup
	for i := 0; i < 2*service.LockAfterPerson; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.svc.Login(w.ctx, "acme.approver", "a parallel guess", "10.0.1.1", review.ChannelWeb)
		}()
	}
	wg.Wait()
	var checked int
	if err := w.db.Get(&checked, `SELECT count(*) FROM audit_events WHERE action = 'login.failed' AND actor = 'acme.approver' AND payload->>'why' = 'wrong password'`); err != nil {
		t.Fatal(err)
	}
	if checked > service.LockAfterPerson {
		t.Errorf("%d guesses sent at once had their password checked; want at most %d, the rest refused as locked", checked, service.LockAfterPerson)
	}
	if _, err := w.svc.Login(w.ctx, "acme.approver", "approver's good password", "10.0.1.2", review.ChannelWeb); !errors.Is(err, service.ErrUnauthenticated) {
		t.Errorf("after %d guesses at once: got %v, want the account locked", 2*service.LockAfterPerson, err)
	}

	// An address that fails for many people is locked for everyone.
	w.withPassword("acme.editor", "editor's good password")
	for i := 0; i < service.LockAfterAddress; i++ {
		w.svc.Login(w.ctx, "guess.person"+string(rune('a'+i)), "whatever it is", "10.9.9.9", review.ChannelWeb)
	}
	if _, err := w.svc.Login(w.ctx, "acme.editor", "editor's good password", "10.9.9.9", review.ChannelWeb); !errors.Is(err, service.ErrUnauthenticated) {
		t.Errorf("a locked address: got %v, want refused", err)
	}
	if _, err := w.svc.Login(w.ctx, "acme.editor", "editor's good password", "10.9.9.8", review.ChannelWeb); err != nil {
		t.Errorf("another address: %v", err)
	}
}

func TestInvitationLink(t *testing.T) {
	w := newIdentityWorld(t)
	manager, err := w.svc.Act(w.ctx, "acme.manager", web)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := w.svc.InvitePerson(w.ctx, manager, "acme.nurse.north")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Email != dbtest.Email("acme.nurse.north") || !inv.ExpiresAt.After(w.clock.Now().Add(6*24*time.Hour)) {
		t.Errorf("invitation: %+v", inv)
	}
	first := w.secretOf("acme.nurse.north")
	var stored int
	if err := w.db.Get(&stored, `SELECT count(*) FROM password_links WHERE secret_hash = encode(sha256($1::bytea), 'hex')`, first); err != nil || stored != 1 {
		t.Errorf("the link is not stored by its secret's hash: %d rows (%v)", stored, err)
	}
	// A second invitation replaces the first.
	if _, err := w.svc.InvitePerson(w.ctx, manager, "acme.nurse.north"); err != nil {
		t.Fatal(err)
	}
	second := w.secretOf("acme.nurse.north")
	if _, err := w.svc.SetPassword(w.ctx, first, "correct horse battery", "x"); !errors.Is(err, service.ErrUnauthenticated) {
		t.Errorf("the replaced link: got %v, want refused", err)
	}
	// The policy refuses a bad password and leaves the link usable.
	_, err = w.svc.SetPassword(w.ctx, second, "short", "x")
	if !errors.Is(err, service.ErrInvalid) || service.FieldsOf(err)["password"] == "" {
		t.Errorf("a short password: got %v (%v), want invalid field password", err, service.FieldsOf(err))
	}
	if _, err := w.svc.SetPassword(w.ctx, second, "correct horse battery", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.SetPassword(w.ctx, second, "correct horse battery", "x"); !errors.Is(err, service.ErrUnauthenticated) {
		t.Errorf("the link used twice: got %v, want refused", err)
	}
	if _, err := w.svc.SetPassword(w.ctx, "ohl_garbage", "correct horse battery", "x"); !errors.Is(err, service.ErrUnauthenticated) {
		t.Errorf("a made-up link: got %v, want refused", err)
	}
	// An expired link is refused.
	if _, err := w.svc.InvitePerson(w.ctx, manager, "acme.head.north"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Exec(`UPDATE password_links SET expires_at = now() - interval '1 second' WHERE person_id = 'acme.head.north'`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.SetPassword(w.ctx, w.secretOf("acme.head.north"), "correct horse battery", "x"); !errors.Is(err, service.ErrUnauthenticated) {
		t.Errorf("an expired link: got %v, want refused", err)
	}
	// Only the provider's managers and the operator invite.
	nurse, _ := w.svc.Act(w.ctx, "acme.nurse.north", web)
	if _, err := w.svc.InvitePerson(w.ctx, nurse, "acme.head.north"); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("a nurse inviting: got %v, want forbidden", err)
	}
	beta, _ := w.svc.Act(w.ctx, "beta.manager", web)
	if _, err := w.svc.InvitePerson(w.ctx, beta, "acme.head.north"); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("another provider's manager inviting: got %v, want forbidden", err)
	}
	// A person without an e-mail cannot be invited.
	if _, err := w.svc.InvitePerson(w.ctx, manager, "acme.rep.north"); !errors.Is(err, service.ErrInvalid) || !strings.Contains(err.Error(), "no e-mail address") {
		t.Errorf("inviting a person without e-mail: got %v", err)
	}
	if w.events(store.ActionInvitationSent) != 3 || w.events(store.ActionPasswordSet) != 1 {
		t.Errorf("audit: %d invitations, %d passwords set; want 3 and 1", w.events(store.ActionInvitationSent), w.events(store.ActionPasswordSet))
	}
}

func TestDisablePerson(t *testing.T) {
	w := newIdentityWorld(t)
	w.withPassword("acme.nurse.north", "correct horse battery")
	nurseWeb, err := w.svc.Act(w.ctx, "acme.nurse.north", web)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := w.svc.CreateToken(w.ctx, nurseWeb, service.NewToken{Name: "script", Scope: service.ScopeAct})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.TokenActor(w.ctx, tok.Secret); err != nil {
		t.Fatal(err)
	}
	manager, _ := w.svc.Act(w.ctx, "acme.manager", web)
	nurse, _ := w.svc.Act(w.ctx, "acme.nurse.north", web)
	if err := w.svc.DisablePerson(w.ctx, nurse, "acme.head.north", "x"); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("a nurse disabling: got %v, want forbidden", err)
	}
	if err := w.svc.DisablePerson(w.ctx, manager, "acme.manager", "x"); !errors.Is(err, service.ErrConflict) {
		t.Errorf("a manager disabling themselves: got %v, want refused", err)
	}
	if err := w.svc.DisablePerson(w.ctx, manager, "acme.nurse.north", ""); !errors.Is(err, service.ErrInvalid) {
		t.Errorf("disabling without a reason: got %v, want invalid", err)
	}
	if _, err := w.svc.InvitePerson(w.ctx, manager, "acme.nurse.north"); err != nil {
		t.Fatal(err)
	}
	pending := w.secretOf("acme.nurse.north")
	if err := w.svc.DisablePerson(w.ctx, manager, "acme.nurse.north", "Left the college"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.SetPassword(w.ctx, pending, "yet another password", "x"); !errors.Is(err, service.ErrUnauthenticated) {
		t.Errorf("a disabled person's open invitation: got %v, want it closed", err)
	}
	if _, err := w.svc.Login(w.ctx, "acme.nurse.north", "correct horse battery", "10.0.0.1", review.ChannelWeb); !errors.Is(err, service.ErrUnauthenticated) {
		t.Errorf("a disabled person's login: got %v", err)
	}
	if _, err := w.svc.SessionActor(w.ctx, "acme.nurse.north", "s_old"); !errors.Is(err, service.ErrUnauthenticated) {
		t.Errorf("a disabled person's session: got %v", err)
	}
	if _, err := w.svc.TokenActor(w.ctx, tok.Secret); !errors.Is(err, service.ErrUnauthenticated) {
		t.Errorf("a disabled person's token: got %v", err)
	}
	if _, err := w.svc.Act(w.ctx, "acme.nurse.north", cli); !errors.Is(err, service.ErrForbidden) || !strings.Contains(err.Error(), "is disabled") {
		t.Errorf("the command line acting for a disabled person: got %v", err)
	}
	if w.events(store.ActionPersonDisabled) != 1 {
		t.Errorf("person.disabled events: %d, want 1", w.events(store.ActionPersonDisabled))
	}
}

func TestAPITokens(t *testing.T) {
	w := newIdentityWorld(t)
	f := &fixture{t: t, svc: w.svc, st: store.New(w.db)}
	f.cycle(2025, false)
	nurse, err := w.svc.Act(w.ctx, "acme.nurse.north", web)
	if err != nil {
		t.Fatal(err)
	}
	// Only a person in a web session creates tokens.
	if _, err := w.svc.CreateToken(w.ctx, service.Operator(cli), service.NewToken{Name: "x", Scope: service.ScopeAct}); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("the operator creating a token: got %v", err)
	}
	viaCLI, _ := w.svc.Act(w.ctx, "acme.nurse.north", cli)
	if _, err := w.svc.CreateToken(w.ctx, viaCLI, service.NewToken{Name: "x", Scope: service.ScopeAct}); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("the command line creating a token for someone: got %v", err)
	}
	for _, bad := range []service.NewToken{{Scope: service.ScopeAct}, {Name: "x", Scope: "admin"}, {Name: "x", Scope: service.ScopeRead, ExpiresIn: 400 * 24 * time.Hour}} {
		if _, err := w.svc.CreateToken(w.ctx, nurse, bad); !errors.Is(err, service.ErrInvalid) {
			t.Errorf("CreateToken(%+v): got %v, want invalid", bad, err)
		}
	}
	reader, err := w.svc.CreateToken(w.ctx, nurse, service.NewToken{Name: "reports", Scope: service.ScopeRead, ExpiresIn: 2 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	actor, err := w.svc.TokenActor(w.ctx, reader.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if actor.ID() != "acme.nurse.north" || actor.Via != (review.Via{Channel: review.ChannelAPI, Ref: reader.ID}) || !actor.ReadOnly() {
		t.Errorf("the token's actor: %+v", actor)
	}
	// A read token reads, and may not change anything.
	if _, err := w.svc.Task(w.ctx, actor, "ACME/2025/evaluate/NORTH"); err != nil {
		t.Errorf("reading with a read token: %v", err)
	}
	_, err = w.svc.ChangeTask(w.ctx, actor, service.ChangeTask{TaskID: "ACME/2025/evaluate/NORTH", Op: review.OpClaim})
	if !errors.Is(err, service.ErrForbidden) || !strings.Contains(err.Error(), "may only read") {
		t.Errorf("claiming with a read token: got %v, want forbidden", err)
	}
	// An act token does what its person may.
	act, err := w.svc.CreateToken(w.ctx, nurse, service.NewToken{Name: "script", Scope: service.ScopeAct})
	if err != nil {
		t.Fatal(err)
	}
	actActor, err := w.svc.TokenActor(w.ctx, act.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.ChangeTask(w.ctx, actActor, service.ChangeTask{TaskID: "ACME/2025/evaluate/NORTH", Op: review.OpClaim}); !errors.Is(err, errReached) {
		t.Errorf("claiming with an act token: got %v, want it to reach Temporal", err)
	}
	// Listing shows no secrets.
	list, err := w.svc.Tokens(w.ctx, nurse)
	if err != nil || len(list) != 2 {
		t.Fatalf("tokens: %v %v", list, err)
	}
	b, _ := json.Marshal(list)
	if strings.Contains(string(b), reader.Secret) || strings.Contains(string(b), "secret") {
		t.Errorf("the token list shows secrets: %s", b)
	}
	// Malformed, unknown, expired and revoked tokens are refused.
	for _, s := range []string{"", "Bearer x", "oho_" + strings.Repeat("A", 43), reader.Secret + "x"} {
		if _, err := w.svc.TokenActor(w.ctx, s); !errors.Is(err, service.ErrUnauthenticated) {
			t.Errorf("TokenActor(%q): got %v", s, err)
		}
	}
	w.clock.add(3 * 24 * time.Hour)
	if _, err := w.svc.TokenActor(w.ctx, reader.Secret); !errors.Is(err, service.ErrUnauthenticated) {
		t.Errorf("an expired token: got %v", err)
	}
	other, _ := w.svc.Act(w.ctx, "acme.head.north", web)
	if err := w.svc.RevokeToken(w.ctx, other, act.ID); !errors.Is(err, service.ErrNotFound) {
		t.Errorf("revoking another's token: got %v, want not found", err)
	}
	if err := w.svc.RevokeToken(w.ctx, nurse, act.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.TokenActor(w.ctx, act.Secret); !errors.Is(err, service.ErrUnauthenticated) {
		t.Errorf("a revoked token: got %v", err)
	}
	if w.events(store.ActionTokenCreated) != 2 || w.events(store.ActionTokenRevoked) != 1 {
		t.Errorf("audit: %d tokens created, %d revoked; want 2 and 1", w.events(store.ActionTokenCreated), w.events(store.ActionTokenRevoked))
	}
	// The provider's audit log holds its people's identity events; another
	// provider's does not.
	auditor, _ := w.svc.Act(w.ctx, "acme.auditor", web)
	events, err := w.svc.AuditLog(w.ctx, auditor, service.AuditFilter{Actor: "acme.nurse.north"})
	if err != nil {
		t.Fatal(err)
	}
	var created int
	for _, e := range events {
		if e.Action == store.ActionTokenCreated && e.Subject == "person/acme.nurse.north" && e.Channel == review.ChannelWeb && e.ChannelRef == "s_test" {
			created++
		}
	}
	if created != 2 {
		t.Errorf("ACME's audit log shows %d token.created of acme.nurse.north via the session, want 2", created)
	}
	betaAuditor, _ := w.svc.Act(w.ctx, "beta.auditor", web)
	if events, err := w.svc.AuditLog(w.ctx, betaAuditor, service.AuditFilter{Actor: "acme.nurse.north"}); err != nil || len(events) != 0 {
		t.Errorf("BETA's audit log shows %d events of ACME's nurse (%v), want none", len(events), err)
	}
}

func TestLoginOIDC(t *testing.T) {
	w := newIdentityWorld(t)
	if _, err := w.db.Exec(`UPDATE people SET oidc_subject = 'mpass-123' WHERE id = 'acme.rep.north'`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   service.OIDCLogin
		want string // the person, or "" for refused
	}{
		{service.OIDCLogin{Provider: "ACME", IdP: "entra", Match: "email", Value: "ACME.Nurse.North@acme.example"}, "acme.nurse.north"},
		{service.OIDCLogin{Provider: "ACME", IdP: "mpass", Match: "subject", Value: "mpass-123"}, "acme.rep.north"},
		{service.OIDCLogin{Provider: "BETA", IdP: "beta", Match: "email", Value: "acme.nurse.north@acme.example"}, ""},
		{service.OIDCLogin{Provider: "ACME", IdP: "entra", Match: "email", Value: "nobody@acme.example"}, ""},
		{service.OIDCLogin{Provider: "ACME", IdP: "mpass", Match: "subject", Value: ""}, ""},
	} {
		l, err := w.svc.LoginOIDC(w.ctx, c.in)
		switch {
		case c.want == "" && !errors.Is(err, service.ErrUnauthenticated):
			t.Errorf("LoginOIDC(%+v): got %v, want refused", c.in, err)
		case c.want != "" && (err != nil || l.Actor.ID() != c.want || l.Actor.Via.Channel != review.ChannelWeb):
			t.Errorf("LoginOIDC(%+v): got %+v, %v; want %s", c.in, l, err, c.want)
		}
	}
}

// TestGivePassword: only the operator gives a password; the policy applies;
// the person then logs in, and the trail says the operator set it.
func TestGivePassword(t *testing.T) {
	w := newIdentityWorld(t)
	manager, err := w.svc.Act(w.ctx, "acme.manager", cli)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.GivePassword(w.ctx, manager, "acme.nurse.north", "correct horse battery"); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("a manager giving a password: got %v, want ErrForbidden", err)
	}
	op := service.Operator(cli)
	if err := w.svc.GivePassword(w.ctx, op, "acme.nurse.north", "short"); !errors.Is(err, service.ErrInvalid) || service.FieldsOf(err)["password"] == "" {
		t.Errorf("a short password: got %v, want ErrInvalid on password", err)
	}
	if err := w.svc.GivePassword(w.ctx, op, "nobody.here", "correct horse battery"); !errors.Is(err, service.ErrNotFound) {
		t.Errorf("an unknown person: got %v, want ErrNotFound", err)
	}
	if err := w.svc.GivePassword(w.ctx, op, "acme.nurse.north", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Login(w.ctx, "acme.nurse.north", "correct horse battery", "10.0.0.1", review.ChannelWeb); err != nil {
		t.Errorf("logging in with the password given: %v", err)
	}
	var n int
	if err := w.db.Get(&n, `SELECT count(*) FROM audit_events WHERE action = 'password.set' AND actor = 'operator' AND payload->>'by' = 'operator'`); err != nil || n != 1 {
		t.Errorf("the trail records %d passwords given by the operator (%v), want 1", n, err)
	}
}
