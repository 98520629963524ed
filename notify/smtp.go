package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// ambiguousError is a delivery that failed after the whole message was
// handed to the server and before it answered: the mail may have gone.
type ambiguousError struct{ err error }

func (e *ambiguousError) Error() string {
	return "no reply to the end of the message, which the server may have accepted: " + e.err.Error()
}

func (e *ambiguousError) Unwrap() error { return e.err }

// unusableError is a notice no attempt can deliver, such as one with a
// malformed address.
type unusableError struct{ err error }

func (e *unusableError) Error() string { return e.err.Error() }

func (e *unusableError) Unwrap() error { return e.err }

// deliver mails a notice with the text m in one SMTP conversation. A nil error means the
// server accepted it (250 to the end of the data). An *ambiguousError means
// it may have; an *unusableError that it never can be; any other error is a
// definite failure after which the server holds nothing.
//
// handOver is called at the last moment the message can still be withheld,
// before the end of its data: it records that the message is being handed
// over, and when it fails the end of the data is not sent and the server
// keeps nothing (a definite failure).
func (s *Sender) deliver(ctx context.Context, n notice, m message, handOver func() error) error {
	to, err := mail.ParseAddress(n.Email)
	if err != nil {
		return &unusableError{fmt.Errorf("the address %q is not an e-mail address: %v", n.Email, err)}
	}
	msg := compose(n, m, s.from, to)

	t := s.smtp
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
	defer cancel()
	var conn net.Conn
	if t.mode == TLSImplicit {
		conn, err = (&tls.Dialer{Config: s.tls}).DialContext(ctx, "tcp", t.addr)
		if isTLSFailure(err) {
			return t.tlsFailure(err)
		}
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", t.addr)
	}
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", t.addr, err)
	}
	// The deadline bounds every read and write that follows, TLS included.
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	c, err := smtp.NewClient(conn, t.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("greeting from %s: %w", t.addr, err)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HelloName); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if t.mode == TLSStartTLS || t.mode == TLSOpportunistic {
		offered, _ := c.Extension("STARTTLS")
		switch {
		case offered:
			if err := c.StartTLS(s.tls); err != nil {
				if isTLSFailure(err) {
					return t.tlsFailure(err)
				}
				return fmt.Errorf("STARTTLS with %s: %w", t.addr, err)
			}
		case t.mode == TLSStartTLS:
			return fmt.Errorf("%s does not offer STARTTLS, which OHO_SMTP_TLS=starttls (or SMTP_URL's starttls=true) requires: nothing was sent", t.addr)
		}
	}
	if t.user != "" {
		// AUTH PLAIN only over TLS, or to this machine (the rule of
		// smtp.PlainAuth, which checks it again).
		if _, encrypted := c.TLSConnectionState(); !encrypted && !isLoopback(t.host) {
			return fmt.Errorf("%s did not offer STARTTLS, and the password is not sent in clear", t.addr)
		}
		if err := c.Auth(smtp.PlainAuth("", t.user, t.pass, t.host)); err != nil {
			return fmt.Errorf("AUTH PLAIN as %s: %w", t.user, err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// A failed write leaves the message without its final dot, which no
	// server takes for a message: still definite.
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("writing the message: %w", err)
	}
	if err := handOver(); err != nil {
		return fmt.Errorf("not handed over: %w", err)
	}
	if err := w.Close(); err != nil {
		var reply *textproto.Error
		if errors.As(err, &reply) {
			return fmt.Errorf("the server refused the message: %w", err)
		}
		return &ambiguousError{err}
	}
	// Accepted. A failed goodbye changes nothing.
	_ = c.Quit()
	return nil
}

// isTLSFailure reports whether err is the TLS handshake's: a certificate
// that failed the check, or a server that does not speak TLS, rather than a
// connection refused or timed out.
func isTLSFailure(err error) bool {
	var (
		verify  *tls.CertificateVerificationError
		record  tls.RecordHeaderError
		alert   tls.AlertError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	return err != nil && (errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &alert) ||
		errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid))
}

// compose writes the mail of a notice with the text m: RFC 5322 headers and
// the body as UTF-8 plain text in quoted-printable, which passes any server
// unchanged. The date is when the notice was queued and the Message-ID
// derives from its ID, and the text is written from the same facts each
// time, so every attempt sends the same message.
func compose(n notice, m message, from, to *mail.Address) []byte {
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("Date", n.CreatedAt.UTC().Format(time.RFC1123Z))
	header("From", from.String())
	header("To", (&mail.Address{Address: to.Address}).String())
	header("Subject", encodeSubject(m.Subject))
	header("Message-ID", MessageID(n.ID))
	// RFC 3834: no out-of-office replies to machine-sent notices.
	header("Auto-Submitted", "auto-generated")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=UTF-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")

	body := strings.ReplaceAll(m.Body, "\r\n", "\n")
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	qp := quotedprintable.NewWriter(&b) // turns "\n" into CRLF and keeps lines short
	qp.Write([]byte(body))              // writes to memory: cannot fail
	qp.Close()
	return b.Bytes()
}

// encodeSubject makes a subject one header field: control characters become
// spaces (no header injection), and a subject that is not plain ASCII
// becomes RFC 2047 Q-encoded words, each on its own folded line short enough
// that every line of the field stays within 78 octets.
func encodeSubject(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }), " ")
	plain := !strings.Contains(s, "=?")
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] < 0x80
	}
	if plain {
		return s
	}
	// "Subject: " + "=?utf-8?q?" + text + "?=" within 78 octets.
	const maxText = 78 - len("Subject: ") - len("=?utf-8?q??=")
	var words []string
	var w strings.Builder
	for _, r := range s {
		var enc strings.Builder
		for _, c := range []byte(string(r)) {
			switch {
			case c == ' ':
				enc.WriteByte('_')
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("!*+-/", c) >= 0:
				enc.WriteByte(c)
			default:
				fmt.Fprintf(&enc, "=%02X", c)
			}
		}
		if w.Len()+enc.Len() > maxText { // a rune is never split between words
			words = append(words, "=?utf-8?q?"+w.String()+"?=")
			w.Reset()
		}
		w.WriteString(enc.String())
	}
	words = append(words, "=?utf-8?q?"+w.String()+"?=")
	return strings.Join(words, "\r\n ")
}

// MessageID returns the Message-ID of a notice's mail, "<id@oho>", the same
// on every attempt so that receivers can discard duplicates. Characters of
// the ID that a Message-ID cannot hold are written %XX.
func MessageID(id string) string {
	var b strings.Builder
	b.WriteString("<")
	for i := 0; i < len(id); i++ {
		c := id[i]
		dotOK := c == '.' && i > 0 && i < len(id)-1 && id[i-1] != '.'
		if dotOK || (isAtext(c) && c != '%') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	b.WriteString("@oho>")
	return b.String()
}

// isAtext reports whether c may appear in an RFC 5322 dot-atom.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}
