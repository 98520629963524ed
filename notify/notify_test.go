package notify_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/notify"
	"github.com/oho-dev/oho/smtptest"
	"github.com/oho-dev/oho/store"
)

// The people of dbtest.Org("ACME") that the tests address.
const (
	nurse   = "acme.nurse.north" // has an address
	manager = "acme.manager"     // has an address
	rep     = "acme.rep.north"   // a role account without one
)

// The notice most tests queue: an overdue evaluation, as the store queues
// it, and the mail the sender writes from it with baseURL, its due time in
// ACME's zone (Helsinki's: its organisation file names none). Its subject is
// not ASCII, so it goes out as encoded words.
const (
	baseURL = "https://oho.example.fi"
	facts   = `{"kind": "overdue", "task_id": "ACME/2027/evaluate/NORTH", "task_kind": "evaluate", "unit": "NORTH",
		"role": "welfare_staff", "assignee": "acme.nurse.north", "due_at": "2027-04-01T12:00:00Z"}`
	subject = "Myöhässä / Overdue: ACME/2027/evaluate/NORTH was due 1 Apr 2027"
	body    = "Tehtävä ACME/2027/evaluate/NORTH (arviointi, yksikkö NORTH), määräaika 1.4.2027 klo 15.00 EEST.\n" +
		"Tehtävä on myöhässä, ja siitä on ilmoitettu esimiehille.\n" +
		"Katso ja tee: https://oho.example.fi/tasks/ACME%2F2027%2Fevaluate%2FNORTH\n" +
		"\n" +
		"Task ACME/2027/evaluate/NORTH (evaluation, unit NORTH), due 1 Apr 2027 15:00 EEST.\n" +
		"The task is overdue; the managers have been told.\n" +
		"See and do: https://oho.example.fi/tasks/ACME%2F2027%2Fevaluate%2FNORTH\n"
	from = "OHO <oho@example.fi>"
)

// A notice queued before the outbox stored facts: its text, as the store
// wrote it then, long enough to be folded, with a line that starts with a
// dot (which SMTP must escape).
const (
	legacySubject = "Muistutus / Reminder: ACME/2027/evaluate/NORTH due 2027-04-01 (yksikkö Pohjoinen, määräaika lähestyy)"
	legacyBody    = "Tehtävä ACME/2027/evaluate/NORTH (arviointi, yksikkö NORTH), määräaika 2027-04-01 12:00 UTC.\n" +
		"Tehtävän määräaika lähestyy. Hyvää yötä, sähköposti kulkee ääkkösineen ja öineen.\n" +
		".Tämä rivi alkaa pisteellä.\n" +
		"Katso ja tee: starter task show ACME/2027/evaluate/NORTH\n" +
		"\n" +
		"Task ACME/2027/evaluate/NORTH (evaluation, unit NORTH), due 2027-04-01 12:00 UTC.\n" +
		"The task is due soon.\n" +
		"See and do: starter task show ACME/2027/evaluate/NORTH\n"
)

// outbox returns a fresh migrated database holding the organisation
// dbtest.Org("ACME").
func outbox(t *testing.T) *sqlx.DB {
	t.Helper()
	db, _ := dbtest.New(t)
	if _, err := store.New(db).ImportOrg(context.Background(), store.ActorOperator, dbtest.Org("ACME")); err != nil {
		t.Fatalf("importing the organisation: %v", err)
	}
	return db
}

// queue adds a pending notice with the standard facts for the person, at
// the person's address as dbtest.Org gives it.
func queue(t *testing.T, db *sqlx.DB, id, person string) {
	t.Helper()
	email := dbtest.Email(person)
	if person == rep {
		email = ""
	}
	queueTo(t, db, id, person, email)
}

func queueTo(t *testing.T, db *sqlx.DB, id, person, email string) {
	t.Helper()
	const q = `
INSERT INTO notifications (id, provider_code, person_id, email, kind, facts)
VALUES ($1, 'ACME', $2, $3, 'overdue', $4)`
	if _, err := db.Exec(q, id, person, email, facts); err != nil {
		t.Fatalf("queueing notice %s: %v", id, err)
	}
}

// queueLegacy adds a pending notice as the store queued them before the
// outbox stored facts: with its subject and body, and no facts.
func queueLegacy(t *testing.T, db *sqlx.DB, id, person string) {
	t.Helper()
	const q = `
INSERT INTO notifications (id, provider_code, person_id, email, kind, subject, body)
VALUES ($1, 'ACME', $2, $3, 'reminder', $4, $5)`
	if _, err := db.Exec(q, id, person, dbtest.Email(person), legacySubject, legacyBody); err != nil {
		t.Fatalf("queueing legacy notice %s: %v", id, err)
	}
}

