package smtptest_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oho-dev/oho/certtest"
	"github.com/oho-dev/oho/smtptest"
)

const sample = "From: a@example.fi\r\n" +
	"To: b@example.fi\r\n" +
	"Subject: =?utf-8?q?P=C3=A4iv=C3=A4=C3=A4?=\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Hyv=C3=A4=C3=A4 y=C3=B6t=C3=A4\r\n" +
	".a line that starts with a dot\r\n" +
	"..two dots\r\n"

func TestDeliveryIsRecorded(t *testing.T) {
	srv := smtptest.Start(t)
	if err := smtp.SendMail(srv.Addr(), nil, "a@example.fi", []string{"b@example.fi", "c@example.fi"}, []byte(sample)); err != nil {
		t.Fatalf("sending: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "a@example.fi" || strings.Join(m.To, ",") != "b@example.fi,c@example.fi" {
		t.Errorf("got envelope %q → %q, want a@example.fi → [b@example.fi c@example.fi]", m.From, m.To)
	}
	if string(m.Data) != sample {
		t.Errorf("got data\n%q\nwant (dot-unstuffed)\n%q", m.Data, sample)
	}
	if got := m.Header.Get("To"); got != "b@example.fi" {
		t.Errorf("got To header %q, want b@example.fi", got)
	}
	if got := m.Subject(); got != "Päivää" {
		t.Errorf("got subject %q, want Päivää", got)
	}
	text, err := m.Text()
	if err != nil {
		t.Fatal(err)
	}
	if want := "Hyvää yötä\r\n.a line that starts with a dot\r\n..two dots\r\n"; text != want {
		t.Errorf("got text %q, want %q", text, want)
	}
	if m.TLS || m.User != "" {
		t.Errorf("got TLS %v user %q, want a plain anonymous session", m.TLS, m.User)
	}
	if got, want := srv.URL(), "smtp://"+srv.Addr(); got != want {
		t.Errorf("got URL %q, want %q", got, want)
	}
}

func TestStartTLSAndAuth(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{StartTLS: true, Username: "oho", Password: "s3cret"})
	if got, want := srv.URL(), "smtp://oho:s3cret@"+srv.Addr(); got != want {
		t.Errorf("got URL %q, want %q", got, want)
	}
	send := func(password string, useTLS bool) error {
		c, err := smtp.Dial(srv.Addr())
		if err != nil {
			return err
		}
		defer c.Close()
		if useTLS {
			if ok, _ := c.Extension("STARTTLS"); !ok {
				return errors.New("STARTTLS not offered")
			}
			if err := c.StartTLS(srv.ClientTLSConfig()); err != nil {
				return err
			}
			if ok, _ := c.Extension("STARTTLS"); ok {
				return errors.New("STARTTLS offered again after TLS started")
			}
		}
		if password != "" {
			if err := c.Auth(smtp.PlainAuth("", "oho", password, "127.0.0.1")); err != nil {
				return err
			}
		}
		if err := c.Mail("a@example.fi"); err != nil {
			return err
		}
		if err := c.Rcpt("b@example.fi"); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write([]byte(sample)); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		return c.Quit()
	}

	if err := send("wrong", true); !isCode(err, 535) {
		t.Errorf("wrong password: got %v, want a 535 reply", err)
	}
	if err := send("", true); !isCode(err, 530) {
		t.Errorf("no AUTH: got %v, want a 530 reply", err)
	}
	if err := send("s3cret", true); err != nil {
		t.Fatalf("sending with STARTTLS and AUTH: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].User != "oho" {
		t.Fatalf("got %+v, want one message over TLS from user oho", msgs)
	}
	if got, want := fmt.Sprint(srv.Auths()), "[{oho true} {oho true}]"; got != want {
		t.Errorf("got AUTH commands %s, want %s (the wrong and the right password, both over TLS)", got, want)
	}
}

// TestCertificates checks the certificates the server presents: by default
// one for 127.0.0.1, ::1 and localhost signed by its own CA, which a client
// trusting another CA refuses; with Options.Certificate the one given.
func TestCertificates(t *testing.T) {
	handshake := func(srv *smtptest.Server, cfg *tls.Config) error {
		conn, err := tls.Dial("tcp", srv.Addr(), cfg)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	srv := smtptest.StartWith(t, smtptest.Options{ImplicitTLS: true})
	for _, name := range []string{"127.0.0.1", "::1", "localhost"} {
		if err := handshake(srv, &tls.Config{RootCAs: srv.CA().Pool(), ServerName: name}); err != nil {
			t.Errorf("trusting the server's CA, for %s: %v", name, err)
		}
	}
	other := certtest.NewCA(t, "another CA")
	var unknown x509.UnknownAuthorityError
	if err := handshake(srv, &tls.Config{RootCAs: other.Pool(), ServerName: "127.0.0.1"}); !errors.As(err, &unknown) {
		t.Errorf("trusting another CA: got %v, want x509: certificate signed by unknown authority", err)
	}

	cert := other.Server(t, "mail.example.fi")
	given := smtptest.StartWith(t, smtptest.Options{ImplicitTLS: true, Certificate: &cert})
	if err := handshake(given, &tls.Config{RootCAs: other.Pool(), ServerName: "mail.example.fi"}); err != nil {
		t.Errorf("the given certificate, checked for mail.example.fi: %v", err)
	}
	var host x509.HostnameError
	if err := handshake(given, &tls.Config{RootCAs: other.Pool(), ServerName: "127.0.0.1"}); !errors.As(err, &host) {
		t.Errorf("the given certificate, checked for 127.0.0.1: got %v, want a host name error", err)
	}
}

func TestImplicitTLS(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{ImplicitTLS: true})
	if got, want := srv.URL(), "smtps://"+srv.Addr(); got != want {
		t.Errorf("got URL %q, want %q", got, want)
	}
	conn, err := tls.Dial("tcp", srv.Addr(), srv.ClientTLSConfig())
	if err != nil {
		t.Fatalf("dialling with TLS: %v", err)
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered on a TLS connection")
	}
	if err := c.Mail("a@example.fi"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("b@example.fi"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, sample)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || !msgs[0].TLS {
		t.Fatalf("got %+v, want one message over TLS", msgs)
	}
}

func isCode(err error, code int) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code == code
}

func TestRejectNext(t *testing.T) {
	for _, tc := range []struct {
		at   smtptest.Stage
		code int
	}{
		{smtptest.AtMail, 451},
		{smtptest.AtRcpt, 550},
		{smtptest.AtData, 452},
		{smtptest.AtData, 554},
	} {
		t.Run(fmt.Sprintf("%s %d", tc.at, tc.code), func(t *testing.T) {
			srv := smtptest.Start(t)
			srv.RejectNext(2, tc.code, tc.at)
			for i := range 2 {
				err := smtp.SendMail(srv.Addr(), nil, "a@example.fi", []string{"b@example.fi"}, []byte(sample))
				if !isCode(err, tc.code) {
					t.Errorf("attempt %d: got %v, want reply %d", i+1, err, tc.code)
				}
			}
			if err := smtp.SendMail(srv.Addr(), nil, "a@example.fi", []string{"b@example.fi"}, []byte(sample)); err != nil {
				t.Fatalf("third attempt: %v", err)
			}
			if got := len(srv.Messages()); got != 1 {
				t.Errorf("got %d messages, want only the third", got)
			}
		})
	}
}

func TestDropNext(t *testing.T) {
	srv := smtptest.Start(t)
	srv.DropNext(1)
	err := smtp.SendMail(srv.Addr(), nil, "a@example.fi", []string{"b@example.fi"}, []byte(sample))
	var te *textproto.Error
	if err == nil || errors.As(err, &te) {
		t.Fatalf("got %v, want a connection error without a reply", err)
	}
	if got := len(srv.Messages()); got != 1 {
		t.Fatalf("got %d messages, want the dropped one recorded", got)
	}
	if err := smtp.SendMail(srv.Addr(), nil, "a@example.fi", []string{"b@example.fi"}, []byte(sample)); err != nil {
		t.Fatalf("sending after the drop: %v", err)
	}
}

func TestCommands(t *testing.T) {
	srv := smtptest.Start(t)
	c, err := textproto.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	expect := func(cmd string, code int) {
		t.Helper()
		if cmd != "" {
			if _, err := c.Cmd("%s", cmd); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := c.ReadResponse(code); err != nil {
			t.Errorf("%q: got %v, want %d", cmd, err, code)
		}
	}
	expect("", 220)
	expect("MAIL FROM:<a@example.fi>", 503) // no HELO yet
	expect("HELO client", 250)
	expect("NOOP", 250)
	expect("RCPT TO:<b@example.fi>", 503) // no MAIL yet
	expect("MAIL FROM:<a@example.fi>", 250)
	expect("DATA", 503) // no RCPT yet
	expect("RCPT TO:<b@example.fi>", 250)
	expect("RSET", 250)
	expect("DATA", 503) // RSET forgot the recipient
	expect("VRFY someone", 502)
	expect("MAIL FROM:<>", 250) // the null sender of bounces
	expect("RCPT TO:<b@example.fi>", 250)
	expect("DATA", 354)
	if _, err := c.Cmd("Subject: x\r\n\r\nbody\r\n."); err != nil {
		t.Fatal(err)
	}
	expect("", 250)
	expect("QUIT", 221)
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].From != "" || string(msgs[0].Body) != "body\r\n" {
		t.Fatalf("got %+v, want one message from the null sender", msgs)
	}
}

func TestCloseRefusesConnections(t *testing.T) {
	srv := smtptest.Start(t)
	if err := smtp.SendMail(srv.Addr(), nil, "a@example.fi", []string{"b@example.fi"}, []byte(sample)); err != nil {
		t.Fatal(err)
	}
	// A client connected but idle must not keep Close waiting.
	idle, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	srv.Close()
	srv.Close()
	if _, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
		t.Fatal("connecting after Close succeeded, want it refused")
	}
	if got := len(srv.Messages()); got != 1 {
		t.Errorf("got %d messages after Close, want 1", got)
	}
}

