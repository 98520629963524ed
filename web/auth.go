package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// Keys of what a session holds: who logged in, and the session's reference
// in the audit trail (never its token), which the store also reads to list
// a person's live sessions (store.PersonData). A login through an identity
// provider in progress holds its state under sessionOIDC.
const (
	sessionPerson = store.SessionPersonKey
	sessionRef    = store.SessionRefKey
	sessionOIDC   = "oidc"
)

// actor authenticates a request: by its API token when it has an
// Authorization header, else by its session. Either way the person is read
// anew, so that a disabled person or a changed role counts at once.
func (s *Server) actor(r *http.Request) (service.Actor, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || strings.TrimSpace(secret) == "" {
			return service.Actor{}, errorOf(service.ErrUnauthenticated, "the Authorization header must be \"Bearer\" and an API token")
		}
		return s.svc.TokenActor(ctx, strings.TrimSpace(secret))
	}
	person := s.sessions.GetString(ctx, sessionPerson)
	if person == "" {
		return service.Actor{}, errorOf(service.ErrUnauthenticated, "log in first: this request has no session (or it has ended) and no API token")
	}
	a, err := s.svc.SessionActor(ctx, person, s.sessions.GetString(ctx, sessionRef))
	if errors.Is(err, service.ErrUnauthenticated) {
		// The person was disabled or removed: the session ends here too.
		if derr := s.sessions.Destroy(ctx); derr != nil {
			s.logger.Warn("ending the session of a person who may no longer log in", "person", person, "error", derr)
		}
	}
	return a, err
}

// startSession makes the request's session the person's: a new session
// token (so a token planted before the login is worth nothing), holding the
// person and the session's reference.
func (s *Server) startSession(ctx context.Context, l service.Login) error {
	if err := s.sessions.RenewToken(ctx); err != nil {
		return &unavailableError{err}
	}
	s.sessions.Remove(ctx, sessionOIDC)
	s.sessions.Put(ctx, sessionPerson, l.Actor.Person.ID)
	s.sessions.Put(ctx, sessionRef, l.SessionRef)
	return nil
}

// endSession records the logout and ends the session: its row is deleted,
// so the old token opens nothing, and the cookie is cleared.
func (s *Server) endSession(ctx context.Context, a service.Actor) error {
	if err := s.svc.Logout(ctx, a); err != nil {
		return err
	}
	if err := s.sessions.Destroy(ctx); err != nil {
		return &unavailableError{err}
	}
	return nil
}

// clientAddress is the address a request came from, for the limits on
// failed logins: the client's, or, behind a reverse proxy, the proxy's,
// unless the proxy is trusted (realClient), when it is the client's again.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// loginLocal logs a person in with their local account's password.
func (s *Server) loginLocal(r *http.Request, person, password string) (service.Login, error) {
	l, err := s.svc.Login(r.Context(), strings.TrimSpace(person), password, clientAddress(r), review.ChannelWeb)
	if err != nil {
		return service.Login{}, err
	}
	return l, s.startSession(r.Context(), l)
}