// row is a notice's delivery state as stored.
type row struct {
	State       string       `db:"state"`
	Attempts    int          `db:"attempts"`
	LastError   string       `db:"last_error"`
	SentAt      sql.NullTime `db:"sent_at"`
	CreatedAt   time.Time    `db:"created_at"`
	RetryIn     float64      `db:"retry_in"` // next_attempt_at - now(), in seconds
	NextAttempt time.Time    `db:"next_attempt_at"`
}

func get(t *testing.T, db *sqlx.DB, id string) row {
	t.Helper()
	const q = `
SELECT state, attempts, last_error, sent_at, created_at, next_attempt_at,
       EXTRACT(EPOCH FROM next_attempt_at - now())::float8 AS retry_in
FROM notifications WHERE id = $1`
	var r row
	if err := db.Get(&r, q, id); err != nil {
		t.Fatalf("reading notice %s: %v", id, err)
	}
	return r
}

// makeDue moves a notice's next attempt to the past, as waiting would.
func makeDue(t *testing.T, db *sqlx.DB, id string) {
	t.Helper()
	if _, err := db.Exec(`UPDATE notifications SET next_attempt_at = now() - interval '1 second' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
}

// logBuffer collects a logger's JSON records; it is safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// records returns the logged records whose message starts with prefix.
func (l *logBuffer) records(t *testing.T, prefix string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, prefix) {
			out = append(out, rec)
		}
	}
	return out
}

// smtpURL is the server's URL with the sender address and any further
// parameters.
func smtpURL(srv *smtptest.Server, params ...string) string {
	return srv.URL() + "?from=" + url.QueryEscape(from) + strings.Join(params, "")
}

// sender returns a Sender over db for the SMTP URL ("" for log-only mode)
// with test settings, changed by mod, and the buffer it logs into.
func sender(t *testing.T, db *sqlx.DB, smtpURL string, mod func(*notify.Config)) (*notify.Sender, *logBuffer) {
	t.Helper()
	cfg := notify.Config{
		SMTPURL:      smtpURL,
		BaseURL:      baseURL + "/", // the trailing slash is dropped
		PollInterval: 20 * time.Millisecond,
		BatchSize:    10,
		RetryBase:    time.Hour,
		RetryMax:     24 * time.Hour,
		SendTimeout:  5 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	logs := &logBuffer{}
	s, err := notify.New(db, cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatalf("notify.New: %v", err)
	}
	return s, logs
}

func runOnce(t *testing.T, s *notify.Sender, want int) {
	t.Helper()
	n, err := s.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if n != want {
		t.Fatalf("RunOnce dealt with %d notices, want %d", n, want)
	}
}

func TestDeliversPendingNotices(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	idNurse := "overdue/ACME/2027/evaluate/NORTH/1/" + nurse
	idManager := "overdue/ACME/2027/evaluate/NORTH/1/" + manager
	queue(t, db, idNurse, nurse)
	queue(t, db, idManager, manager)
	s, _ := sender(t, db, smtpURL(srv), nil)

	runOnce(t, s, 2)
	msgs := srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("got %d messages, want 2", len(msgs))
	}
	byID := map[string]smtptest.Message{}
	for _, m := range msgs {
		byID[m.Header.Get("Message-ID")] = m
	}
	m, ok := byID["<"+idNurse+"@oho>"]
	if !ok {
		t.Fatalf("no message with Message-ID <%s@oho> among %v", idNurse, byID)
	}
	stored := get(t, db, idNurse)

	if m.From != "oho@example.fi" || len(m.To) != 1 || m.To[0] != dbtest.Email(nurse) {
		t.Errorf("got envelope %s → %v, want oho@example.fi → [%s]", m.From, m.To, dbtest.Email(nurse))
	}
	if a, err := mail.ParseAddress(m.Header.Get("From")); err != nil || a.Address != "oho@example.fi" || a.Name != "OHO" {
		t.Errorf("got From %q (%v), want OHO <oho@example.fi>", m.Header.Get("From"), err)
	}
	if a, err := mail.ParseAddress(m.Header.Get("To")); err != nil || a.Address != dbtest.Email(nurse) {
		t.Errorf("got To %q (%v), want %s", m.Header.Get("To"), err, dbtest.Email(nurse))
	}
	wantText(t, m, subject, body)
	date, err := m.Header.Date()
	if err != nil || !date.Equal(stored.CreatedAt.Truncate(time.Second)) {
		t.Errorf("got Date %q (%v), want the time the notice was queued, %v", m.Header.Get("Date"), err, stored.CreatedAt)
	}
	for k, want := range map[string]string{
		"MIME-Version":              "1.0",
		"Content-Type":              "text/plain; charset=UTF-8",
		"Content-Transfer-Encoding": "quoted-printable",
		"Auto-Submitted":            "auto-generated",
	} {
		if got := m.Header.Get(k); got != want {
			t.Errorf("got %s %q, want %q", k, got, want)
		}
	}

	for _, id := range []string{idNurse, idManager} {
		r := get(t, db, id)
		if r.State != notify.StateSent || r.Attempts != 1 || !r.SentAt.Valid || r.LastError != "" {
			t.Errorf("notice %s: got %+v, want sent after 1 attempt with sent_at", id, r)
		}
	}
	runOnce(t, s, 0)
	if got := len(srv.Messages()); got != 2 {
		t.Errorf("got %d messages after a second run, want still 2", got)
	}
}

// wantText checks a mail's subject and body, and that it went out as
// 7-bit lines of at most 78 octets, whatever its text.
func wantText(t *testing.T, m smtptest.Message, subject, body string) {
	t.Helper()
	if got := m.Subject(); got != subject {
		t.Errorf("got subject\n%q\nwant\n%q", got, subject)
	}
	if raw := m.Header.Get("Subject"); !strings.HasPrefix(raw, "=?utf-8?q?") {
		t.Errorf("got raw subject %q, want RFC 2047 Q-encoded words", raw)
	}
	text, err := m.Text()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ReplaceAll(text, "\r\n", "\n"); got != body {
		t.Errorf("got body\n%s\nwant\n%s", got, body)
	}
	for i, line := range strings.Split(string(m.Data), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line %d of the message has %d octets, want at most 78: %q", i+1, len(line), line)
		}
		for _, c := range []byte(line) {
			if c >= 0x80 {
				t.Fatalf("line %d of the message has 8-bit data, want 7-bit: %q", i+1, line)
			}
		}
	}
}

func TestLegacyNoticeIsDeliveredAsStored(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	legacy := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
	current := "overdue/ACME/2027/evaluate/NORTH/2/" + nurse
	queueLegacy(t, db, legacy, nurse)
	queue(t, db, current, nurse)
	s, _ := sender(t, db, smtpURL(srv), nil)

	runOnce(t, s, 2)
	byID := map[string]smtptest.Message{}
	for _, m := range srv.Messages() {
		byID[m.Header.Get("Message-ID")] = m
	}
	if len(byID) != 2 {
		t.Fatalf("got messages %v, want one for each notice", byID)
	}
	wantText(t, byID["<"+legacy+"@oho>"], legacySubject, legacyBody)
	wantText(t, byID["<"+current+"@oho>"], subject, body)
	for _, id := range []string{legacy, current} {
		if r := get(t, db, id); r.State != notify.StateSent || r.Attempts != 1 {
			t.Errorf("notice %s: got %+v, want sent after 1 attempt", id, r)
		}
	}
}

// TestNoticeTimesInTheProvidersZone delivers a notice of a provider whose
// organisation file names Stockholm's zone: its times are written there, in
// the zone the provider has when the notice is delivered (a notice holds
// facts, not words).
func TestNoticeTimesInTheProvidersZone(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	id := "overdue/ACME/2027/evaluate/NORTH/1/" + nurse
	queue(t, db, id, nurse)
	org := dbtest.Org("ACME")
	org.Provider.TimeZone = "Europe/Stockholm"
	if _, err := store.New(db).ImportOrg(context.Background(), store.ActorOperator, org); err != nil {
		t.Fatal(err)
	}
	s, _ := sender(t, db, smtpURL(srv), nil)
	runOnce(t, s, 1)
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	stockholm := strings.NewReplacer("klo 15.00 EEST", "klo 14.00 CEST", "15:00 EEST", "14:00 CEST").Replace(body)
	if stockholm == body {
		t.Fatal("the test's body has no Helsinki time to replace")
	}
	wantText(t, msgs[0], subject, stockholm)
}

func TestNoticeThatCannotBeWrittenFails(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	// A newer OHO has queued a kind this sender has no text for, after
	// widening the kinds the table takes as its migration would.
	if _, err := db.Exec(`ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check`); err != nil {
		t.Fatal(err)
	}
	unknown := "appointment/acme.nurse.north/1"
	const q = `
INSERT INTO notifications (id, provider_code, person_id, email, kind, facts)
VALUES ($1, 'ACME', $2, $3, 'appointment', '{"kind": "appointment", "appointment_id": "i1"}')`
	if _, err := db.Exec(q, unknown, nurse, dbtest.Email(nurse)); err != nil {
		t.Fatal(err)
	}
	known := "overdue/ACME/2027/evaluate/NORTH/1/" + manager
	queue(t, db, known, manager)
	s, logs := sender(t, db, smtpURL(srv), nil)

	runOnce(t, s, 2)
	r := get(t, db, unknown)
	if r.State != notify.StateFailed || r.Attempts != 1 || r.SentAt.Valid || !strings.Contains(r.LastError, `no text for notices of kind "appointment"`) {
		t.Errorf("notice of an unknown kind: got %+v, want failed after 1 attempt naming the kind", r)
	}
	if r := get(t, db, known); r.State != notify.StateSent {
		t.Errorf("the notice after it: got %+v, want sent", r)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].Header.Get("Message-ID") != "<"+known+"@oho>" {
		t.Errorf("got %d messages, want only the known notice's", len(msgs))
	}
	if recs := logs.records(t, "notice failed: it cannot be written"); len(recs) != 1 || recs[0]["level"] != "ERROR" || recs[0]["notice"] != unknown {
		t.Errorf("got %v, want one error record naming %s", recs, unknown)
	}
	makeDue(t, db, unknown)
	runOnce(t, s, 0)
}

func TestLogOnlyMode(t *testing.T) {
	db := outbox(t)
	id := "overdue/ACME/2027/evaluate/NORTH/1/" + nurse
	queue(t, db, id, nurse)
	s, logs := sender(t, db, "", nil)

	runOnce(t, s, 1)
	if r := get(t, db, id); r.State != notify.StateLogged || !r.SentAt.Valid || r.Attempts != 1 {
		t.Errorf("got %+v, want logged with sent_at", r)
	}
	recs := logs.records(t, "notice (logged")
	if len(recs) != 1 {
		t.Fatalf("got %d notice log records, want 1:\n%s", len(recs), logs)
	}
	rec := recs[0]
	for k, want := range map[string]string{"level": "INFO", "notice": id, "person": nurse, "kind": "overdue", "subject": subject, "body": body, "why": "SMTP_URL not set"} {
		if got, _ := rec[k].(string); got != want {
			t.Errorf("log field %s: got %q, want %q", k, got, want)
		}
	}
	runOnce(t, s, 0)
	if got := len(logs.records(t, "notice (logged")); got != 1 {
		t.Errorf("got %d notice log records after a second run, want 1", got)
	}
}

func TestNoticeWithoutAddressIsLogged(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	idRep, idNurse := "assigned/ACME/2027/consult/NORTH/"+rep, "assigned/ACME/2027/evaluate/NORTH/"+nurse
	queue(t, db, idRep, rep)
	queue(t, db, idNurse, nurse)
	s, logs := sender(t, db, smtpURL(srv), nil)

	runOnce(t, s, 2)
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != dbtest.Email(nurse) {
		t.Fatalf("got %d messages, want 1 to %s", len(msgs), dbtest.Email(nurse))
	}
	if r := get(t, db, idRep); r.State != notify.StateLogged || !r.SentAt.Valid {
		t.Errorf("notice without an address: got %+v, want logged", r)
	}
	if r := get(t, db, idNurse); r.State != notify.StateSent {
		t.Errorf("notice with an address: got %+v, want sent", r)
	}
	recs := logs.records(t, "notice (logged")
	if len(recs) != 1 || recs[0]["notice"] != idRep || recs[0]["why"] != "no e-mail address" || recs[0]["person"] != rep ||
		recs[0]["body"] != nil || recs[0]["subject"] != nil {
		t.Errorf("got notice log records %v, want one for %s saying it has no address, in codes without the text", recs, idRep)
	}
}

func TestRetryAfterRefusalThenDeliveredOnce(t *testing.T) {
	for _, tc := range []struct {
		at   smtptest.Stage
		code int
	}{
		{smtptest.AtMail, 421},
		{smtptest.AtRcpt, 450},
		{smtptest.AtData, 451},
		{smtptest.AtData, 554},
	} {
		t.Run(fmt.Sprintf("%d at %s", tc.code, tc.at), func(t *testing.T) {
			db := outbox(t)
			srv := smtptest.Start(t)
			id := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
			queue(t, db, id, nurse)
			s, _ := sender(t, db, smtpURL(srv), nil)
			srv.RejectNext(1, tc.code, tc.at)

			runOnce(t, s, 1)
			r := get(t, db, id)
			if r.State != notify.StatePending || r.Attempts != 1 || !strings.Contains(r.LastError, fmt.Sprint(tc.code)) {
				t.Fatalf("after the refusal: got %+v, want pending after 1 attempt with the %d reply as last error", r, tc.code)
			}
			if r.RetryIn < 3590 || r.RetryIn > 3610 {
				t.Errorf("got next attempt in %.0fs, want in RetryBase (3600s)", r.RetryIn)
			}
			if got := len(srv.Messages()); got != 0 {
				t.Fatalf("got %d messages after the refusal, want 0", got)
			}
			runOnce(t, s, 0) // not due yet

			makeDue(t, db, id)
			runOnce(t, s, 1)
			if r := get(t, db, id); r.State != notify.StateSent || r.Attempts != 2 || r.LastError != "" {
				t.Errorf("after the retry: got %+v, want sent after 2 attempts", r)
			}
			makeDue(t, db, id) // even due, a sent notice is not sent again
			runOnce(t, s, 0)
			if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].Header.Get("Message-ID") != "<"+id+"@oho>" {
				t.Errorf("got %d messages, want exactly 1 for %s", len(msgs), id)
			}
		})
	}
}

func TestConnectionRefusedIsRetried(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	id := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
	queue(t, db, id, nurse)
	s, _ := sender(t, db, smtpURL(srv), nil)
	srv.Close()

	runOnce(t, s, 1)
	if r := get(t, db, id); r.State != notify.StatePending || r.Attempts != 1 || !strings.Contains(r.LastError, "connection refused") {
		t.Errorf("got %+v, want pending after 1 attempt with last error connection refused", r)
	}
}

func TestFailedAfterMaxAttempts(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	id := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
	queue(t, db, id, nurse)
	s, logs := sender(t, db, smtpURL(srv), func(c *notify.Config) { c.MaxAttempts = 3 })
	srv.RejectNext(100, 550, smtptest.AtRcpt)

	for attempt, wantWait := range []float64{3600, 7200} { // RetryBase, then doubled
		runOnce(t, s, 1)
		r := get(t, db, id)
		if r.State != notify.StatePending || r.Attempts != attempt+1 {
			t.Fatalf("after attempt %d: got %+v, want pending", attempt+1, r)
		}
		if r.RetryIn < wantWait-10 || r.RetryIn > wantWait+10 {
			t.Errorf("after attempt %d: got next attempt in %.0fs, want in %.0fs", attempt+1, r.RetryIn, wantWait)
		}
		makeDue(t, db, id)
	}
	runOnce(t, s, 1)
	r := get(t, db, id)
	if r.State != notify.StateFailed || r.Attempts != 3 || !strings.Contains(r.LastError, "550") || r.SentAt.Valid {
		t.Fatalf("after attempt 3: got %+v, want failed with the 550 reply as last error", r)
	}
	makeDue(t, db, id)
	runOnce(t, s, 0)
	if got := len(srv.Messages()); got != 0 {
		t.Errorf("got %d messages, want 0", got)
	}
	if recs := logs.records(t, "notice failed"); len(recs) != 1 || recs[0]["level"] != "ERROR" {
		t.Errorf("got %v, want one error record saying the notice failed", recs)
	}
}

func TestUnusableAddressFailsAtOnce(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	id := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
	queueTo(t, db, id, nurse, "nurse at example dot fi")
	s, _ := sender(t, db, smtpURL(srv), nil)

	runOnce(t, s, 1)
	if r := get(t, db, id); r.State != notify.StateFailed || r.Attempts != 1 || !strings.Contains(r.LastError, "not an e-mail address") {
		t.Errorf("got %+v, want failed after 1 attempt naming the address", r)
	}
	if got := len(srv.Messages()); got != 0 {
		t.Errorf("got %d messages, want 0", got)
	}
}

func TestLostReplyMakesNoticeUncertain(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	id := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
	queue(t, db, id, nurse)
	s, logs := sender(t, db, smtpURL(srv), nil)
	srv.DropNext(1) // receives the message, hangs up before replying

	runOnce(t, s, 1)
	r := get(t, db, id)
	if r.State != notify.StateUncertain || r.Attempts != 1 || r.SentAt.Valid || !strings.Contains(r.LastError, "may have accepted") {
		t.Fatalf("got %+v, want uncertain", r)
	}
	makeDue(t, db, id)
	runOnce(t, s, 0)
	if got := len(srv.Messages()); got != 1 {
		t.Errorf("got %d messages, want the one the server received, never resent", got)
	}
	if recs := logs.records(t, "notice uncertain"); len(recs) != 1 || recs[0]["level"] != "WARN" {
		t.Errorf("got %v, want one warning about the uncertain notice", recs)
	}
}

func TestStuckSendingBecomesUncertainAndIsNeverSent(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	stuck := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
	busy := "reminder/ACME/2027/evaluate/SOUTH/1/acme.nurse.south"
	due := "escalation/ACME/2027/evaluate/NORTH/1/" + manager
	queue(t, db, stuck, nurse)
	queue(t, db, busy, "acme.nurse.south")
	queue(t, db, due, manager)
	// stuck: claimed an hour ago by a sender that died while handing its
	// message over; busy: claimed just now by a sender that is alive and
	// handing it over.
	if _, err := db.Exec(`
UPDATE notifications SET state = 'sending', attempts = 1, handed_over_at = now(),
    next_attempt_at = CASE WHEN id = $1 THEN now() - interval '1 hour' ELSE now() END
WHERE id IN ($1, $2)`, stuck, busy); err != nil {
		t.Fatal(err)
	}
	s, logs := sender(t, db, smtpURL(srv), func(c *notify.Config) { c.StuckAfter = 10 * time.Minute })

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	srv.WaitFor(t, 1, 10*time.Second)
	time.Sleep(100 * time.Millisecond) // a few more polls: nothing else may go
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v, want nil when its context ends", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}

	if r := get(t, db, stuck); r.State != notify.StateUncertain || r.Attempts != 1 || !strings.Contains(r.LastError, "may or may not have gone") {
		t.Errorf("stuck notice: got %+v, want uncertain", r)
	}
	if r := get(t, db, busy); r.State != notify.StateSending {
		t.Errorf("notice a live sender holds: got %+v, want still sending", r)
	}
	if r := get(t, db, due); r.State != notify.StateSent {
		t.Errorf("due notice: got %+v, want sent", r)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].Header.Get("Message-ID") != "<"+due+"@oho>" {
		t.Errorf("got %d messages, want only the due notice's", len(msgs))
	}
	recs := logs.records(t, "notices left sending")
	if len(recs) != 1 || recs[0]["level"] != "WARN" || recs[0]["notices"] != stuck {
		t.Errorf("got %v, want one warning naming %s", recs, stuck)
	}
	makeDue(t, db, stuck)
	runOnce(t, s, 0)
}

// TestDeadSenderBeforeHandOverIsSentAgain finds a notice left sending by a
// sender that died before it handed the message over (killed while it
// connected, say): the mail certainly did not go, so once a live sender
// would have finished it, it is pending again and mailed once. One claimed
// just now is left to the sender working on it.
func TestDeadSenderBeforeHandOverIsSentAgain(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	dead := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
	busy := "reminder/ACME/2027/evaluate/SOUTH/1/acme.nurse.south"
	queue(t, db, dead, nurse)
	queue(t, db, busy, "acme.nurse.south")
	if _, err := db.Exec(`
UPDATE notifications SET state = 'sending', attempts = 1,
    next_attempt_at = CASE WHEN id = $1 THEN now() - interval '1 minute' ELSE now() END
WHERE id IN ($1, $2)`, dead, busy); err != nil {
		t.Fatal(err)
	}
	s, logs := sender(t, db, smtpURL(srv), func(c *notify.Config) { c.BatchSize, c.SendTimeout = 1, 5*time.Second })
	uncertain, err := s.RecoverStuck(context.Background())
	if err != nil || len(uncertain) != 0 {
		t.Fatalf("RecoverStuck: %v, %v; want nothing uncertain", uncertain, err)
	}
	if r := get(t, db, dead); r.State != notify.StatePending || !strings.Contains(r.LastError, "stopped before handing it over") {
		t.Errorf("the dead sender's notice: got %+v, want pending again", r)
	}
	if r := get(t, db, busy); r.State != notify.StateSending {
		t.Errorf("the live sender's notice: got %+v, want still sending", r)
	}
	if recs := logs.records(t, "notices left sending by a sender that stopped before handing"); len(recs) != 1 || recs[0]["notices"] != dead {
		t.Errorf("got %v, want one warning naming %s", recs, dead)
	}
	runOnce(t, s, 1)
	if r := get(t, db, dead); r.State != notify.StateSent || r.Attempts != 2 {
		t.Errorf("the notice sent again: got %+v, want sent on its second attempt", r)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].Header.Get("Message-ID") != "<"+dead+"@oho>" {
		t.Errorf("got %d messages, want the dead sender's notice once", len(msgs))
	}
}

// TestTakenOverNoticeIsNotHandedOver has a sender lose its claim while it
// talks to the mail server — the notice was given back and claimed again
// by another sender — and checks that it does not send the end of the
// message: the server keeps nothing, and the notice is mailed once, by the
// sender that holds it now.
func TestTakenOverNoticeIsNotHandedOver(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	id := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
	queue(t, db, id, nurse)
	slow, _ := sender(t, db, smtpURL(srv), nil)
	// While the slow sender is in the conversation, the notice is taken
	// from it: its attempt count moves on, as a second claim makes it.
	srv.OnData(func() {
		if _, err := db.Exec(`UPDATE notifications SET attempts = attempts + 1 WHERE id = $1`, id); err != nil {
			t.Error(err)
		}
	})
	runOnce(t, slow, 1)
	if got := len(srv.Messages()); got != 0 {
		t.Fatalf("the sender that lost its claim handed the message over: %d messages", got)
	}
	if r := get(t, db, id); r.State != notify.StateSending || r.Attempts != 2 {
		t.Errorf("got %+v, want the notice still the other attempt's", r)
	}
}

func TestTwoSendersDeliverEachNoticeOnce(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	const n = 60
	people := []string{nurse, manager, "acme.head.north", "acme.nurse.south", "acme.editor", "acme.approver"}
	for i := range n {
		queue(t, db, fmt.Sprintf("reminder/ACME/2027/evaluate/NORTH/%02d/%s", i, people[i%len(people)]), people[i%len(people)])
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	logs := make([]*logBuffer, 2)
	for i := range logs {
		s, l := sender(t, db, smtpURL(srv), func(c *notify.Config) { c.BatchSize = 3; c.PollInterval = 5 * time.Millisecond })
		logs[i] = l
		wg.Go(func() {
			if err := s.Run(ctx); err != nil {
				t.Errorf("sender %d: %v", i, err)
			}
		})
	}
	srv.WaitFor(t, n, 30*time.Second)
	time.Sleep(100 * time.Millisecond) // a few more polls: nothing else may go
	cancel()
	wg.Wait()

	msgs := srv.Messages()
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.Header.Get("Message-ID")]++
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s delivered %d times, want once", id, k)
		}
	}
	if len(msgs) != n || len(seen) != n {
		t.Errorf("got %d messages for %d notices, want %d of each", len(msgs), len(seen), n)
	}
	var counts []int
	for _, l := range logs {
		counts = append(counts, len(l.records(t, "notice mailed")))
	}
	t.Logf("messages per sender: %v", counts)
	if counts[0]+counts[1] != n {
		t.Errorf("the senders report %v messages, want %d in all", counts, n)
	}
	var states []string
	if err := db.Select(&states, `SELECT DISTINCT state || '/' || attempts FROM notifications`); err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || states[0] != "sent/1" {
		t.Errorf("got states %v, want every notice sent after 1 attempt", states)
	}
}

func TestClaimSkipsNoticesLockedByAnotherSender(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	locked := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
	queue(t, db, locked, nurse)
	queue(t, db, "reminder/ACME/2027/evaluate/NORTH/1/"+manager, manager)
	queue(t, db, "reminder/ACME/2027/evaluate/NORTH/1/acme.editor", "acme.editor")
	s, _ := sender(t, db, smtpURL(srv), nil)

	// Another sender's claim, caught in the middle: it holds the row lock.
	tx, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SELECT id FROM notifications WHERE id = $1 FOR UPDATE`, locked); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := s.RunOnce(ctx)
	if err != nil || n != 2 {
		t.Fatalf("RunOnce beside a locked notice: got %d, %v; want the 2 others at once", n, err)
	}
	if r := get(t, db, locked); r.State != notify.StatePending || r.Attempts != 0 {
		t.Errorf("locked notice: got %+v, want untouched", r)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	runOnce(t, s, 1)
	if got := len(srv.Messages()); got != 3 {
		t.Errorf("got %d messages, want 3", got)
	}
}

// cancelOn is a log handler that cancels a context when a record's message
// starts with prefix: a way to stop a sender in the middle of a batch.
type cancelOn struct {
	slog.Handler
	prefix string
	cancel context.CancelFunc
}

func (h cancelOn) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, h.prefix) {
		h.cancel()
	}
	return h.Handler.Handle(ctx, r)
}

