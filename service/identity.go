package service

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/identity"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// Limits on failed password logins: this many failures of one person in
// LockWindow lock their account, this many from one address lock that
// address, until the window has passed since the latest failures.
const (
	LockAfterPerson  = 5
	LockAfterAddress = 20
	LockWindow       = 15 * time.Minute
)

// Lifetimes of what identity hands out.
const (
	// InvitationLifetime is how long a link to set a password works.
	InvitationLifetime = 7 * 24 * time.Hour
	// DefaultTokenLifetime, MinTokenLifetime and MaxTokenLifetime bound an
	// API token's life.
	DefaultTokenLifetime = 90 * 24 * time.Hour
	MinTokenLifetime     = 24 * time.Hour
	MaxTokenLifetime     = 366 * 24 * time.Hour
)

// Token scopes: a read token may only read; an act token may do what its
// person may.
const (
	ScopeRead = "read"
	ScopeAct  = "act"
)

// errLogin is the one answer to every failed password login — an unknown
// person, a wrong password, an account without a password, disabled or
// locked — so that nobody learns which it was.
var errLogin = errorOf(ErrUnauthenticated, "the person ID or password is wrong, or the account is locked for a while after too many failed attempts")

// Login is a login that succeeded: its actor, and the reference of the new
// session, which the session keeps and audit events name (never the
// session's token).
type Login struct {
	Actor      Actor
	SessionRef string
}

// ActorUnknown is the actor of a failed login whose person ID is not one.
const ActorUnknown = "unknown"

// Login logs a person in with their local account's password, from the
// address, through the channel (the web). Failures are limited per person
// and per address (LockAfterPerson, LockAfterAddress in LockWindow) and all
// get the same answer; an unknown person costs the same Argon2id work as a
// known one. Every attempt is an audit event, and so is a lockout.
func (s *Service) Login(ctx context.Context, person, password, address string, channel review.Channel) (Login, error) {
	person = strings.TrimSpace(person)
	actor := person
	if !check.Person(person) {
		actor = ActorUnknown
	}
	// A failure is recorded without a session reference: no session began.
	ctx = store.WithVia(ctx, review.Via{Channel: channel})
	now := s.now()
	s.pruneAttempts(ctx, now)
	attempt, byPerson, byAddress, err := s.store.BeginLogin(ctx, now, actor, address, now.Add(-LockWindow))
	if err != nil {
		return Login{}, fromStore(err)
	}
	// The counts include this attempt: the one that makes LockAfterPerson
	// failures locks the account, and any after it is refused unseen.
	fail := func(why string) (Login, error) {
		events := []store.IdentityEvent{{Actor: actor, Action: store.ActionLoginFailed, Person: actor,
			Payload: map[string]any{"address": address, "why": why}}}
		if byPerson == LockAfterPerson && actor != ActorUnknown {
			events = append(events, store.IdentityEvent{Actor: store.ActorSystem, Action: store.ActionLoginLocked, Person: actor,
				Payload: map[string]any{"address": address, "failures": LockAfterPerson, "for": LockWindow.String()}})
		}
		if byAddress == LockAfterAddress {
			events = append(events, store.IdentityEvent{Actor: store.ActorSystem, Action: store.ActionLoginLocked, Subject: "address/" + address,
				Payload: map[string]any{"address": address, "failures": LockAfterAddress, "for": LockWindow.String()}})
		}
		if err := s.store.FinishLogin(ctx, attempt, false, events...); err != nil {
			return Login{}, fromStore(err)
		}
		return Login{}, errLogin
	}
	if byPerson > LockAfterPerson || byAddress > LockAfterAddress {
		s.spendVerify(ctx, password)
		return fail("locked")
	}
	acct, err := s.store.Account(ctx, person)
	switch {
	case errors.Is(err, store.ErrNotFound) || actor == ActorUnknown:
		s.spendVerify(ctx, password)
		return fail("unknown person")
	case err != nil:
		return Login{}, fromStore(err)
	case acct.PasswordHash == "":
		s.spendVerify(ctx, password)
		return fail("no password set")
	}
	ok, err := s.verify(ctx, acct.PasswordHash, password)
	if err != nil {
		return Login{}, fmt.Errorf("checking the password of %s: %w", person, err)
	}
	switch {
	case !ok:
		return fail("wrong password")
	case acct.DisabledAt != nil:
		return fail("disabled")
	}
	ref := identity.NewID("s_", 6)
	via := review.Via{Channel: channel, Ref: ref}
	a, err := s.Act(ctx, person, via)
	if err != nil {
		return Login{}, err
	}
	ev := store.IdentityEvent{Actor: person, Action: store.ActionLoginSucceeded, Person: person,
		Payload: map[string]any{"address": address, "method": "password"}}
	if err := s.store.FinishLogin(store.WithVia(ctx, via), attempt, true, ev); err != nil {
		return Login{}, fromStore(err)
	}
	return Login{Actor: a, SessionRef: ref}, nil
}

