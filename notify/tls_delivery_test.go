package notify_test

import (
	"strings"
	"testing"

	"github.com/oho-dev/oho/certtest"
	"github.com/oho-dev/oho/notify"
	"github.com/oho-dev/oho/smtptest"
)

// TestDeliveredOverTLSWithCAFile mails a notice over STARTTLS and over
// implicit TLS to servers whose certificates a CA of the test's signed,
// trusted through a CA file as OHO_SMTP_CA_FILE gives it, with a password:
// each arrives once, over TLS, as the user.
func TestDeliveredOverTLSWithCAFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts smtptest.Options
		mode notify.TLSMode
	}{
		{"starttls", smtptest.Options{StartTLS: true, Username: "oho", Password: "s3cr3t-pw"}, notify.TLSStartTLS},
		{"implicit", smtptest.Options{ImplicitTLS: true, Username: "oho", Password: "s3cr3t-pw"}, notify.TLSImplicit},
		{"opportunistic, offered", smtptest.Options{StartTLS: true}, notify.TLSOpportunistic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := outbox(t)
			srv := smtptest.StartWith(t, tc.opts)
			id := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
			queue(t, db, id, nurse)
			s, logs := sender(t, db, smtpURL(srv), func(c *notify.Config) {
				c.TLS, c.CAFile = tc.mode, srv.CA().File(t)
			})
			runOnce(t, s, 1)
			msgs := srv.Messages()
			if len(msgs) != 1 || !msgs[0].TLS || msgs[0].User != tc.opts.Username {
				t.Fatalf("got %+v, want one message over TLS from user %q", msgs, tc.opts.Username)
			}
			if r := get(t, db, id); r.State != notify.StateSent {
				t.Errorf("got %+v, want sent", r)
			}
			if strings.Contains(logs.String(), "s3cr3t-pw") {
				t.Errorf("the log shows the password:\n%s", logs)
			}
		})
	}
}

// TestOpportunisticWithoutOfferSendsInClear: opportunistic STARTTLS to a
// server that offers none sends in clear, as the mode says.
func TestOpportunisticWithoutOfferSendsInClear(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	id := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
	queue(t, db, id, nurse)
	s, _ := sender(t, db, smtpURL(srv), func(c *notify.Config) { c.TLS = notify.TLSOpportunistic })
	runOnce(t, s, 1)
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].TLS {
		t.Fatalf("got %+v, want one message in clear", msgs)
	}
}

// TestUntrustedCertificateKeepsTheNotice sends to servers whose
// certificates fail the check: signed by a CA other than the one
// configured, or for another name than the one checked, or a server that
// does not speak TLS where implicit TLS was asked. Nothing is sent, nothing
// in clear, and the notice is not lost: it stays pending with a last error
// that names the TLS problem and the setting to check, is tried again like
// any definite failure, and fails after MaxAttempts.
func TestUntrustedCertificateKeepsTheNotice(t *testing.T) {
	other := certtest.NewCA(t, "another CA")
	for _, tc := range []struct {
		name    string
		opts    smtptest.Options
		mod     func(*notify.Config, *smtptest.Server)
		wantErr string
	}{
		{"STARTTLS, another CA", smtptest.Options{StartTLS: true}, func(c *notify.Config, _ *smtptest.Server) {
			c.TLS, c.CAFile = notify.TLSStartTLS, other.File(t)
		}, "the server's certificate is not signed by a CA in OHO_SMTP_CA_FILE"},
		{"implicit TLS, the system's CAs", smtptest.Options{ImplicitTLS: true}, func(c *notify.Config, _ *smtptest.Server) {
			c.TLS = notify.TLSImplicit
		}, "the server's certificate is not signed by a CA in the system's CA certificates"},
		{"opportunistic, another CA", smtptest.Options{StartTLS: true}, func(c *notify.Config, _ *smtptest.Server) {
			c.TLS, c.CAFile = notify.TLSOpportunistic, other.File(t)
		}, "not signed by a CA in OHO_SMTP_CA_FILE"},
		{"STARTTLS, another name", smtptest.Options{StartTLS: true}, func(c *notify.Config, srv *smtptest.Server) {
			c.TLS, c.CAFile, c.TLSServerName = notify.TLSStartTLS, srv.CA().File(t), "mail.example.fi"
		}, "the server's certificate is not for mail.example.fi, the name checked (OHO_SMTP_TLS_SERVER_NAME sets it)"},
		{"implicit TLS to a server in clear", smtptest.Options{}, func(c *notify.Config, srv *smtptest.Server) {
			c.TLS, c.CAFile = notify.TLSImplicit, srv.CA().File(t)
		}, "the server does not speak TLS from the first byte there"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := outbox(t)
			srv := smtptest.StartWith(t, tc.opts)
			id := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
			queue(t, db, id, nurse)
			s, logs := sender(t, db, smtpURL(srv), func(c *notify.Config) {
				c.MaxAttempts = 2
				tc.mod(c, srv)
			})
			runOnce(t, s, 1)
			r := get(t, db, id)
			if r.State != notify.StatePending || r.Attempts != 1 || !strings.Contains(r.LastError, "TLS with "+srv.Addr()+" failed: ") ||
				!strings.Contains(r.LastError, tc.wantErr) || strings.Contains(r.LastError, "\n") {
				t.Fatalf("after the first attempt: got %+v, want pending with a one-line last error containing %q", r, tc.wantErr)
			}
			t.Logf("last error: %s", r.LastError)
			if recs := logs.records(t, "notice not delivered"); len(recs) != 1 || !strings.Contains(recs[0]["error"].(string), tc.wantErr) {
				t.Errorf("got log records %v, want one warning naming the TLS problem", recs)
			}
			makeDue(t, db, id)
			runOnce(t, s, 1)
			if r := get(t, db, id); r.State != notify.StateFailed || r.Attempts != 2 || !strings.Contains(r.LastError, tc.wantErr) {
				t.Errorf("after the last attempt: got %+v, want failed with the TLS problem as last error", r)
			}
			if got := len(srv.Messages()); got != 0 {
				t.Errorf("the server got %d messages, want none", got)
			}
		})
	}
}

// TestRequiredStartTLSNotOfferedKeepsPassword: with STARTTLS required, a
// server that does not offer it gets neither the message nor the password.
func TestRequiredStartTLSNotOfferedKeepsPassword(t *testing.T) {
	db := outbox(t)
	srv := smtptest.StartWith(t, smtptest.Options{Username: "oho", Password: "s3cr3t-pw"})
	id := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
	queue(t, db, id, nurse)
	s, _ := sender(t, db, smtpURL(srv), func(c *notify.Config) { c.TLS = notify.TLSStartTLS })
	runOnce(t, s, 1)
	r := get(t, db, id)
	if r.State != notify.StatePending || !strings.Contains(r.LastError, "does not offer STARTTLS, which OHO_SMTP_TLS=starttls") {
		t.Errorf("got %+v, want pending with last error naming STARTTLS", r)
	}
	if got := len(srv.Messages()); got != 0 {
		t.Errorf("got %d messages, want 0", got)
	}
	if auths := srv.Auths(); len(auths) != 0 {
		t.Errorf("the server was sent credentials %v, want none", auths)
	}
}
