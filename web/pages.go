package web

import (
	"embed"
	"errors"
	"html/template"
	"net/http"

	"github.com/oho-dev/oho/service"
)

//go:embed templates/*.html
var templateFiles embed.FS

// pages are the few pages this package serves itself: the login, the home
// page that says who is logged in, and the page to set a password from an
// invitation. Every form works without JavaScript.
var pages = template.Must(template.ParseFS(templateFiles, "templates/*.html"))

// loginView is what the login page shows.
type loginView struct {
	Message           string
	Notice            string
	IdentityProviders []IdentityProvider
}

// renderPage writes a page with its status.
func (s *Server) renderPage(w http.ResponseWriter, code int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		s.logger.Error("rendering a page", "page", name, "error", err)
	}
}

// loginPage shows the login page with a message, such as why a login failed.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, code int, message string) {
	s.renderPage(w, code, "login.html", loginView{Message: message, IdentityProviders: s.idps.list})
}

func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request) {
	v := loginView{IdentityProviders: s.idps.list}
	if r.URL.Query().Get("password") == "set" {
		v.Notice = "Salasana on asetettu: kirjaudu sisään. / Your password is set: log in."
	}
	s.renderPage(w, http.StatusOK, "login.html", v)
}

func (s *Server) pageLoginPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.loginPage(w, r, http.StatusBadRequest, "The form could not be read. / Lomaketta ei voitu lukea.")
		return
	}
	if _, err := s.loginLocal(r, r.PostForm.Get("person"), r.PostForm.Get("password")); err != nil {
		s.loginPage(w, r, statusOf(err), err.Error())
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) pageLogout(w http.ResponseWriter, r *http.Request) {
	a, err := s.actor(r)
	if err == nil {
		err = s.endSession(r.Context(), a)
	}
	if err != nil && !errors.Is(err, service.ErrUnauthenticated) {
		s.loginPage(w, r, statusOf(err), err.Error())
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// homeView is what the home page shows of the person logged in.
type homeView struct {
	Actor service.Actor
}

func (s *Server) pageHome(w http.ResponseWriter, r *http.Request) {
	a, err := s.actor(r)
	if errors.Is(err, service.ErrUnauthenticated) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.loginPage(w, r, statusOf(err), err.Error())
		return
	}
	s.renderPage(w, http.StatusOK, "home.html", homeView{Actor: a})
}

// passwordView is what the page to set a password shows.
type passwordView struct {
	Token   string
	Message string
}

func (s *Server) pagePassword(w http.ResponseWriter, r *http.Request) {
	s.renderPage(w, http.StatusOK, "password.html", passwordView{Token: r.URL.Query().Get("token")})
}

func (s *Server) pagePasswordPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderPage(w, http.StatusBadRequest, "password.html", passwordView{Message: "The form could not be read. / Lomaketta ei voitu lukea."})
		return
	}
	token, password := r.PostForm.Get("token"), r.PostForm.Get("password")
	if password != r.PostForm.Get("again") {
		s.renderPage(w, http.StatusUnprocessableEntity, "password.html", passwordView{Token: token,
			Message: "Salasanat eivät ole samat. / The two passwords differ."})
		return
	}
	if _, err := s.svc.SetPassword(r.Context(), token, password, clientAddress(r)); err != nil {
		s.renderPage(w, statusOf(err), "password.html", passwordView{Token: token, Message: err.Error()})
		return
	}
	http.Redirect(w, r, "/login?password=set", http.StatusSeeOther)
}
