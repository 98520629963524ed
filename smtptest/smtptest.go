// Package smtptest runs a real SMTP server on the loopback interface for
// tests, in the spirit of net/http/httptest: clients under test speak the
// actual protocol over TCP (net/smtp or anything else), and the server
// records every message it accepts for assertions.
//
// The server speaks enough SMTP for net/smtp: EHLO/HELO, AUTH PLAIN, MAIL,
// RCPT, DATA with dot-unstuffing, RSET, NOOP and QUIT, and on request
// STARTTLS or implicit TLS, with a certificate for 127.0.0.1, ::1 and
// localhost signed by a CA of the server's own (CA; ClientTLSConfig trusts
// it), or a certificate the test gives. It
// can be told to refuse the next messages with a 4xx or 5xx reply
// (RejectNext), to receive the next messages and hang up without answering
// (DropNext), and it can be closed so that connecting is refused (Close).
// It can also go down for a while and come back on the same address (Down,
// Up), as a mail server that is restarted or out of service does: while it
// is down connecting is refused, and what it received stays.
//
// A message is recorded before the server replies 250 to the end of its
// data, so a client that has seen the 250 finds it in Messages at once.
// Every method is safe for concurrent use.
package smtptest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oho-dev/oho/certtest"
)

// Stage is the point of an SMTP transaction at which RejectNext refuses a
// message.
type Stage int

const (
	// AtMail refuses the MAIL FROM command.
	AtMail Stage = iota
	// AtRcpt refuses the RCPT TO command (each recipient counts as one).
	AtRcpt
	// AtData refuses the message after its content, at the final dot: the
	// latest point at which a server can still say it did not accept it.
	AtData
)

// String names the stage as the SMTP command it refuses.
func (s Stage) String() string {
	switch s {
	case AtMail:
		return "MAIL"
	case AtRcpt:
		return "RCPT"
	case AtData:
		return "DATA"
	}
	return fmt.Sprintf("Stage(%d)", int(s))
}

// Options change how a server started by StartWith behaves. The zero value
// is what Start uses.
type Options struct {
	// StartTLS makes the server offer STARTTLS. It is off by default
	// because smtp.SendMail upgrades whenever STARTTLS is offered and would
	// not trust the server's certificate.
	StartTLS bool
	// ImplicitTLS makes the server speak TLS from the first byte, as on
	// port 465 (smtps://), instead of offering STARTTLS.
	ImplicitTLS bool
	// Certificate, when set, is the certificate the server presents for
	// TLS instead of one its own CA signs: a test that makes its own CA
	// (package certtest) gives one for a host name of its choosing.
	Certificate *tls.Certificate
	// Username and Password, when Username is set, are the only
	// credentials AUTH PLAIN accepts, and MAIL is refused until a client
	// has authenticated. Otherwise AUTH PLAIN accepts any credentials and
	// is optional.
	Username, Password string
}

// Message is one message the server accepted.
type Message struct {
	// From is the envelope sender (MAIL FROM), To the envelope recipients
	// (RCPT TO), in the order given.
	From string
	To   []string
	// Data is the message as received after DATA, dot-unstuffed, with CRLF
	// line endings and without the final dot line.
	Data []byte
	// Header is Data's header, parsed; Body is the raw body after it. Both
	// are empty when Data is not a well-formed message.
	Header mail.Header
	Body   []byte
	// TLS tells whether the message came over TLS (STARTTLS or implicit).
	TLS bool
	// User is the user name the client authenticated as, or "".
	User string
	// Received is when the server accepted the message.
	Received time.Time
}

// Subject returns the Subject header with RFC 2047 encoded words decoded.
func (m Message) Subject() string {
	s := m.Header.Get("Subject")
	if dec, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		return dec
	}
	return s
}

// Text returns the body decoded from its Content-Transfer-Encoding
// (quoted-printable, base64, or none), with line endings left as sent.
func (m Message) Text() (string, error) {
	var r io.Reader = bytes.NewReader(m.Body)
	switch cte := strings.ToLower(strings.TrimSpace(m.Header.Get("Content-Transfer-Encoding"))); cte {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, newlineStripper{r})
	case "", "7bit", "8bit", "binary":
	default:
		return "", fmt.Errorf("unknown Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("decoding body: %w", err)
	}
	return string(b), nil
}

// newlineStripper drops CR and LF, which base64 bodies are wrapped with.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	j := 0
	for _, c := range p[:k] {
		if c != '\r' && c != '\n' {
			p[j] = c
			j++
		}
	}
	return j, err
}

// Auth is one AUTH PLAIN a client sent, accepted or not.
type Auth struct {
	// User is the user name given.
	User string
	// TLS tells whether the credentials came over TLS.
	TLS bool
}