// verify checks a password against its hash, among at most a few Argon2id
// computations at once: each takes 19 MiB and tens of milliseconds, so a
// flood of login requests waits here instead of exhausting the server.
func (s *Service) verify(ctx context.Context, hash, password string) (bool, error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.hashing }()
	return identity.Verify(hash, password)
}

// spendVerify does the work of a verification that cannot succeed, under
// the same limit.
func (s *Service) spendVerify(ctx context.Context, password string) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-s.hashing }()
	identity.SpendVerify(password)
}

// pruneAttempts deletes login attempts a day old, at most once an hour.
func (s *Service) pruneAttempts(ctx context.Context, now time.Time) {
	last := s.pruned.Load()
	if now.Unix()-last < 3600 || !s.pruned.CompareAndSwap(last, now.Unix()) {
		return
	}
	if err := s.store.PruneLoginAttempts(ctx, now.Add(-24*time.Hour)); err != nil {
		// Pruning is housekeeping: the next login tries again.
		s.pruned.Store(last)
	}
}

// OIDCLogin is what an identity provider said of a person: the education
// Provider it belongs to, its ID (IdP), how it finds people (Match: "email"
// or "subject") and the claim's Value; Address is where the login came from.
type OIDCLogin struct {
	Provider, IdP, Match, Value, Address string
}

// LoginOIDC logs in the person of the provider the identity provider's
// claim names, after the web layer has verified the provider's ID token.
// Nobody with that claim, or a disabled person, is refused, and recorded.
func (s *Service) LoginOIDC(ctx context.Context, in OIDCLogin) (Login, error) {
	ref := identity.NewID("s_", 6)
	via := review.Via{Channel: review.ChannelWeb, Ref: ref}
	ctx = store.WithVia(ctx, via)
	payload := map[string]any{"address": in.Address, "method": "oidc", "identity_provider": in.IdP, "match": in.Match}
	person, err := s.store.PersonByLogin(ctx, in.Provider, in.Match, in.Value)
	if errors.Is(err, store.ErrNotFound) {
		payload["why"] = "no such person"
		if rerr := s.store.RecordIdentity(ctx, store.IdentityEvent{Actor: ActorUnknown, Action: store.ActionLoginFailed, Person: ActorUnknown, Payload: payload}); rerr != nil {
			return Login{}, fromStore(rerr)
		}
		return Login{}, &Error{kind: ErrUnauthenticated, msg: fmt.Sprintf("the identity provider vouches for %q, but no person of %s in OHO has that %s; ask your OHO manager", in.Value, in.Provider, in.Match), err: err}
	}
	if err != nil {
		return Login{}, fromStore(err)
	}
	a, err := s.Act(ctx, person, via)
	if errors.Is(err, ErrForbidden) {
		payload["why"] = "disabled"
		if rerr := s.store.RecordIdentity(ctx, store.IdentityEvent{Actor: person, Action: store.ActionLoginFailed, Person: person, Payload: payload}); rerr != nil {
			return Login{}, fromStore(rerr)
		}
		return Login{}, errorOf(ErrUnauthenticated, "person %s may not log in: they are disabled", person)
	}
	if err != nil {
		return Login{}, err
	}
	if err := s.store.RecordIdentity(ctx, store.IdentityEvent{Actor: person, Action: store.ActionLoginSucceeded, Person: person, Payload: payload}); err != nil {
		return Login{}, fromStore(err)
	}
	return Login{Actor: a, SessionRef: ref}, nil
}

// Logout records that the actor's session ended; the web layer ends it.
func (s *Service) Logout(ctx context.Context, a Actor) error {
	if a.operator || a.Via.Channel != review.ChannelWeb {
		return errorOf(ErrConflict, "only a session logs out")
	}
	err := s.store.RecordIdentity(a.ctx(ctx), store.IdentityEvent{Actor: a.ID(), Action: store.ActionLogout, Person: a.ID()})
	return fromStore(err)
}

// SessionActor is the actor of a request in a person's session: the person
// as they are now (their current roles), unless they are gone or disabled.
func (s *Service) SessionActor(ctx context.Context, person, sessionRef string) (Actor, error) {
	a, err := s.Act(ctx, person, review.Via{Channel: review.ChannelWeb, Ref: sessionRef})
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrInvalid) {
		return Actor{}, &Error{kind: ErrUnauthenticated, msg: "log in again: this session's person may no longer log in", err: err}
	}
	return a, err
}

// errToken is the one answer to a token that does not work, whatever the
// reason.
var errToken = errorOf(ErrUnauthenticated, "the API token is not valid: unknown, expired or revoked, or its person is disabled")