func (h cancelOn) WithAttrs(as []slog.Attr) slog.Handler {
	return cancelOn{h.Handler.WithAttrs(as), h.prefix, h.cancel}
}

func (h cancelOn) WithGroup(name string) slog.Handler {
	return cancelOn{h.Handler.WithGroup(name), h.prefix, h.cancel}
}

func TestStopMidBatchReturnsUnsentNotices(t *testing.T) {
	db := outbox(t)
	ids := []string{"a/" + nurse, "b/" + manager, "c/acme.editor"}
	for i, id := range ids {
		queue(t, db, id, []string{nurse, manager, "acme.editor"}[i])
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs logBuffer
	logger := slog.New(cancelOn{slog.NewJSONHandler(&logs, nil), "notice (logged", cancel})
	s, err := notify.New(db, notify.Config{BatchSize: 10}, logger)
	if err != nil {
		t.Fatal(err)
	}

	n, err := s.RunOnce(ctx)
	if n != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %d, %v; want 1 notice dealt with and context.Canceled", n, err)
	}
	if r := get(t, db, ids[0]); r.State != notify.StateLogged {
		t.Errorf("notice under way: got %+v, want logged", r)
	}
	for _, id := range ids[1:] {
		if r := get(t, db, id); r.State != notify.StatePending || r.Attempts != 0 {
			t.Errorf("notice %s: got %+v, want back to pending with no attempt counted", id, r)
		}
	}
}