// Server is an SMTP server listening on 127.0.0.1. Start one with Start or
// StartWith; it stops when the test ends or when Close is called.
type Server struct {
	opts   Options
	ln     net.Listener
	addr   string
	tlsCfg *tls.Config // the server's side
	ca     *certtest.CA

	mu       sync.Mutex
	messages []Message
	auths    []Auth
	changed  chan struct{} // closed and replaced when a message arrives
	reject   rejection
	drop     int
	onData   func()
	conns    map[net.Conn]struct{}
	closed   bool
	down     bool

	// upDown orders Down, Up and Close, which wait for goroutines.
	upDown sync.Mutex
	wg     sync.WaitGroup
}

// rejection is what RejectNext set up: the next n commands at the stage are
// answered with the code.
type rejection struct {
	n    int
	code int
	at   Stage
}

// Start starts a server with the default options: plain SMTP, no TLS, AUTH
// optional. It is closed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith starts a server with the options. It is closed when the test
// ends.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	ca := certtest.NewCA(t, "smtptest CA")
	cert := ca.Server(t, "127.0.0.1", "::1", "localhost")
	if opts.Certificate != nil {
		cert = *opts.Certificate
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listening on loopback: %v", err)
	}
	s := &Server{
		opts:    opts,
		ln:      ln,
		addr:    ln.Addr().String(),
		tlsCfg:  &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ca:      ca,
		changed: make(chan struct{}),
		conns:   map[net.Conn]struct{}{},
	}
	s.wg.Add(1)
	go s.serve(ln)
	t.Cleanup(s.Close)
	return s
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// URL returns the server's address as an SMTP URL: smtp://127.0.0.1:port,
// or smtps://… with ImplicitTLS, with the user name and password in it when
// the options set them.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	if s.opts.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if s.opts.Username != "" {
		u.User = url.UserPassword(s.opts.Username, s.opts.Password)
	}
	return u.String()
}

// ClientTLSConfig returns a TLS configuration that trusts the server's own
// CA, for clients that use STARTTLS or implicit TLS.
func (s *Server) ClientTLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// CA returns the CA that signed the server's certificate (unless
// Options.Certificate gave another): CA().File(t) is a file for a client's
// setting of the CA to trust.
func (s *Server) CA() *certtest.CA { return s.ca }

// Messages returns a copy of the messages accepted so far, in the order they
// were accepted.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Auths returns the AUTH PLAIN commands received so far, accepted or not:
// who tried, and whether their password came over TLS.
func (s *Server) Auths() []Auth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Auth(nil), s.auths...)
}

// WaitFor waits until the server has accepted at least n messages and
// returns all it has accepted. It fails the test if that takes longer than
// timeout.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.messages), s.changed
		if got >= n {
			out := append([]Message(nil), s.messages...)
			s.mu.Unlock()
			return out
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("smtptest: got %d messages after %v, want at least %d", got, timeout, n)
			return nil
		}
	}
}

// RejectNext makes the server refuse the next n messages at the stage with
// the reply code, which must be a 4xx (try again later) or 5xx (refused)
// code. It replaces any rejection not used up yet; n = 0 cancels it.
func (s *Server) RejectNext(n, code int, at Stage) {
	if code < 400 || code > 599 {
		panic(fmt.Sprintf("smtptest: RejectNext with reply code %d, want 4xx or 5xx", code))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = rejection{n: n, code: code, at: at}
}

// DropNext makes the server receive the next n messages in full, record
// them, and then close the connection without replying to the final dot: the
// client cannot know whether they were accepted, as when a network fails at
// the worst moment.
func (s *Server) DropNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop = n
}

// OnData makes the server call f when a client sends DATA, before it
// answers that the message may follow: a test does there what is to happen
// while a client is in the middle of handing a message over.
func (s *Server) OnData(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onData = f
}

// Close stops the server: it stops listening, so that connecting is refused,
// closes open connections and waits for their goroutines. Messages stay
// readable. Calling Close again does nothing, and a closed server does not
// come Up again.
func (s *Server) Close() {
	s.upDown.Lock()
	defer s.upDown.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.stopLocked()
	s.mu.Unlock()
	s.wg.Wait()
}

// Down takes the server out of service until Up: it stops listening, so
// that connecting is refused as from a mail server that is not running,
// closes open connections (a message whose final dot has not been answered
// is not accepted) and waits for their goroutines. Messages stay readable.
// Calling Down when the server is down or closed does nothing.
func (s *Server) Down() {
	s.upDown.Lock()
	defer s.upDown.Unlock()
	s.mu.Lock()
	if s.closed || s.down {
		s.mu.Unlock()
		return
	}
	s.down = true
	s.stopLocked()
	s.mu.Unlock()
	s.wg.Wait()
}

