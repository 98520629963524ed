package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oho-dev/oho/certtest"
	"github.com/oho-dev/oho/notify"
	"github.com/oho-dev/oho/smtptest"
)

// TestMailOverTLS runs the worker against an SMTP server that offers
// STARTTLS with a certificate of the test's CA and wants a password. A
// worker told to trust another CA (OHO_SMTP_CA_FILE) sends nothing, not even
// the password: each notice stays pending, its last error and the worker's
// log naming the certificate problem in one line. A worker given the right
// CA then delivers every one of them, once, over TLS. Settings that cannot
// work stop the worker at start with a line naming them.
func TestMailOverTLS(t *testing.T) {
	began := time.Now()
	srv := smtptest.StartWith(t, smtptest.Options{StartTLS: true, Username: "oho", Password: "s3cr3t-pw"})
	e := newEnv(t)
	wrongCA := certtest.NewCA(t, "not the mail server's CA").File(t)
	e.vars = append(e.vars, "SMTP_URL="+srv.URL()+"?from=oho@example.fi", "OHO_NOTIFY_POLL=100ms", "OHO_NOTIFY_RETRY=1s",
		"OHO_SMTP_TLS=starttls", "OHO_SMTP_CA_FILE="+wrongCA)

	// Settings that cannot work: the worker stops before it connects to
	// anything.
	for _, tc := range []struct {
		name string
		vars []string
		want string
	}{
		{"an unknown mode", []string{"OHO_SMTP_TLS=ssl"}, `OHO_SMTP_TLS must be starttls, tls, opportunistic or none (got \"ssl\")`},
		{"a missing CA file", []string{"OHO_SMTP_CA_FILE=/nonexistent/ca.pem"}, "OHO_SMTP_CA_FILE cannot be read: open /nonexistent/ca.pem: no such file or directory"},
		{"TLS required, mail in clear", []string{"OHO_SMTP_TLS=none", "OHO_SMTP_CA_FILE=", "OHO_REQUIRE_TLS=true"}, "OHO_REQUIRE_TLS is set, but mail to " + srv.Addr() + " would go in clear"},
		{"a password, opportunistic", []string{"SMTP_URL=smtp://oho:s3cr3t-pw@mail.example.fi?from=oho@example.fi", "OHO_SMTP_TLS=opportunistic"}, "SMTP_URL gives a password for mail.example.fi:25, which would go in clear whenever STARTTLS is not offered"},
	} {
		workerRefused(t, e, "the worker with "+tc.name, tc.vars, tc.want)
	}

	// The wrong CA: nothing goes, nothing is lost.
	w := e.startWorker()
	org := e.org()
	for _, p := range org["people"].([]map[string]any) {
		p["email"] = mailOf(p["id"].(string))
	}
	e.ok("org", "import", e.file("org.json", org))
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year)
	const assigned = 6 // each unit's evaluation and consultation
	deadline := time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM notifications WHERE state = 'pending' AND attempts >= 2`) < assigned {
		if time.Now().After(deadline) {
			t.Fatalf("the %d notices of the new tasks were not tried twice within 30s: %v", assigned, e.noticeStates())
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.stop(syscall.SIGTERM)
	wantErr := "TLS with " + srv.Addr() + " failed: the server's certificate is not signed by a CA in OHO_SMTP_CA_FILE " + wrongCA
	if n := e.count(`SELECT count(*) FROM notifications WHERE state <> 'pending' OR position($1 in last_error) = 0`, wantErr); n != 0 {
		t.Errorf("%d notices are not pending with the certificate problem as last error: %v", n, e.noticeStates())
	}
	var failedLines []string
	for _, line := range strings.Split(w.output(), "\n") {
		if strings.Contains(line, "notice not delivered; will try again") {
			failedLines = append(failedLines, line)
		}
	}
	if len(failedLines) < 2*assigned || !strings.Contains(failedLines[0], wantErr) {
		t.Errorf("the worker logged %d failed attempts, want at least %d naming the certificate problem:\n%s", len(failedLines), 2*assigned, w.output())
	}
	if strings.Contains(w.output(), "goroutine ") || strings.Contains(w.output(), "panic") {
		t.Errorf("a stack in the worker's log:\n%s", w.output())
	}
	if n, auths := len(srv.Messages()), srv.Auths(); n != 0 || len(auths) != 0 {
		t.Errorf("the server got %d messages and the credentials %v from a worker that does not trust it; want none", n, auths)
	}
	t.Logf("with the wrong CA, after %v: %s", time.Since(began).Round(time.Millisecond), firstOf(failedLines))

	// The right CA: every notice delivered once, over TLS, as the user.
	e.vars = append(e.vars, "OHO_SMTP_CA_FILE="+srv.CA().File(t))
	fixed := time.Now()
	e.startWorker()
	deadline = time.Now().Add(30 * time.Second)
	for e.count(`SELECT count(*) FROM notifications WHERE state IN ('pending', 'sending')`) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("notices still not delivered 30s after the worker got the right CA: %v", e.noticeStates())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := e.count(`SELECT count(*) FROM notifications WHERE state <> 'sent'`); n != 0 {
		t.Errorf("%d notices not sent: %v", n, e.noticeStates())
	}
	var ids []string
	if err := e.db.Select(&ids, `SELECT id FROM notifications ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	perID := map[string]int{}
	for _, m := range srv.Messages() {
		perID[m.Header.Get("Message-Id")]++
		if !m.TLS || m.User != "oho" {
			t.Errorf("the mail %q came with TLS %v as %q; want over TLS as oho", m.Subject(), m.TLS, m.User)
		}
	}
	for _, id := range ids {
		if n := perID[notify.MessageID(id)]; n != 1 {
			t.Errorf("the notice %s was mailed %d times, want once", id, n)
		}
	}
	if len(srv.Messages()) != len(ids) || len(ids) < assigned {
		t.Errorf("the server got %d messages for %d notices, want one each and at least %d", len(srv.Messages()), len(ids), assigned)
	}
	for _, a := range srv.Auths() {
		if !a.TLS {
			t.Errorf("the password of %s came in clear", a.User)
		}
	}
	t.Logf("with the right CA, %d notices delivered over STARTTLS %v later; attempts: %v; the whole test took %v",
		len(ids), time.Since(fixed).Round(time.Millisecond), e.attemptCounts(), time.Since(began).Round(time.Millisecond))
}