// TokenActor is the actor of a request with an API token: its person as they
// are now, read-only for a token of scope read.
func (s *Service) TokenActor(ctx context.Context, secret string) (Actor, error) {
	if !identity.WellFormed(identity.TokenPrefix, secret) {
		return Actor{}, errorOf(ErrUnauthenticated, "this is not an OHO API token (they start with %q)", identity.TokenPrefix)
	}
	t, disabled, err := s.store.TokenBySecret(ctx, identity.HashSecret(secret))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Actor{}, errToken
	case err != nil:
		return Actor{}, fromStore(err)
	case disabled || t.RevokedAt != nil || !s.now().Before(t.ExpiresAt):
		return Actor{}, errToken
	}
	a, err := s.Act(ctx, t.Person, review.Via{Channel: review.ChannelAPI, Ref: t.ID})
	if err != nil {
		return Actor{}, errToken
	}
	a.readOnly = t.Scope == ScopeRead
	if err := s.store.TouchToken(ctx, t.ID); err != nil {
		return Actor{}, fromStore(err)
	}
	return a, nil
}

// NewToken asks for an API token: a name its person knows it by, its scope
// (ScopeRead or ScopeAct) and how long it lives (DefaultTokenLifetime when
// zero).
type NewToken struct {
	Name      string
	Scope     string
	ExpiresIn time.Duration
}

// TokenInfo is an API token as its person sees it; never its secret.
type TokenInfo = store.Token

// CreatedToken is a new API token with its secret, shown this once.
type CreatedToken struct {
	TokenInfo
	Secret string `json:"secret"`
}

// CreateToken creates an API token of the actor's own. Only a person in a
// web session may: not the operator, and not a script with a token, so that
// a token cannot breed tokens.
func (s *Service) CreateToken(ctx context.Context, a Actor, in NewToken) (CreatedToken, error) {
	if a.operator || a.Via.Channel != review.ChannelWeb {
		return CreatedToken{}, errorOf(ErrForbidden, "refused: API tokens are created by their person, logged in to the web")
	}
	name := strings.TrimSpace(in.Name)
	switch {
	case name == "":
		return CreatedToken{}, invalid("name", "the token needs a name, to tell it from your others")
	case utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) || strings.ContainsRune(name, 0):
		return CreatedToken{}, invalid("name", "the token's name must be text of at most 100 characters")
	case in.Scope != ScopeRead && in.Scope != ScopeAct:
		return CreatedToken{}, invalid("scope", "scope must be read or act (got %q)", in.Scope)
	}
	life := in.ExpiresIn
	if life == 0 {
		life = DefaultTokenLifetime
	}
	if life < MinTokenLifetime || life > MaxTokenLifetime {
		return CreatedToken{}, invalid("expires_in_days", "a token lives 1 to 366 days")
	}
	secret, hash := identity.NewSecret(identity.TokenPrefix)
	t, err := s.store.CreateToken(a.ctx(ctx), store.Token{ID: identity.NewID("tok_", 5), Person: a.Person.ID, Name: name,
		Scope: in.Scope, ExpiresAt: s.now().Add(life).UTC().Truncate(time.Second)}, hash)
	if err != nil {
		return CreatedToken{}, fromStore(err)
	}
	return CreatedToken{TokenInfo: t, Secret: secret}, nil
}

// Tokens lists the actor's own API tokens.
func (s *Service) Tokens(ctx context.Context, a Actor) ([]TokenInfo, error) {
	if a.operator {
		return nil, errorOf(ErrInvalid, "the operator has no API tokens")
	}
	t, err := s.store.Tokens(ctx, a.Person.ID)
	return t, fromStore(err)
}

// RevokeToken revokes one of the actor's own API tokens at once; the
// operator may revoke anyone's. Another person's token is ErrNotFound, so
// that nothing about it leaks.
func (s *Service) RevokeToken(ctx context.Context, a Actor, id string) error {
	if a.readOnly {
		return errorOf(ErrForbidden, "refused: a token that may only read may not revoke tokens")
	}
	if !tokenIDPattern.MatchString(id) {
		return invalid("id", "%s is not an API token ID (such as tok_0123456789)", check.Quote(id))
	}
	owner := a.Person.ID
	if a.operator {
		owner = ""
	}
	return fromStore(s.store.RevokeToken(a.ctx(ctx), a.ID(), owner, id))
}

// tokenIDPattern is what an API token's ID looks like: identity.NewID's
// "tok_" and ten hexadecimal digits (a little leeway for longer ones).
var tokenIDPattern = regexp.MustCompile(`^tok_[0-9a-f]{10,32}$`)

// Invitation is an invitation sent: to whom, where, and until when its link
// works.
type Invitation struct {
	Person    string    `json:"person"`
	Email     string    `json:"email"`
	ExpiresAt time.Time `json:"expires_at"`
}