func TestDownAndUpOnTheSameAddress(t *testing.T) {
	srv := smtptest.Start(t)
	addr := srv.Addr()
	send := func() error {
		return smtp.SendMail(addr, nil, "a@example.fi", []string{"b@example.fi"}, []byte(sample))
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	// A client in the middle of a message when the server goes down: the
	// message is not accepted.
	mid, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer mid.Close()
	if err := mid.Mail("a@example.fi"); err != nil {
		t.Fatal(err)
	}
	if err := mid.Rcpt("b@example.fi"); err != nil {
		t.Fatal(err)
	}
	w, err := mid.Data()
	if err != nil {
		t.Fatal(err)
	}
	srv.Down()
	srv.Down()
	if _, err := w.Write([]byte(sample)); err == nil {
		err = w.Close()
		if err == nil {
			t.Error("a message finished after Down was accepted")
		}
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("connecting while the server is down succeeded, want it refused")
	}
	if err := send(); err == nil {
		t.Fatal("sending while the server is down succeeded")
	}
	if got := len(srv.Messages()); got != 1 {
		t.Errorf("got %d messages while down, want the 1 from before", got)
	}

	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Up(); err != nil {
		t.Fatalf("Up on a server that is up: %v", err)
	}
	if srv.Addr() != addr {
		t.Fatalf("back up on %s, want %s", srv.Addr(), addr)
	}
	if err := send(); err != nil {
		t.Fatalf("sending after Up: %v", err)
	}
	if got := len(srv.WaitFor(t, 2, time.Second)); got != 2 {
		t.Errorf("got %d messages after Up, want 2", got)
	}

	// Down and Up again, then Close: a closed server stays closed.
	srv.Down()
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if err := srv.Up(); err == nil {
		t.Error("Up after Close succeeded")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("connecting after Close succeeded, want it refused")
	}
}

func TestWaitForConcurrentClients(t *testing.T) {
	srv := smtptest.Start(t)
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			msg := fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)
			if err := smtp.SendMail(srv.Addr(), nil, "a@example.fi", []string{"b@example.fi"}, []byte(msg)); err != nil {
				t.Errorf("client %d: %v", i, err)
			}
		})
	}
	msgs := srv.WaitFor(t, n, 10*time.Second)
	wg.Wait()
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[m.Subject()] = true
	}
	if len(msgs) != n || len(seen) != n {
		t.Errorf("got %d messages with %d subjects, want %d of each", len(msgs), len(seen), n)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and stops
// the goroutine, as the real one does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestWaitForTimesOut(t *testing.T) {
	srv := smtptest.Start(t)
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.WaitFor(rec, 1, 50*time.Millisecond)
	}()
	<-done
	if want := "got 0 messages"; !strings.Contains(rec.msg, want) {
		t.Errorf("got failure %q, want one containing %q", rec.msg, want)
	}
}
