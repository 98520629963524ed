package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/service"
)

// IdentityProvider is an OpenID Connect identity provider the people of one
// education provider log in with: Microsoft Entra ID for a college's staff,
// MPASSid for its students, say. A provider may have several.
type IdentityProvider struct {
	// ID names it in the login address, /auth/oidc/<id>.
	ID string `json:"id" validate:"required,code"`
	// Provider is the education provider whose people log in with it; a
	// login only ever finds a person of this provider.
	Provider string `json:"provider" validate:"required,code"`
	// Name is what the login button says ("Microsoft (staff)").
	Name string `json:"name" validate:"required,max=100"`
	// Issuer is the identity provider's issuer URL; its discovery document
	// is read from Issuer + "/.well-known/openid-configuration".
	Issuer string `json:"issuer" validate:"required,url"`
	// ClientID and the client secret are OHO's registration with it. The
	// secret is given in the environment variable ClientSecretEnv names,
	// so that the file holds no secret; ClientSecret is for tests.
	ClientID        string `json:"client_id" validate:"required,max=500"`
	ClientSecretEnv string `json:"client_secret_env" validate:"required_without=ClientSecret,max=200"`
	ClientSecret    string `json:"client_secret" validate:"max=500"`
	// Scopes asked for besides openid; by default email and profile.
	Scopes []string `json:"scopes" validate:"max=20,dive,max=100"`
	// Match says how the login finds the person: "email" compares the
	// claim with people's e-mail addresses (case-insensitively), "subject"
	// with the subjects recorded for them (the org file's oidc_subject).
	Match string `json:"match" validate:"required,oneof=email subject"`
	// Claim is the ID token claim compared; by default "email" for match
	// email and "sub" for match subject.
	Claim string `json:"claim" validate:"max=100"`
}

// identityProvidersFile is the file LoadIdentityProviders reads.
type identityProvidersFile struct {
	IdentityProviders []IdentityProvider `json:"identity_providers" validate:"max=50,dive"`
}

// LoadIdentityProviders reads the identity providers from a JSON file
// ({"identity_providers": [...]}), refusing unknown fields, checking every
// field, and reading each client secret from its environment variable.
func LoadIdentityProviders(path string) ([]IdentityProvider, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the identity providers: %w", err)
	}
	var f identityProvidersFile
	if err := check.Decode(raw, path, &f); err != nil {
		return nil, err
	}
	if err := check.Struct(f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i := range f.IdentityProviders {
		idp := &f.IdentityProviders[i]
		if idp.ClientSecret == "" {
			idp.ClientSecret = os.Getenv(idp.ClientSecretEnv)
			if idp.ClientSecret == "" {
				return nil, fmt.Errorf("%s: identity provider %s: the environment variable %s, which should hold its client secret, is not set", path, idp.ID, idp.ClientSecretEnv)
			}
		}
	}
	return f.IdentityProviders, nil
}

// identityProviders are the configured identity providers, each discovered
// on its first use: the server starts, and local logins work, while an
// identity provider cannot be reached.
type identityProviders struct {
	list     []IdentityProvider
	redirect string
	client   *http.Client

	mu         sync.Mutex
	discovered map[string]*discovered
}

// discovered is an identity provider whose discovery document has been read.
type discovered struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newIdentityProviders(list []IdentityProvider, base *url.URL) (*identityProviders, error) {
	seen := map[string]bool{}
	for _, idp := range list {
		if seen[idp.ID] {
			return nil, fmt.Errorf("two identity providers have the ID %q", idp.ID)
		}
		seen[idp.ID] = true
	}
	u := *base
	u.Path = u.Path + "/auth/oidc/callback"
	return &identityProviders{
		list: list, redirect: u.String(), discovered: map[string]*discovered{},
		client: &http.Client{Timeout: 10 * time.Second},
	}, nil
}

// find returns the identity provider with the ID.
func (p *identityProviders) find(id string) (IdentityProvider, bool) {
	i := slices.IndexFunc(p.list, func(idp IdentityProvider) bool { return idp.ID == id })
	if i < 0 {
		return IdentityProvider{}, false
	}
	return p.list[i], true
}

// discover reads the identity provider's discovery document once it
// answers, and keeps what it found.
func (p *identityProviders) discover(ctx context.Context, idp IdentityProvider) (*discovered, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d, ok := p.discovered[idp.ID]; ok {
		return d, nil
	}
	prov, err := oidc.NewProvider(oidc.ClientContext(ctx, p.client), idp.Issuer)
	if err != nil {
		return nil, errorOf(service.ErrUnavailable, "the identity provider %s does not answer: %v", idp.Name, err)
	}
	scopes := idp.Scopes
	if len(scopes) == 0 {
		scopes = []string{"email", "profile"}
	}
	d := &discovered{
		oauth: oauth2.Config{
			ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, Endpoint: prov.Endpoint(),
			RedirectURL: p.redirect, Scopes: append([]string{oidc.ScopeOpenID}, scopes...),
		},
		verifier: prov.Verifier(&oidc.Config{ClientID: idp.ClientID}),
	}
	p.discovered[idp.ID] = d
	return d, nil
}