func TestEmptyOutboxDoesNothing(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t)
	s, logs := sender(t, db, smtpURL(srv), nil)
	runOnce(t, s, 0)
	if got := len(srv.Messages()); got != 0 {
		t.Errorf("got %d messages, want 0", got)
	}
	if got := len(logs.records(t, "notice")); got != 0 {
		t.Errorf("got %d notice log records, want none:\n%s", got, logs)
	}
}

func TestStartTLSWithAuth(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{StartTLS: true, Username: "oho", Password: "s3cr3t-pw"})
	tlsConfig := func(c *notify.Config) { c.TLSConfig = srv.ClientTLSConfig() }

	t.Run("right password", func(t *testing.T) {
		db := outbox(t)
		id := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
		queue(t, db, id, nurse)
		s, _ := sender(t, db, smtpURL(srv, "&starttls=true"), tlsConfig)
		runOnce(t, s, 1)
		msgs := srv.WaitFor(t, 1, time.Second)
		if len(msgs) != 1 || !msgs[0].TLS || msgs[0].User != "oho" {
			t.Fatalf("got %+v, want one message over TLS from user oho", msgs)
		}
		if r := get(t, db, id); r.State != notify.StateSent {
			t.Errorf("got %+v, want sent", r)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		db := outbox(t)
		id := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
		queue(t, db, id, nurse)
		u := strings.Replace(smtpURL(srv, "&starttls=true"), "s3cr3t-pw", "wr0ng-pw", 1)
		s, logs := sender(t, db, u, tlsConfig)
		runOnce(t, s, 1)
		r := get(t, db, id)
		if r.State != notify.StatePending || !strings.Contains(r.LastError, "535") {
			t.Errorf("got %+v, want pending with the 535 reply as last error", r)
		}
		if strings.Contains(r.LastError+logs.String(), "wr0ng-pw") {
			t.Errorf("the password appears in the last error or the log:\n%s\n%s", r.LastError, logs)
		}
	})
}

