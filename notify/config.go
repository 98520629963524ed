package notify

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config says how notices are delivered. Zero durations and counts take the
// defaults named on each field.
type Config struct {
	// SMTPURL is where mail goes: smtp://[user:password@]host[:port][?from=address&starttls=true]
	// or smtps://… for TLS from the first byte (port 465). Empty means
	// log-only mode: every notice is written to the log instead of mailed.
	SMTPURL string
	// TLS is how the connection to the SMTP server is protected
	// (OHO_SMTP_TLS). Empty means what SMTP_URL says (smtps:// is
	// TLSImplicit, starttls=true TLSStartTLS, starttls=false TLSNone), and
	// when it says nothing, TLSStartTLS, except to a server on this machine
	// (localhost, 127.0.0.1, ::1), where the mail cannot be overheard on its
	// way and TLSNone is the default unless RequireTLS is set.
	TLS TLSMode
	// CAFile is a PEM file of the CA certificates the SMTP server's
	// certificate must chain to (OHO_SMTP_CA_FILE), instead of the system's
	// (or TLSConfig's RootCAs).
	CAFile string
	// TLSServerName is the name the SMTP server's certificate must be for
	// (OHO_SMTP_TLS_SERVER_NAME); default TLSConfig's ServerName, else the
	// host of SMTPURL.
	TLSServerName string
	// RequireTLS refuses every TLS mode but TLSStartTLS and TLSImplicit,
	// even to this machine (OHO_REQUIRE_TLS).
	RequireTLS bool
	// From is the sender address ("OHO <oho@example.fi>" or a bare
	// address); when empty, the URL's from parameter is used. Mail needs
	// one of the two.
	From string
	// PollInterval is how long Run waits when the outbox has nothing due.
	// Default 5s.
	PollInterval time.Duration
	// BatchSize is how many notices one claim takes. Every notice of a
	// claimed batch is in the sending state until its turn comes, and a
	// sender that crashes leaves all of them uncertain, so a small batch
	// keeps a crash's damage small. Default 1.
	BatchSize int
	// MaxAttempts is how many delivery attempts a notice gets before it is
	// marked failed. Default 8.
	MaxAttempts int
	// RetryBase is the wait after the first failed attempt; each further
	// failure doubles it, up to RetryMax. Defaults 1m and 1h.
	RetryBase, RetryMax time.Duration
	// StuckAfter is how long a notice may stay in the sending state before
	// it is taken to belong to a sender that died and is marked uncertain.
	// It must be longer than BatchSize × SendTimeout, the longest a live
	// sender can take over a batch. Default 10m.
	StuckAfter time.Duration
	// SendTimeout bounds one SMTP conversation, from dialling to the reply
	// to the message. Default 30s.
	SendTimeout time.Duration
	// HelloName is the name the sender gives in EHLO. Default: the host
	// name.
	HelloName string
	// TLSConfig, when set, is the base of the configuration used for
	// STARTTLS and smtps (tests use it to trust their server's
	// certificate); CAFile and TLSServerName override its RootCAs and
	// ServerName. Nil means the system's roots and the URL's host.
	TLSConfig *tls.Config
	// BaseURL is where people reach OHO's web pages, which the notices link
	// to: an absolute http or https URL, possibly with a path, without query
	// or fragment; a trailing slash is dropped. Default DefaultBaseURL.
	BaseURL string
}

// Defaults for the zero values of Config.
const (
	DefaultPollInterval = 5 * time.Second
	DefaultBatchSize    = 1
	DefaultMaxAttempts  = 8
	DefaultRetryBase    = time.Minute
	DefaultRetryMax     = time.Hour
	DefaultStuckAfter   = 10 * time.Minute
	DefaultSendTimeout  = 30 * time.Second
	// maxSendTimeout bounds OHO_NOTIFY_SEND_TIMEOUT: with the default
	// batch of one, StuckAfter must stay longer than it.
	maxSendTimeout = 5 * time.Minute
	// DefaultBaseURL is where a development machine serves the web pages.
	DefaultBaseURL = "http://localhost:8080"
)

