package web

import (
	"errors"
	"net/http"

	"github.com/oho-dev/oho/service"
)

// The login pages: a local account's form and a button per OpenID Connect
// identity provider, logging out, and setting a password from an
// invitation. Every form works without JavaScript.

// loginPage is what the login page shows.
type loginPage struct {
	Message           string
	MessageLang       string // "en" when the message is the service's words
	Notice            string
	Person            string
	IdentityProviders []IdentityProvider
}

// loginPage shows the login page with a message, such as why a login failed,
// keeping the person ID typed.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, code int, message, person string) {
	s.loginPageIn(w, r, code, message, serviceLang, person)
}

// loginPageIn is loginPage with a message in the language given (lang ""
// for the page's own words).
func (s *Server) loginPageIn(w http.ResponseWriter, r *http.Request, code int, message, lang, person string) {
	v := s.page(r, nil, "login.title", "login")
	v.Data = loginPage{Message: message, MessageLang: lang, Person: person, IdentityProviders: s.idps.list}
	s.render(w, r, code, "login.html", v)
}

func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request) {
	v := s.page(r, nil, "login.title", "login")
	p := loginPage{IdentityProviders: s.idps.list}
	if r.URL.Query().Get("password") == "set" {
		p.Notice = v.W.T("login.password_set")
	}
	v.Data = p
	s.render(w, r, http.StatusOK, "login.html", v)
}

func (s *Server) pageLoginPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.loginPageIn(w, r, http.StatusBadRequest, wordsFor(readerLang(r, "")).T("login.unreadable"), "", "")
		return
	}
	person := r.PostForm.Get("person")
	if _, err := s.loginLocal(r, person, r.PostForm.Get("password")); err != nil {
		s.loginPage(w, r, statusOf(err), err.Error(), person)
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
		s.pageError(w, r, nil, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// passwordPage is what the page to set a password shows.
type passwordPage struct {
	Token       string
	Message     string
	MessageLang string // "en" when the message is the service's words
}

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request, code int, p passwordPage) {
	v := s.page(r, nil, "password.title", "password")
	v.Data = p
	s.render(w, r, code, "password.html", v)
}

func (s *Server) pagePassword(w http.ResponseWriter, r *http.Request) {
	s.passwordPage(w, r, http.StatusOK, passwordPage{Token: r.URL.Query().Get("token")})
}

func (s *Server) pagePasswordPost(w http.ResponseWriter, r *http.Request) {
	words := wordsFor(readerLang(r, ""))
	if err := r.ParseForm(); err != nil {
		s.passwordPage(w, r, http.StatusBadRequest, passwordPage{Message: words.T("login.unreadable")})
		return
	}
	token, password := r.PostForm.Get("token"), r.PostForm.Get("password")
	if password != r.PostForm.Get("again") {
		s.passwordPage(w, r, http.StatusUnprocessableEntity, passwordPage{Token: token, Message: words.T("password.differ")})
		return
	}
	if _, err := s.svc.SetPassword(r.Context(), token, password, clientAddress(r)); err != nil {
		s.passwordPage(w, r, statusOf(err), passwordPage{Token: token, Message: err.Error(), MessageLang: serviceLang})
		return
	}
	http.Redirect(w, r, "/login?password=set", http.StatusSeeOther)
}