func TestImplicitTLS(t *testing.T) {
	db := outbox(t)
	srv := smtptest.StartWith(t, smtptest.Options{ImplicitTLS: true})
	id := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
	queue(t, db, id, nurse)
	s, _ := sender(t, db, smtpURL(srv), func(c *notify.Config) { c.TLSConfig = srv.ClientTLSConfig() })
	runOnce(t, s, 1)
	if msgs := srv.Messages(); len(msgs) != 1 || !msgs[0].TLS {
		t.Fatalf("got %+v, want one message over TLS", msgs)
	}
}

func TestStartTLSNotOfferedSendsNothingInClear(t *testing.T) {
	db := outbox(t)
	srv := smtptest.Start(t) // no STARTTLS
	id := "reminder/ACME/2027/evaluate/NORTH/1/" + nurse
	queue(t, db, id, nurse)
	s, _ := sender(t, db, smtpURL(srv, "&starttls=true"), nil)
	runOnce(t, s, 1)
	if r := get(t, db, id); r.State != notify.StatePending || !strings.Contains(r.LastError, "does not offer STARTTLS") {
		t.Errorf("got %+v, want pending with last error naming STARTTLS", r)
	}
	if got := len(srv.Messages()); got != 0 {
		t.Errorf("got %d messages, want 0", got)
	}
}