// Up brings a server that is Down back into service on the same address,
// with the same options, certificate and messages. It fails if the server
// was closed or the address cannot be listened on again; a server that is
// up is left as it is.
func (s *Server) Up() error {
	s.upDown.Lock()
	defer s.upDown.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errors.New("smtptest: Up after Close")
	case !s.down:
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("smtptest: listening on %s again: %w", s.addr, err)
	}
	s.ln, s.down = ln, false
	s.wg.Add(1)
	go s.serve(ln)
	return nil
}

// stopLocked closes the listener and the open connections; s.mu is held.
func (s *Server) stopLocked() {
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
}

func (s *Server) serve(ln net.Listener) {
	defer s.wg.Done()
	for {
		conn, err := ln.Accept()
		if err != nil {
			return // closed or down
		}
		s.mu.Lock()
		if s.closed || s.down || s.ln != ln {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				conn.Close()
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
			}()
			s.session(conn)
		}()
	}
}

// takeRejection reports the reply code to refuse the current command at the
// stage with, or 0 to go on.
func (s *Server) takeRejection(at Stage) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reject.n == 0 || s.reject.at != at {
		return 0
	}
	s.reject.n--
	return s.reject.code
}

func (s *Server) takeDrop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drop == 0 {
		return false
	}
	s.drop--
	return true
}

