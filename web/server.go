// Package web is OHO's HTTP front end: the pages people work in, in
// Finnish and English (the inbox, a form per kind of task, the manager's
// dashboard, the auditor's pages, the students' view, the login pages), and
// the JSON API under /api/v1 for every use case of package service. Like
// every front end it parses, calls the service with the authenticated
// actor, and presents: it holds no business rule and no authorization
// decision.
//
// People log in with a session kept server-side in PostgreSQL (scs and its
// postgresstore) behind a Secure, HttpOnly, SameSite=Lax cookie; scripts use
// a person's API token as a bearer token. Every response carries security
// headers (a Content-Security-Policy without inline script or style,
// frame-ancestors 'none', nosniff, a referrer policy, and HSTS when served
// over TLS); cross-origin requests that change something are refused;
// request bodies are limited in size. The API's errors are JSON {"error":
// ..., "fields": {...}} with the words the command line prints; the pages
// show a refusal beside the field it concerns (see view.go and
// taskpages.go).
package web

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/v2"

	"github.com/oho-dev/oho/service"
)

// Session lifetimes: a session ends after IdleTimeout without a request, and
// at the latest Lifetime after the login, whatever happens.
const (
	IdleTimeout = 30 * time.Minute
	Lifetime    = 12 * time.Hour
)

// MaxBody is the largest request body the server reads: an organisation
// file of thousands of people, or an outcome at its largest, fits many
// times over.
const MaxBody = 4 << 20

// SessionCookie is the name of the session cookie.
const SessionCookie = "oho_session"

//go:embed static
var static embed.FS

// Config is what the server needs.
type Config struct {
	// Service runs every use case.
	Service *service.Service
	// DB is the database the sessions are kept in (table sessions).
	DB *sql.DB
	// BaseURL is the address people reach OHO at, such as
	// https://oho.college.example: the OpenID Connect redirect address is
	// derived from it, and the session cookie is Secure when it is https.
	BaseURL string
	// IdentityProviders are the OpenID Connect identity providers people
	// may log in with (see LoadIdentityProviders); none is fine.
	IdentityProviders []IdentityProvider
	// FeedbackEmail is where the accessibility statement asks people to
	// send feedback on accessibility (the provider's OHO administrator);
	// without it the statement names the administrator only.
	FeedbackEmail string
	// Logger receives one line per failed request; slog.Default when nil.
	Logger *slog.Logger
	// TrustedProxies are the reverse proxies and load balancers in front
	// of the server, whose X-Forwarded-For names the client
	// (ParseTrustedProxies); none when empty.
	TrustedProxies []netip.Prefix
	// CodecOrigins are the origins of the Temporal Web UI whose pages may
	// call the codec server (ParseCodecOrigins); when empty and the base
	// URL is this machine, DevCodecOrigins.
	CodecOrigins []string
}

// Server serves OHO over HTTP. Create it with New; Close it to stop the
// session store's clean-up.
type Server struct {
	svc      *service.Service
	sessions *scs.SessionManager
	store    *postgresstore.PostgresStore
	base     *url.URL
	idps     *identityProviders
	logger   *slog.Logger
	routes   []route
	handler  http.Handler
	proxies  []netip.Prefix
	feedback string
	// codecOrigins are the origins the codec server answers (codec.go).
	codecOrigins []string
}

// New returns a server for the configuration, refusing a base URL that
// would make the session cookie travel in the clear to another machine.
func New(cfg Config) (*Server, error) {
	base, err := ParseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.Service == nil || cfg.DB == nil {
		return nil, errors.New("web: a service and a database are needed")
	}
	s := &Server{svc: cfg.Service, base: base, logger: cfg.Logger, feedback: cfg.FeedbackEmail, proxies: cfg.TrustedProxies,
		codecOrigins: cfg.CodecOrigins}
	if len(s.codecOrigins) == 0 && loopback(base.Hostname()) {
		s.codecOrigins = DevCodecOrigins
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.idps, err = newIdentityProviders(cfg.IdentityProviders, base)
	if err != nil {
		return nil, err
	}
	s.store = postgresstore.NewWithCleanupInterval(cfg.DB, 10*time.Minute)
	s.sessions = scs.New()
	s.sessions.Store = s.store
	s.sessions.IdleTimeout = IdleTimeout
	s.sessions.Lifetime = Lifetime
	s.sessions.Cookie.Name = SessionCookie
	s.sessions.Cookie.HttpOnly = true
	s.sessions.Cookie.SameSite = http.SameSiteLaxMode
	s.sessions.Cookie.Secure = base.Scheme == "https"
	s.sessions.Cookie.Path = "/"
	s.sessions.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		s.fail(w, r, &unavailableError{err})
	}
	s.routes = s.routeTable()
	s.handler = s.build()
	return s, nil
}

// Close stops the clean-up of expired sessions.
func (s *Server) Close() {
	s.store.StopCleanup()
}

// Handler is the server's whole HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// build chains the handlers every request passes: security headers first,
// so that even a refusal carries them; the body limit; the refusal of
// cross-origin requests that change something; the session; then the
// routes.
func (s *Server) build() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.routes {
		mux.Handle(r.method+" "+r.path, r.handler)
	}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(fmt.Sprintf("web: the embedded static files are missing: %v", err))
	}
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(sub)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errorOf(service.ErrNotFound, "there is no page %s", r.URL.Path))
	})

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errorOf(service.ErrForbidden, "refused: a request from another site may not change anything here"))
	}))
	// The codec server is called from the Web UI's origin, and changes
	// nothing: it checks the origin itself (codecOrigin).
	for _, p := range []string{"POST " + codecPath + "/decode", "POST " + codecPath + "/encode"} {
		cop.AddInsecureBypassPattern(p)
	}
	var h http.Handler = s.sessions.LoadAndSave(mux)
	h = cop.Handler(h)
	h = limitBody(h)
	h = s.recoverPanics(h)
	h = realClient(s.proxies, h)
	return securityHeaders(h)
}

// ParseBaseURL reads the address people reach OHO at: an absolute http or
// https URL without query or fragment. Plain http is refused unless the
// host is this machine, because the session cookie would then cross a
// network unencrypted.
func ParseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("the base URL %q is not an absolute http(s) address such as https://oho.college.example", raw)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("the base URL %q is plain http on another machine: serve OHO over https (with --tls-cert and --tls-key, or behind a TLS proxy) so that session cookies are never sent in the clear", raw)
	}
	return u, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