// ConfigFromEnv returns the configuration the environment gives: SMTP_URL
// (unset or empty for log-only mode), checked so that a malformed URL stops
// the program at start rather than at the first notice; OHO_BASE_URL, the
// address of OHO's web pages that notices link to (DefaultBaseURL when
// unset), checked likewise, since a wrong one would go out in every mail;
// OHO_NOTIFY_POLL, the poll interval as a Go duration ("5s", the
// default; tests and demos use less); and OHO_NOTIFY_RETRY, the wait after
// a notice's first failed delivery (RetryBase, "1m" by default; each
// further failure doubles it up to RetryMax), which a site whose mail
// server is often briefly away may shorten and tests do; and
// OHO_NOTIFY_SEND_TIMEOUT, the bound on one SMTP conversation (SendTimeout,
// "30s" by default, at most 5m), which a slow relay may need longer, and
// after which a notice a dead sender left before handing it over is sent
// again. The mail's TLS comes from OHO_SMTP_TLS (starttls, tls,
// opportunistic or none; see Config.TLS for the default),
// OHO_SMTP_CA_FILE and OHO_SMTP_TLS_SERVER_NAME, and OHO_REQUIRE_TLS
// (true: nothing in clear, even to this machine); all are checked with
// SMTP_URL, the CA file read. Errors never contain the password.
func ConfigFromEnv() (Config, error) {
	cfg := Config{
		SMTPURL:       strings.TrimSpace(os.Getenv("SMTP_URL")),
		TLS:           TLSMode(strings.TrimSpace(os.Getenv("OHO_SMTP_TLS"))),
		CAFile:        strings.TrimSpace(os.Getenv("OHO_SMTP_CA_FILE")),
		TLSServerName: strings.TrimSpace(os.Getenv("OHO_SMTP_TLS_SERVER_NAME")),
	}
	if err := cfg.TLS.check(); err != nil {
		return Config{}, err
	}
	require, err := RequireTLSFromEnv()
	if err != nil {
		return Config{}, err
	}
	cfg.RequireTLS = require
	base, err := checkBaseURL(os.Getenv("OHO_BASE_URL"))
	if err != nil {
		return Config{}, fmt.Errorf("OHO_BASE_URL %w", err)
	}
	cfg.BaseURL = base
	if raw := strings.TrimSpace(os.Getenv("OHO_NOTIFY_POLL")); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("OHO_NOTIFY_POLL must be a positive duration such as 5s or 500ms (got %q)", raw)
		}
		cfg.PollInterval = d
	}
	if raw := strings.TrimSpace(os.Getenv("OHO_NOTIFY_RETRY")); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d <= 0 || d > DefaultRetryMax {
			return Config{}, fmt.Errorf("OHO_NOTIFY_RETRY must be a positive duration of at most %s such as 1m or 10s (got %q)", DefaultRetryMax, raw)
		}
		cfg.RetryBase = d
	}
	if raw := strings.TrimSpace(os.Getenv("OHO_NOTIFY_SEND_TIMEOUT")); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d < time.Second || d > maxSendTimeout {
			return Config{}, fmt.Errorf("OHO_NOTIFY_SEND_TIMEOUT must be a duration from 1s to %s such as 30s (got %q)", maxSendTimeout, raw)
		}
		cfg.SendTimeout = d
	}
	if cfg.SMTPURL == "" {
		return cfg, nil
	}
	target, _, err := cfg.smtpSetup()
	if err != nil {
		return Config{}, err
	}
	if target.from == "" {
		return Config{}, errors.New("SMTP_URL has no sender: add ?from=address (for example smtp://mail.example.fi:25?from=oho@example.fi)")
	}
	return cfg, nil
}

// String describes the configuration without the password, so that it can
// be logged or printed with %v safely.
func (c Config) String() string {
	if c.SMTPURL == "" {
		return "log only (no SMTP_URL)"
	}
	return "SMTP " + redact(c.SMTPURL)
}