// TestInvitationSecretLeavesTheOutbox queues an invitation as the store does
// (through the service's store method) and delivers it: by SMTP, where the
// mail carries the link, and in log-only mode, where the log does; either
// way the row holds no secret afterwards.
func TestInvitationSecretLeavesTheOutbox(t *testing.T) {
	for _, mode := range []string{"smtp", "log"} {
		t.Run(mode, func(t *testing.T) {
			db := outbox(t)
			const secret = "ohl_SecretSecretSecretSecretSecretSecret123"
			if _, err := store.New(db).Invite(context.Background(), "acme.manager", nurse, secret, strings.Repeat("ab", 32), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			var id string
			if err := db.Get(&id, `SELECT id FROM notifications WHERE kind = 'invitation'`); err != nil {
				t.Fatal(err)
			}
			var srv *smtptest.Server
			url := ""
			if mode == "smtp" {
				srv = smtptest.Start(t)
				url = smtpURL(srv)
			}
			s, logs := sender(t, db, url, nil)
			runOnce(t, s, 1)
			link := baseURL + "/password?token=" + secret
			if mode == "smtp" {
				msgs := srv.Messages()
				if len(msgs) != 1 {
					t.Fatalf("got %d messages, want 1", len(msgs))
				}
				if text, err := msgs[0].Text(); err != nil || !strings.Contains(text, link) {
					t.Errorf("the invitation mail lacks the link %s (%v):\n%s", link, err, text)
				}
			} else if recs := logs.records(t, "notice (logged"); len(recs) != 1 || !strings.Contains(fmt.Sprint(recs[0]["body"]), link) {
				t.Errorf("the log lacks the link: %v", recs)
			}
			var facts string
			if err := db.Get(&facts, `SELECT facts::text FROM notifications WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(facts, secret) || strings.Contains(facts, `"secret"`) || !strings.Contains(facts, `"invitation"`) {
				t.Errorf("after delivery the outbox row's facts are %s; want them without the secret", facts)
			}
		})
	}
}