// pendingLogin is what the session keeps between sending a person to the
// identity provider and their return: which provider, and the state, nonce
// and PKCE verifier that tie the answer to this request.
type pendingLogin struct {
	IdP      string    `json:"idp"`
	State    string    `json:"state"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier"`
	Started  time.Time `json:"started"`
}

// loginWindow is how long a person has at the identity provider.
const loginWindow = 10 * time.Minute

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// oidcStart sends the person to the identity provider (the authorization
// code flow with PKCE and a nonce).
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	idp, ok := s.idps.find(r.PathValue("idp"))
	if !ok {
		s.loginPage(w, r, http.StatusNotFound, fmt.Sprintf("there is no identity provider %q", r.PathValue("idp")), "")
		return
	}
	d, err := s.idps.discover(r.Context(), idp)
	if err != nil {
		s.loginPage(w, r, statusOf(err), err.Error(), "")
		return
	}
	p := pendingLogin{IdP: idp.ID, State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier(), Started: time.Now()}
	b, _ := json.Marshal(p)
	s.sessions.Put(r.Context(), sessionOIDC, string(b))
	http.Redirect(w, r, d.oauth.AuthCodeURL(p.State, oidc.Nonce(p.Nonce), oauth2.S256ChallengeOption(p.Verifier)), http.StatusSeeOther)
}

// oidcCallback takes the person back from the identity provider: it checks
// that the answer belongs to the login this session started, exchanges the
// code (with the PKCE verifier), verifies the ID token and its nonce, and
// logs in the person the configured claim finds.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	var claimed string
	l, err := s.finishOIDC(r, &claimed)
	if err != nil {
		// The person is told which address or subject found nobody; the
		// log, which holds codes only, is not.
		msg := err.Error()
		if claimed != "" {
			msg = strings.ReplaceAll(msg, claimed, "(withheld)")
		}
		s.logger.Info("login through an identity provider failed", "error", msg)
		s.loginPage(w, r, statusOf(err), err.Error(), "")
		return
	}
	if err := s.startSession(r.Context(), l); err != nil {
		s.loginPage(w, r, statusOf(err), err.Error(), "")
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// finishOIDC sets claimed to the value of the claim that finds the person,
// once it has one.
func (s *Server) finishOIDC(r *http.Request, claimed *string) (service.Login, error) {
	ctx := r.Context()
	raw := s.sessions.PopString(ctx, sessionOIDC)
	var p pendingLogin
	if raw == "" || json.Unmarshal([]byte(raw), &p) != nil || time.Since(p.Started) > loginWindow {
		return service.Login{}, errorOf(service.ErrUnauthenticated, "this login was not started here, or it took too long: start it again")
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return service.Login{}, errorOf(service.ErrUnauthenticated, "the identity provider refused the login: %s %s", e, q.Get("error_description"))
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(p.State)) != 1 {
		return service.Login{}, errorOf(service.ErrUnauthenticated, "the answer of the identity provider does not belong to this login: start it again")
	}
	idp, ok := s.idps.find(p.IdP)
	if !ok {
		return service.Login{}, errorOf(service.ErrUnauthenticated, "the identity provider %q is no longer configured", p.IdP)
	}
	d, err := s.idps.discover(ctx, idp)
	if err != nil {
		return service.Login{}, err
	}
	cctx := oidc.ClientContext(ctx, s.idps.client)
	tok, err := d.oauth.Exchange(cctx, q.Get("code"), oauth2.VerifierOption(p.Verifier))
	if err != nil {
		return service.Login{}, errorOf(service.ErrUnauthenticated, "the identity provider did not accept the login's code: %v", err)
	}
	rawID, ok := tok.Extra("id_token").(string)
	if !ok {
		return service.Login{}, errorOf(service.ErrUnauthenticated, "the identity provider sent no ID token")
	}
	id, err := d.verifier.Verify(cctx, rawID)
	if err != nil {
		return service.Login{}, errorOf(service.ErrUnauthenticated, "the ID token is not valid: %v", err)
	}
	if subtle.ConstantTimeCompare([]byte(id.Nonce), []byte(p.Nonce)) != 1 {
		return service.Login{}, errorOf(service.ErrUnauthenticated, "the ID token was not issued for this login")
	}
	var claims map[string]any
	if err := id.Claims(&claims); err != nil {
		return service.Login{}, errorOf(service.ErrUnauthenticated, "the ID token's claims cannot be read: %v", err)
	}
	claim := idp.Claim
	if claim == "" {
		claim = map[string]string{"email": "email", "subject": "sub"}[idp.Match]
	}
	value, _ := claims[claim].(string)
	if value == "" {
		return service.Login{}, errorOf(service.ErrUnauthenticated, "the identity provider sent no %s claim, which finds the person", claim)
	}
	*claimed = value
	if verified, ok := claims["email_verified"].(bool); ok && !verified && claim == "email" {
		return service.Login{}, errorOf(service.ErrUnauthenticated, "the identity provider has not verified this e-mail address")
	}
	return s.svc.LoginOIDC(ctx, service.OIDCLogin{Provider: idp.Provider, IdP: idp.ID, Match: idp.Match, Value: value, Address: clientAddress(r)})
}