// checkBaseURL checks the address of OHO's web pages and returns it without
// a trailing slash, or DefaultBaseURL when raw is empty. The links in every
// mail are made of it, so it must be a URL a mail client can open, and one
// that a path can be appended to: absolute http or https, a host, no query
// or fragment, and no user name or password, which would go out to every
// recipient. The error says what is wrong with the value, not which setting
// holds it.
func checkBaseURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return DefaultBaseURL, nil
	}
	const want = "an absolute http:// or https:// URL such as https://oho.example.fi, without query or fragment"
	u, err := url.Parse(raw)
	if err != nil {
		// The value may hold a password; url.Error would repeat it.
		return "", fmt.Errorf("is not a URL; want %s", want)
	}
	shown := u.Redacted()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("must start with http:// or https:// (got %q); want %s", shown, want)
	case u.Opaque != "" || u.Host == "":
		return "", fmt.Errorf("names no host (got %q); want %s", shown, want)
	case u.User != nil:
		return "", fmt.Errorf("must not hold a user name or password, which every mail would show (got %q)", shown)
	case strings.ContainsAny(raw, "?#"):
		return "", fmt.Errorf("must not have a query or fragment, since links are made by appending a path (got %q)", shown)
	}
	return strings.TrimRight(raw, "/"), nil
}

// redact returns the URL with its password replaced, or a placeholder when
// it cannot be read.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unreadable SMTP_URL)"
	}
	return u.Redacted()
}

// withDefaults fills in the zero values and checks the rest.
func (c Config) withDefaults() (Config, error) {
	set := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	set(&c.PollInterval, DefaultPollInterval)
	set(&c.RetryBase, DefaultRetryBase)
	set(&c.RetryMax, DefaultRetryMax)
	set(&c.StuckAfter, DefaultStuckAfter)
	set(&c.SendTimeout, DefaultSendTimeout)
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	base, err := checkBaseURL(c.BaseURL)
	if err != nil {
		return c, fmt.Errorf("notice sender configuration: BaseURL %w", err)
	}
	c.BaseURL = base
	if c.HelloName == "" {
		c.HelloName = "localhost"
		if h, err := os.Hostname(); err == nil && h != "" {
			c.HelloName = h
		}
	}
	var problems []string
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"PollInterval", c.PollInterval}, {"RetryBase", c.RetryBase}, {"RetryMax", c.RetryMax}, {"StuckAfter", c.StuckAfter}, {"SendTimeout", c.SendTimeout}} {
		if d.v < 0 {
			problems = append(problems, fmt.Sprintf("%s is negative (%v)", d.name, d.v))
		}
	}
	if c.BatchSize < 0 {
		problems = append(problems, fmt.Sprintf("BatchSize is negative (%d)", c.BatchSize))
	}
	if c.MaxAttempts < 0 {
		problems = append(problems, fmt.Sprintf("MaxAttempts is negative (%d)", c.MaxAttempts))
	}
	if c.RetryMax < c.RetryBase {
		problems = append(problems, fmt.Sprintf("RetryMax (%v) is shorter than RetryBase (%v)", c.RetryMax, c.RetryBase))
	}
	if busy := time.Duration(c.BatchSize) * c.SendTimeout; c.StuckAfter <= busy {
		problems = append(problems, fmt.Sprintf("StuckAfter (%v) must be longer than BatchSize × SendTimeout (%v), or notices a live sender is still working on would be marked uncertain", c.StuckAfter, busy))
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("notice sender configuration: %s", strings.Join(problems, "; "))
	}
	return c, nil
}

