package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/oho-dev/oho/smtptest"
)

// TestPagesAccessibleInBrowser walks the pages 'starter serve' has in
// Debian's Chromium as a person would, typing into the forms and pressing
// Enter or the buttons: the login page (with an identity provider's
// button), the page to set a password from a mailed invitation with the two
// passwords differing, the login page after the password is set and after a
// wrong password, and the inbox after a login with the local account.
// On every page and every error state axe-core finds no WCAG 2.1 A or AA
// violation and the console no error (no style or script blocked by the
// Content-Security-Policy), and a screenshot goes to out/screens/.
func TestPagesAccessibleInBrowser(t *testing.T) {
	mail := smtptest.Start(t)
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Shutdown() })

	e := newEnv(t)
	addr := freeAddr(t)
	e.vars = append(e.vars, "SMTP_URL="+mail.URL()+"?from=oho@example.fi", "OHO_NOTIFY_POLL=100ms", "OHO_BASE_URL=http://"+addr)
	e.startWorker()
	org := e.org()
	for _, p := range org["people"].([]map[string]any) {
		p["email"] = mailOf(p["id"].(string))
	}
	e.ok("org", "import", e.file("org.json", org))
	// An identity provider, so that the login page shows its button too; it
	// is never contacted here.
	idps := e.file("idps.json", map[string]any{"identity_providers": []map[string]any{
		{"id": "staff", "provider": e.provider, "name": "Microsoft (henkilöstö / staff)", "issuer": idp.Issuer(),
			"client_id": idp.ClientID, "client_secret": idp.ClientSecret, "match": "email"},
	}})
	srv := e.startServer(addr, "--oidc", idps)

	ctx := newBrowser(t)
	const password = "correct horse battery"

	// The login page, as anyone first sees it.
	if code := openPage(t, ctx, srv.base+"/login"); code != http.StatusOK {
		t.Fatalf("GET /login: got %d, want 200", code)
	}
	if lang := pageLang(t, ctx); lang != "fi" {
		t.Errorf("/login: <html lang=%q>, want fi", lang)
	}
	if got := textOf(t, ctx, ".idps a"); !strings.Contains(got, "Microsoft (henkilöstö / staff)") {
		t.Errorf("/login: the identity provider's button says %q", got)
	}
	checkAccessible(t, ctx, "login")
	screenshot(t, ctx, "login")

	// The invitation's link opens the page to set a password.
	if code := openPage(t, ctx, e.invite(mail, "m.manager")); code != http.StatusOK {
		t.Fatalf("the invitation's link: got %d, want 200", code)
	}
	if lang := pageLang(t, ctx); lang != "fi" {
		t.Errorf("/password: <html lang=%q>, want fi", lang)
	}
	checkAccessible(t, ctx, "password")
	screenshot(t, ctx, "password")

	// The two passwords differ: the page says so, and the link still works.
	code := submit(t, ctx, "setting two different passwords",
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("again"), password+" typo\n"))
	if code != http.StatusUnprocessableEntity {
		t.Errorf("two different passwords: got %d, want 422", code)
	}
	if got := textOf(t, ctx, ".error"); !strings.Contains(got, "Salasanat eivät ole samat") {
		t.Errorf("two different passwords: the page says %q", got)
	}
	checkAccessible(t, ctx, "password-differ")
	screenshot(t, ctx, "password-differ")

	// The same password twice, with a click on the button: to the login page.
	code = submit(t, ctx, "setting the password",
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("again"), password),
		chromedp.Click(chromedp.CSS(`form[action="/password"] button[type="submit"]`)))
	if code != http.StatusOK || pagePath(t, ctx) != "/login?password=set" {
		t.Fatalf("setting the password: got %d at %s, want 200 at /login?password=set", code, pagePath(t, ctx))
	}
	if got := textOf(t, ctx, ".notice"); !strings.Contains(got, "Salasana on asetettu") {
		t.Errorf("after setting the password the login page says %q", got)
	}
	checkAccessible(t, ctx, "login-password-set")
	screenshot(t, ctx, "login-password-set")

	// A wrong password: the login page again, saying why.
	code = submit(t, ctx, "logging in with a wrong password",
		chromedp.SendKeys(chromedp.ID("person"), "m.manager"),
		chromedp.SendKeys(chromedp.ID("password"), "not my password\n"))
	if code != http.StatusUnauthorized {
		t.Errorf("a wrong password: got %d, want 401", code)
	}
	if got := textOf(t, ctx, ".error"); !strings.Contains(got, "the person ID or password is wrong") {
		t.Errorf("a wrong password: the page says %q", got)
	}
	checkAccessible(t, ctx, "login-wrong-password")
	screenshot(t, ctx, "login-wrong-password")

	// The right one, with a click, the person ID kept from the refused
	// attempt: the inbox.
	if got := run(t, ctx, "reading the person ID kept", chromedp.Value(chromedp.ID("person"))); got != "m.manager" {
		t.Errorf("after a wrong password the person ID field holds %q, want m.manager", got)
	}
	code = submit(t, ctx, "logging in",
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button`)))
	if code != http.StatusOK || pagePath(t, ctx) != "/" {
		t.Fatalf("logging in: got %d at %s, want 200 at /", code, pagePath(t, ctx))
	}
	if got := textOf(t, ctx, "h1"); got != "Tehtäväni" {
		t.Errorf("the inbox's heading: got %q, want %q", got, "Tehtäväni")
	}
	if lang := pageLang(t, ctx); lang != "fi" {
		t.Errorf("/: <html lang=%q>, want fi", lang)
	}
	checkAccessible(t, ctx, "inbox")
	screenshot(t, ctx, "inbox")

	// Logging out leads back to the login page, and / no longer opens.
	code = submit(t, ctx, "logging out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	if code != http.StatusOK || pagePath(t, ctx) != "/login" {
		t.Errorf("logging out: got %d at %s, want 200 at /login", code, pagePath(t, ctx))
	}
	openPage(t, ctx, srv.base+"/")
	if got := pagePath(t, ctx); got != "/login" {
		t.Errorf("/ after logging out: the tab shows %s, want /login", got)
	}
}