func (s *Server) record(m Message) {
	m.Received = time.Now()
	if msg, err := mail.ReadMessage(bytes.NewReader(m.Data)); err == nil {
		m.Header = msg.Header
		m.Body, _ = io.ReadAll(msg.Body) // reading from memory cannot fail
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// maxLine bounds a command or data line; SMTP allows 1000 octets.
const maxLine = 64 << 10

// session is one client connection.
type session struct {
	s      *Server
	conn   net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	tls    bool
	helo   bool
	user   string
	from   string
	inMail bool
	to     []string
}

func (s *Server) session(conn net.Conn) {
	ss := &session{s: s, conn: conn}
	if s.opts.ImplicitTLS {
		tc := tls.Server(conn, s.tlsCfg)
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		if err := tc.Handshake(); err != nil {
			return
		}
		ss.conn, ss.tls = tc, true
	}
	ss.r = bufio.NewReader(ss.conn)
	ss.w = bufio.NewWriter(ss.conn)
	ss.run()
}

func (ss *session) reply(code int, lines ...string) bool {
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		fmt.Fprintf(ss.w, "%d%s%s\r\n", code, sep, l)
	}
	return ss.w.Flush() == nil
}

func (ss *session) readLine() (string, error) {
	ss.conn.SetDeadline(time.Now().Add(30 * time.Second))
	var line []byte
	for {
		chunk, isPrefix, err := ss.r.ReadLine()
		if err != nil {
			return "", err
		}
		line = append(line, chunk...)
		if len(line) > maxLine {
			return "", errors.New("line too long")
		}
		if !isPrefix {
			return string(line), nil
		}
	}
}

func (ss *session) reset() {
	ss.from, ss.inMail, ss.to = "", false, nil
}

func (ss *session) run() {
	if !ss.reply(220, "127.0.0.1 smtptest ESMTP ready") {
		return
	}
	for {
		line, err := ss.readLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		ok := true
		switch verb {
		case "EHLO":
			ss.reset()
			ss.helo = true
			lines := []string{"127.0.0.1 greets " + arg, "8BITMIME", "PIPELINING", "SIZE 10485760"}
			if ss.s.opts.StartTLS && !ss.tls {
				lines = append(lines, "STARTTLS")
			}
			lines = append(lines, "AUTH PLAIN")
			ok = ss.reply(250, lines...)
		case "HELO":
			ss.reset()
			ss.helo = true
			ok = ss.reply(250, "127.0.0.1 greets "+arg)
		case "STARTTLS":
			if !ss.s.opts.StartTLS {
				ok = ss.reply(502, "5.5.1 STARTTLS not offered")
				break
			}
			if ss.tls {
				ok = ss.reply(503, "5.5.1 TLS already active")
				break
			}
			if !ss.reply(220, "2.0.0 ready to start TLS") {
				return
			}
			tc := tls.Server(ss.conn, ss.s.tlsCfg)
			if err := tc.Handshake(); err != nil {
				return
			}
			ss.conn, ss.tls = tc, true
			ss.r, ss.w = bufio.NewReader(tc), bufio.NewWriter(tc)
			ss.helo, ss.user = false, "" // RFC 3207: forget everything
			ss.reset()
		case "AUTH":
			ok = ss.auth(arg)
		case "MAIL":
			ok = ss.mail(arg)
		case "RCPT":
			ok = ss.rcpt(arg)
		case "DATA":
			ok = ss.data()
		case "RSET":
			ss.reset()
			ok = ss.reply(250, "2.0.0 ok")
		case "NOOP":
			ok = ss.reply(250, "2.0.0 ok")
		case "QUIT":
			ss.reply(221, "2.0.0 bye")
			return
		default:
			ok = ss.reply(502, "5.5.2 command not implemented")
		}
		if !ok {
			return
		}
	}
}

func (ss *session) auth(arg string) bool {
	mech, initial, _ := strings.Cut(arg, " ")
	switch {
	case !ss.helo:
		return ss.reply(503, "5.5.1 say EHLO first")
	case ss.user != "":
		return ss.reply(503, "5.5.1 already authenticated")
	case !strings.EqualFold(mech, "PLAIN"):
		return ss.reply(504, "5.5.4 only AUTH PLAIN")
	}
	if initial == "" {
		if !ss.reply(334, "") {
			return false
		}
		line, err := ss.readLine()
		if err != nil {
			return false
		}
		initial = line
	}
	if initial == "*" {
		return ss.reply(501, "5.0.0 authentication cancelled")
	}
	raw, err := base64.StdEncoding.DecodeString(initial)
	if err != nil {
		return ss.reply(501, "5.5.2 cannot decode the response")
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 || parts[1] == "" {
		return ss.reply(501, "5.5.2 malformed PLAIN response")
	}
	user, pass := parts[1], parts[2]
	ss.s.mu.Lock()
	ss.s.auths = append(ss.s.auths, Auth{User: user, TLS: ss.tls})
	ss.s.mu.Unlock()
	if o := ss.s.opts; o.Username != "" && (user != o.Username || pass != o.Password) {
		return ss.reply(535, "5.7.8 authentication credentials invalid")
	}
	ss.user = user
	return ss.reply(235, "2.7.0 authentication successful")
}

// path reads the address of "FROM:<a> params" or "TO:<a> params".
func path(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	addr, _, ok := strings.Cut(rest[1:], ">")
	return addr, ok
}

func (ss *session) mail(arg string) bool {
	switch {
	case !ss.helo:
		return ss.reply(503, "5.5.1 say EHLO first")
	case ss.inMail:
		return ss.reply(503, "5.5.1 nested MAIL command")
	case ss.s.opts.Username != "" && ss.user == "":
		return ss.reply(530, "5.7.0 authentication required")
	}
	from, ok := path(arg, "FROM:")
	if !ok {
		return ss.reply(501, "5.5.4 syntax: MAIL FROM:<address>")
	}
	if code := ss.s.takeRejection(AtMail); code != 0 {
		return ss.reply(code, refusal(code))
	}
	ss.from, ss.inMail = from, true
	return ss.reply(250, "2.1.0 sender ok")
}

func (ss *session) rcpt(arg string) bool {
	if !ss.inMail {
		return ss.reply(503, "5.5.1 need MAIL first")
	}
	to, ok := path(arg, "TO:")
	if !ok || to == "" {
		return ss.reply(501, "5.5.4 syntax: RCPT TO:<address>")
	}
	if code := ss.s.takeRejection(AtRcpt); code != 0 {
		return ss.reply(code, refusal(code))
	}
	ss.to = append(ss.to, to)
	return ss.reply(250, "2.1.5 recipient ok")
}

func (ss *session) data() bool {
	if len(ss.to) == 0 {
		return ss.reply(503, "5.5.1 need RCPT first")
	}
	ss.s.mu.Lock()
	f := ss.s.onData
	ss.s.mu.Unlock()
	if f != nil {
		f()
	}
	if !ss.reply(354, "end data with <CR><LF>.<CR><LF>") {
		return false
	}
	var buf bytes.Buffer
	for {
		line, err := ss.readLine()
		if err != nil {
			return false // the client went away mid-message: nothing accepted
		}
		if line == "." {
			break
		}
		line = strings.TrimPrefix(line, ".") // dot-unstuffing (RFC 5321 4.5.2)
		buf.WriteString(line)
		buf.WriteString("\r\n")
	}
	m := Message{From: ss.from, To: ss.to, Data: buf.Bytes(), TLS: ss.tls, User: ss.user}
	ss.reset()
	if ss.s.takeDrop() {
		ss.s.record(m)
		return false // hang up without a reply
	}
	if code := ss.s.takeRejection(AtData); code != 0 {
		return ss.reply(code, refusal(code))
	}
	ss.s.record(m)
	return ss.reply(250, "2.0.0 ok: queued")
}

func refusal(code int) string {
	if code < 500 {
		return "4.3.0 try again later (smtptest)"
	}
	return "5.7.1 refused (smtptest)"
}