// smtpTarget is SMTP_URL, read, with the TLS settings resolved.
type smtpTarget struct {
	host       string  // for TLS verification and AUTH
	port       string  // as the URL gives it, "" when absent
	addr       string  // host:port to dial
	urlMode    TLSMode // what the URL says about TLS, "" when nothing
	mode       TLSMode // how the connection is protected, resolved
	caFile     string  // the CA file the certificate is checked against, "" for the system's
	serverName string  // the name the certificate must be for
	user, pass string
	from       string // the from parameter, "" when absent
}

// describe says where mail goes and how, without credentials.
func (t smtpTarget) describe() string {
	var how string
	switch t.mode {
	case TLSImplicit:
		how = "TLS"
	case TLSStartTLS:
		how = "STARTTLS required"
	case TLSOpportunistic:
		how = "STARTTLS if offered"
	default:
		return t.addr + " (no TLS)"
	}
	roots := "the system's CAs"
	if t.caFile != "" {
		roots = t.caFile
	}
	return fmt.Sprintf("%s (%s, certificate for %s checked against %s)", t.addr, how, t.serverName, roots)
}

// urlHelp is the shape of SMTP_URL, for error messages.
const urlHelp = "smtp://user:password@host:port?from=address&starttls=true"

// parseSMTPURL reads and checks an SMTP URL. Its errors name what is wrong
// without repeating the URL, which may hold a password.
func parseSMTPURL(raw string) (smtpTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, password included; its inner
		// error may quote a piece of it (a bad %-escape), so neither is
		// shown.
		var escErr url.EscapeError
		if errors.As(err, &escErr) {
			return smtpTarget{}, fmt.Errorf("SMTP_URL has a bad %%-escape: percent-encode special characters in the user name and password (%s)", urlHelp)
		}
		return smtpTarget{}, fmt.Errorf("SMTP_URL is not a URL of the form %s", urlHelp)
	}
	var t smtpTarget
	switch u.Scheme {
	case "smtp":
	case "smtps":
		t.urlMode = TLSImplicit
	default:
		return t, fmt.Errorf("SMTP_URL must start with smtp:// or smtps:// (got %q), as in %s", u.Scheme+"://", urlHelp)
	}
	if u.Opaque != "" || u.Host == "" {
		return t, fmt.Errorf("SMTP_URL names no host; write it as %s", urlHelp)
	}
	if u.Path != "" && u.Path != "/" {
		return t, fmt.Errorf("SMTP_URL has a path (%q); an SMTP server takes none", u.Path)
	}
	t.host, t.port = u.Hostname(), u.Port()
	if n, err := strconv.Atoi(t.port); t.port != "" && (err != nil || n < 1 || n > 65535) {
		return t, fmt.Errorf("SMTP_URL has port %q; want a number from 1 to 65535", t.port)
	}

	if u.User != nil {
		t.user = u.User.Username()
		t.pass, _ = u.User.Password()
		if t.user == "" || t.pass == "" {
			return t, fmt.Errorf("SMTP_URL must give both a user name and a password, or neither (%s)", urlHelp)
		}
	}

	q := u.Query()
	var unknown []string
	for k := range q {
		if k != "from" && k != "starttls" {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return t, fmt.Errorf("SMTP_URL has unknown parameters %s; it takes from and starttls", strings.Join(unknown, ", "))
	}
	if v := q.Get("starttls"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return t, fmt.Errorf("SMTP_URL has starttls=%s; want true or false", v)
		}
		if t.urlMode == TLSImplicit {
			return t, fmt.Errorf("SMTP_URL asks for both smtps:// and starttls=%s; smtps is TLS from the first byte, drop starttls", v)
		}
		t.urlMode = TLSNone
		if b {
			t.urlMode = TLSStartTLS
		}
	}
	if from := q.Get("from"); from != "" {
		if _, err := mail.ParseAddress(from); err != nil {
			return t, fmt.Errorf("SMTP_URL has from=%q, which is not an e-mail address: %v", from, err)
		}
		t.from = from
	}
	return t, nil
}

// isLoopback reports whether host names this machine, where a password
// cannot be overheard: exactly the names for which net/smtp's PlainAuth
// allows a connection without TLS.
func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