// personToAdminister reads a person the actor wants to invite or disable,
// and asks whether they may (the person's provider's managers, the
// operator).
func (s *Service) personToAdminister(ctx context.Context, a Actor, person string) (store.Person, error) {
	if err := checkPerson("person", person); err != nil {
		return store.Person{}, err
	}
	p, err := s.store.Person(ctx, person)
	if err != nil {
		return store.Person{}, personError(person, err)
	}
	if err := a.authorize(p.Provider, authz.OpAdminister, authz.Subject{On: "person " + person}); err != nil {
		return store.Person{}, err
	}
	return p, nil
}

// InvitePerson mails the person a one-time link to set their password,
// which works for InvitationLifetime; a new invitation replaces the
// person's earlier ones. The person needs an e-mail address and may not be
// disabled.
func (s *Service) InvitePerson(ctx context.Context, a Actor, person string) (Invitation, error) {
	p, err := s.personToAdminister(ctx, a, person)
	if err != nil {
		return Invitation{}, err
	}
	if p.DisabledAt != nil {
		return Invitation{}, errorOf(ErrConflict, "refused: person %s is disabled", person)
	}
	secret, hash := identity.NewSecret(identity.LinkPrefix)
	expires := s.now().Add(InvitationLifetime).UTC().Truncate(time.Second)
	email, err := s.store.Invite(a.ctx(ctx), a.ID(), person, secret, hash, expires)
	if err != nil {
		return Invitation{}, fromStore(err)
	}
	return Invitation{Person: person, Email: email, ExpiresAt: expires}, nil
}

// DisablePerson disables a person, with a reason: they can no longer log
// in, their sessions and tokens stop working at once, and nobody may act
// for them. A manager cannot disable themselves.
func (s *Service) DisablePerson(ctx context.Context, a Actor, person, reason string) error {
	reason, err := checkReason("disable", reason, true)
	if err != nil {
		return err
	}
	if _, err := s.personToAdminister(ctx, a, person); err != nil {
		return err
	}
	if person == a.ID() {
		return errorOf(ErrConflict, "refused: you cannot disable yourself; ask another manager or the operator")
	}
	return fromStore(s.store.Disable(a.ctx(ctx), a.ID(), person, reason))
}

// errLink is the one answer to a link that does not work, whatever the
// reason.
var errLink = errorOf(ErrUnauthenticated, "this link does not work: it was used already, replaced by a newer invitation, or has expired; ask for a new invitation")

// SetPassword sets a password with the secret of an invitation link, which
// it uses up, and returns whose it was. A password that breaks the policy is
// refused (ErrInvalid, field password) and leaves the link usable.
func (s *Service) SetPassword(ctx context.Context, secret, password, address string) (string, error) {
	if !identity.WellFormed(identity.LinkPrefix, secret) {
		return "", errLink
	}
	ctx = store.WithVia(ctx, review.Via{Channel: review.ChannelWeb})
	person, err := s.store.SetPassword(ctx, identity.HashSecret(secret), address,
		func(person string) error {
			if err := identity.CheckPassword(person, password); err != nil {
				return invalid("password", "%s", err.Error())
			}
			return nil
		},
		func() (string, error) { return identity.Hash(password, identity.OWASP) })
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", errLink
	case err != nil:
		return "", fromStore(err)
	}
	return person, nil
}

// SetLanguage remembers the language the actor reads the pages in: "fi" or
// "en". Only a person has pages to read; the operator has none.
func (s *Service) SetLanguage(ctx context.Context, a Actor, language string) error {
	if language != "fi" && language != "en" {
		return invalid("language", "language %q is not fi or en", language)
	}
	if a.operator {
		return errorOf(ErrConflict, "refused: the operator has no pages whose language to remember")
	}
	return fromStore(s.store.SetLanguage(ctx, a.ID(), language))
}

// GivePassword sets a person's password from the server's console: only the
// operator may, for a first manager on a machine without mail or for the
// demo's people; everyone else sets their own from an invitation. The
// password policy applies, and the audit trail records that the operator
// set it.
func (s *Service) GivePassword(ctx context.Context, a Actor, person, password string) error {
	if !a.operator {
		return errorOf(ErrForbidden, "refused: only the operator, at the server's command line, may give a person a password; invite them instead")
	}
	p, err := s.personToAdminister(ctx, a, person)
	if err != nil {
		return err
	}
	if p.DisabledAt != nil {
		return errorOf(ErrConflict, "refused: person %s is disabled", person)
	}
	if err := identity.CheckPassword(person, password); err != nil {
		return invalid("password", "%s", err.Error())
	}
	hash, err := identity.Hash(password, identity.OWASP)
	if err != nil {
		return err
	}
	return fromStore(s.store.SetPasswordByOperator(a.ctx(ctx), a.ID(), person, hash))
}
