package e2e

import (
	"context"
	"net/http"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
)

// webWorld is what the tests of the pages run against: the test provider
// with every role filled (and any more people the test names), each person
// with an e-mail; a worker; and 'starter serve' with an OpenID Connect
// provider running in the test ("staff", finding people by e-mail). With
// others, a second provider ("X" and the test provider's code, one unit
// MAIN) whose people log in through a login of their own ("other").
type webWorld struct {
	*env
	srv   *server
	idp   *mockoidc.MockOIDC
	other string
	// outsiders are the second provider's people.
	outsiders map[string]bool
}

// webOptions are what a test adds to the world.
type webOptions struct {
	people []map[string]any // more people of the test provider
	others []map[string]any // people of the second provider
	vars   []string         // more environment for the worker and the server
	// noWorker leaves the world without a worker, which the test starts
	// (w.startWorker) when it wants one.
	noWorker bool
}

// personOf is a person of an organisation file with one role.
func personOf(id, name, role, unit string) map[string]any {
	return map[string]any{"id": id, "name": name, "roles": []map[string]string{{"role": role, "unit": unit}}}
}

func newWebWorld(t *testing.T, o webOptions) *webWorld {
	t.Helper()
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Shutdown() })
	e := newEnv(t)
	addr := freeAddr(t)
	e.vars = append(append(e.vars, "OHO_BASE_URL=http://"+addr), o.vars...)
	if !o.noWorker {
		e.startWorker()
	}
	org := e.org()
	org["people"] = append(org["people"].([]map[string]any), o.people...)
	for _, p := range org["people"].([]map[string]any) {
		p["email"] = mailOf(p["id"].(string))
	}
	e.ok("org", "import", e.file("org.json", org))
	w := &webWorld{env: e, idp: idp, outsiders: map[string]bool{}}
	login := func(id, provider string) map[string]any {
		return map[string]any{"id": id, "provider": provider, "name": "Login of " + provider, "issuer": idp.Issuer(),
			"client_id": idp.ClientID, "client_secret": idp.ClientSecret, "match": "email"}
	}
	idps := []map[string]any{login("staff", e.provider)}
	if len(o.others) > 0 {
		w.other = "X" + e.provider
		for _, p := range o.others {
			p["email"] = mailOf(p["id"].(string))
			w.outsiders[p["id"].(string)] = true
		}
		e.ok("org", "import", e.file("other.json", map[string]any{
			"provider": map[string]string{"code": w.other, "name": "Other College"},
			"units":    []map[string]string{{"code": "MAIN", "name": "Main campus"}},
			"people":   o.others,
		}))
		idps = append(idps, login("other", w.other))
	}
	w.srv = e.startServer(addr, "--oidc", e.file("idps.json", map[string]any{"identity_providers": idps}))
	return w
}

// loginOf is the login a person uses, and who the identity provider says
// they are.
func (w *webWorld) loginOf(person string) (string, *mockoidc.MockUser) {
	idp := "staff"
	if w.outsiders[person] {
		idp = "other"
	}
	return idp, &mockoidc.MockUser{Subject: "entra-" + person, Email: mailOf(person), EmailVerified: true}
}

// login logs the person in through the identity provider and returns
// their HTTP client, a browser without JavaScript.
func (w *webWorld) login(person string) *browser {
	w.t.Helper()
	c := w.srv.client(w.t, person)
	idp, user := w.loginOf(person)
	c.loginOIDC(w.idp, user, idp)
	return c
}

// loginIn logs the person in in a browser's tab, which then shows the
// inbox.
func (w *webWorld) loginIn(ctx context.Context, person string) {
	w.t.Helper()
	idp, user := w.loginOf(person)
	w.idp.QueueUser(user)
	if code := openPage(w.t, ctx, w.srv.base+"/auth/oidc/"+idp); code != http.StatusOK || pagePath(w.t, ctx) != "/" {
		w.t.Fatalf("logging %s in: got %d at %s", person, code, pagePath(w.t, ctx))
	}
}
