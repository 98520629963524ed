package web

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// view is what every page's template is given: the reader's words, the page's
// title, who is logged in (nil on the login pages), where the page is (for the
// language switch to come back to), and the page's own data.
type view struct {
	W       words
	Title   string
	Actor   *service.Actor
	Path    string
	Section string
	Data    any
	loc     *time.Location
}

// When writes a moment in the reader's language, in the provider's time
// zone.
func (v view) When(t time.Time) string { return render.When(t, v.loc, v.W.Lang) }

// WhenP is When for a moment that may be missing.
func (v view) WhenP(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return v.When(*t)
}

// Is says whether the person logged in holds the role (in any unit).
func (v view) Is(role string) bool {
	if v.Actor == nil {
		return false
	}
	for _, r := range v.Actor.Person.Roles {
		if string(r.Role) == role {
			return true
		}
	}
	return false
}

//go:embed templates/*.html
var templateFiles embed.FS

// answerView is what the students' view's "answer" part is given.
type answerView struct {
	W words
	A store.FeedbackAnswer
}

// pageTemplates are the pages, each parsed with the layout it fills.
var pageTemplates = parsePages()

func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"kindKey":  func(k review.TaskKind) string { return "kind." + string(k) },
		"inc":      func(i int) int { return i + 1 },
		"answer":   func(w words, a store.FeedbackAnswer) answerView { return answerView{W: w, A: a} },
		"isAnnex":  func(key string) bool { return strings.HasPrefix(key, "annex/") },
		"taskPath": func(id string) string { return "/tasks/" + url.PathEscape(id) },
	}
	// The layout, and the parts pages share (files named "_*.html"), are
	// parsed into every page.
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/_*.html"))
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		base := path.Base(name)
		if base == "layout.html" || strings.HasPrefix(base, "_") {
			continue
		}
		pages[base] = template.Must(template.Must(layout.Clone()).ParseFS(templateFiles, name))
	}
	return pages
}

// page starts a view for the request: the reader's language, and the actor
// when someone is logged in.
func (s *Server) page(r *http.Request, a *service.Actor, title, section string) view {
	chosen := ""
	if a != nil {
		chosen = a.Person.Language
	}
	w := wordsFor(readerLang(r, chosen))
	return view{W: w, Title: w.T(title), Actor: a, Path: r.URL.RequestURI(), Section: section, loc: s.zoneOf(r, a)}
}

// zoneOf is the time zone a page shows and reads times in: the provider's,
// as in its documents and notices; before login, OHO's default zone.
func (s *Server) zoneOf(r *http.Request, a *service.Actor) *time.Location {
	if a == nil || a.Person.Provider == "" {
		return s.svc.Location()
	}
	loc, err := s.svc.ProviderLocation(r.Context(), *a, a.Person.Provider)
	if err != nil {
		s.logger.Warn("reading the provider's time zone; showing times in the default zone", "provider", a.Person.Provider, "error", err)
		return s.svc.Location()
	}
	return loc
}

// render writes a page with its status. The page is rendered into memory
// first, so that a template failure is a clean error page, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, v view) {
	t, ok := pageTemplates[name]
	var buf bytes.Buffer
	if !ok {
		s.logger.Error("rendering a page that does not exist", "page", name)
		code, name = http.StatusInternalServerError, "error.html"
		t = pageTemplates[name]
		v.Data = errorPage{Message: v.W.T("error.internal")}
	}
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.logger.Error("rendering a page", "page", name, "method", r.Method, "path", r.URL.Path, "error", err)
		http.Error(w, "the page could not be shown; it has been logged", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", string(v.W.Lang))
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// errorPage is what the error page shows.
type errorPage struct {
	Message string
	Lang    string // "en" when the message is the service's words
	Status  int
}

// pageError shows a refusal or failure as a page, in the reader's language,
// with the service's words: the same as the API's and the command line's.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, a *service.Actor, err error) {
	code := statusOf(err)
	v := s.page(r, a, "error.title", "")
	msg, lang := err.Error(), serviceLang
	if code == http.StatusInternalServerError {
		s.logger.Error("page failed", "method", r.Method, "path", r.URL.Path, "error", err)
		msg, lang = v.W.T("error.internal"), ""
	}
	v.Data = errorPage{Message: msg, Lang: lang, Status: code}
	s.render(w, r, code, "error.html", v)
}

// personal returns the actor of a page that needs someone logged in; when
// nobody is, it sends the browser to the login page and returns false.
func (s *Server) personal(w http.ResponseWriter, r *http.Request) (*service.Actor, bool) {
	a, err := s.actor(r)
	if errors.Is(err, service.ErrUnauthenticated) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil, false
	}
	if err != nil {
		s.pageError(w, r, nil, err)
		return nil, false
	}
	return &a, true
}

// localPath is where a form may send the browser back to: a path of this
// site, never another site's address.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
		return "/"
	}
	return p
}

// pageLanguage is the language switch: it remembers the choice (with the
// person's account when someone is logged in, and in a cookie for the login
// pages) and goes back to the page it was on.
func (s *Server) pageLanguage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.pageError(w, r, nil, errorOf(service.ErrInvalid, "the form could not be read"))
		return
	}
	lang := r.PostForm.Get("lang")
	if lang != "fi" && lang != "en" {
		s.pageError(w, r, nil, errorOf(service.ErrInvalid, "language %q is not fi or en", lang))
		return
	}
	if a, err := s.actor(r); err == nil {
		if err := s.svc.SetLanguage(r.Context(), a, lang); err != nil {
			s.pageError(w, r, &a, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.base.Scheme == "https"})
	http.Redirect(w, r, localPath(r.PostForm.Get("back")), http.StatusSeeOther)
}

// pageAccessibility is the accessibility statement, with its feedback
// channel, as the Act on the Provision of Digital Services (306/2019)
// requires.
func (s *Server) pageAccessibility(w http.ResponseWriter, r *http.Request) {
	var a *service.Actor
	if actor, err := s.actor(r); err == nil {
		a = &actor
	}
	v := s.page(r, a, "a11y.title", "accessibility")
	v.Data = s.feedback
	s.render(w, r, http.StatusOK, "accessibility.html", v)
}
