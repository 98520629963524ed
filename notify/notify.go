// Package notify delivers the notices OHO queues in its outbox, the
// notifications table: by SMTP when SMTP_URL is set, otherwise to the log.
//
// The store queues a notice in the transaction of the change it announces,
// under a deterministic ID, so a change and its notice are committed together
// and a retried change queues nothing twice. This package moves each notice
// through these states:
//
//	pending ──claim──▶ sending ──▶ sent       accepted by the SMTP server (250 to the data)
//	   ▲                  │    ──▶ logged     log-only mode, or the person has no address
//	   └── definite ──────┤    ──▶ failed     MaxAttempts definite failures, an unusable address,
//	       failure, or    │                   or a notice that cannot be written
//	       its sender     │
//	       died before    │
//	       the hand-over  └────▶ uncertain    the mail may have gone: never sent again automatically
//
// # Words
//
// The store queues what a notice is about (review.NoticeFacts), not its
// text; this package writes the subject and body when it delivers the
// notice (text.go), in Finnish and English, with a link to the web page
// under Config.BaseURL where the task or plan is seen and acted on. Its
// times are written in the provider's time zone as it is at delivery, each
// language's text as its readers write times (render.When). Notices
// queued before the outbox stored facts carry their subject and body and
// are delivered with that text unchanged. A notice this sender cannot write
// (a kind it does not know, facts missing what its text needs) fails at
// once with the reason as its last error, since no attempt by this sender
// would do better; one of a kind queued by a newer OHO can be set back to
// pending once a sender that knows the kind runs.
//
// # Never twice
//
// A notice is claimed (pending → sending, attempts + 1) in a committed
// statement before a byte of it goes to the SMTP server, and only a definite
// failure brings it back to pending: the server could not be reached, or it
// refused with a 4xx or 5xx reply before accepting the message (at the
// latest, the reply to the end of the data). Just before it sends the end of
// the data — the moment after which the server may have the message — the
// sender records that it is handing the message over (handed_over_at), under
// the attempt it claimed, and goes on only if that attempt is still the
// notice's. A sender that died before that moment sent nothing the server
// keeps: Run gives such a notice back to pending once a live sender would
// have finished it, and it is sent once, by whichever sender claims it.
// Anything else is ambiguous and makes the notice uncertain: a connection
// lost after the end of the data was sent and before the reply came, or a
// sender that died while handing the message over (Run marks such notices
// uncertain once they have been sending for longer than Config.StuckAfter). Uncertain notices are logged as
// warnings and never resent automatically; after checking the recipient's
// mailbox, an operator resends one with
//
//	UPDATE notifications SET state = 'pending', next_attempt_at = now() WHERE id = '…' AND state = 'uncertain';
//
// or closes it with state = 'sent'. Every message carries the Message-ID
// <notice-id@oho>, identical on every attempt, so a receiver can discard a
// duplicate that a resent uncertain notice would make.
//
// A sender stopped through its context finishes the notice under way and
// returns the rest of its claimed batch to pending, so an orderly shutdown
// leaves nothing uncertain.
//
// # Several senders
//
// Any number of senders may share one database: a claim takes due pending
// rows with FOR UPDATE SKIP LOCKED, so two senders never claim the same
// notice, and each outcome is recorded only if the row is still the attempt
// this sender claimed (same attempts count).
package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/oho-dev/oho/metrics"
)

// Notice states, as stored in notifications.state.
const (
	StatePending   = "pending"
	StateSending   = "sending"
	StateSent      = "sent"
	StateLogged    = "logged"
	StateFailed    = "failed"
	StateUncertain = "uncertain"
)

// Sender delivers the outbox. It is safe to run several, in one process or
// many, over the same database.
type Sender struct {
	db     *sqlx.DB
	cfg    Config
	smtp   *smtpTarget // nil in log-only mode
	tls    *tls.Config // for STARTTLS and smtps; nil when mail goes in clear
	from   *mail.Address
	logger *slog.Logger
}

// New returns a Sender over an open database. The configuration's zero
// values take their defaults; an SMTP URL that cannot be used, or mail
// without a sender address, is an error that never contains the password. A
// nil logger means slog.Default().
func New(db *sqlx.DB, cfg Config, logger *slog.Logger) (*Sender, error) {
	if db == nil {
		return nil, errors.New("notice sender: no database")
	}
	if logger == nil {
		logger = slog.Default()
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Sender{db: db, cfg: cfg, logger: logger}
	if cfg.SMTPURL == "" {
		return s, nil
	}
	target, tlsCfg, err := cfg.smtpSetup()
	if err != nil {
		return nil, err
	}
	from := cfg.From
	if from == "" {
		from = target.from
	}
	if from == "" {
		return nil, errors.New("notice sender: mail needs a sender address: set Config.From or add ?from=address to SMTP_URL")
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("notice sender: the sender address %q is not an e-mail address: %v", from, err)
	}
	s.smtp, s.tls, s.from = &target, tlsCfg, addr
	return s, nil
}

// notice is a claimed row of the outbox.
type notice struct {
	ID       string `db:"id"`
	Provider string `db:"provider_code"`
	Person   string `db:"person_id"`
	Email    string `db:"email"`
	Kind     string `db:"kind"`
	TaskID   string `db:"task_id"`
	CycleID  string `db:"cycle_id"`
	// Facts is what the notice is about (review.NoticeFacts as JSON), from
	// which its text is written; nil for a notice queued before the outbox
	// stored facts, which has its Subject and Body instead.
	Facts     []byte    `db:"facts"`
	Subject   string    `db:"subject"`
	Body      string    `db:"body"`
	Attempts  int       `db:"attempts"`
	CreatedAt time.Time `db:"created_at"`
	// TimeZone is the provider's time zone at delivery, in which the
	// notice's times are written.
	TimeZone string `db:"time_zone"`
}

// Run delivers notices until ctx ends, then returns nil. It first recovers
// the notices left sending by dead senders (RecoverStuck), and does so again
// every BatchSize × SendTimeout (at most every half StuckAfter). A database that cannot be reached is logged and tried
// again at the next poll, so the sender outlives a database restart; an
// error comes back only when retrying cannot help (the notifications table
// is missing or may not be written).
func (s *Sender) Run(ctx context.Context) error {
	if s.smtp == nil {
		s.logger.Info("notice sender running in log-only mode (SMTP_URL not set)", "links", s.cfg.BaseURL)
	} else {
		s.logger.Info("notice sender running", "smtp", s.smtp.describe(), "from", s.from.Address, "links", s.cfg.BaseURL)
	}
	var nextRecovery time.Time
	for {
		if now := time.Now(); !now.Before(nextRecovery) {
			if _, err := s.RecoverStuck(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if permanent(err) {
					return err
				}
				s.logger.Error("notice sender: looking for stuck notices failed; trying again later", "error", err)
			}
			nextRecovery = now.Add(max(min(s.cfg.StuckAfter/2, s.busy()), s.cfg.PollInterval))
		}
		n, err := s.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if permanent(err) {
				return err
			}
			s.logger.Error("notice sender: delivering failed; trying again later", "error", err, "retry_in", s.cfg.PollInterval)
		} else if n == s.cfg.BatchSize {
			continue // there may be more due right now
		}
		t := time.NewTimer(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// permanent reports whether a database error will not go away by retrying:
// SQLSTATE class 42, such as a missing table or a missing privilege.
func permanent(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code.Class() == "42"
}

// RunOnce claims one batch of due notices, delivers each and records the
// outcome, and returns how many notices it dealt with; 0 means nothing was
// due. If ctx ends during the batch, the notice under way is finished, the
// rest go back to pending, and the error is ctx's.
func (s *Sender) RunOnce(ctx context.Context) (int, error) {
	batch, err := s.claim(ctx)
	if err != nil {
		return 0, err
	}
	for i, n := range batch {
		if ctx.Err() != nil {
			return i, errors.Join(ctx.Err(), s.release(context.WithoutCancel(ctx), batch[i:]))
		}
		if err := s.handle(ctx, n); err != nil {
			// The database did not take the outcome; delivering more now
			// would only make more notices whose outcome is unknown.
			return i, errors.Join(err, s.release(context.WithoutCancel(ctx), batch[i+1:]))
		}
	}
	return len(batch), nil
}

// claim moves up to BatchSize due pending notices to sending and returns
// them, oldest first. The statement commits on its own, before anything is
// sent: from then on the notices are this sender's, and a crash leaves them
// sending, not pending. While a notice is sending, next_attempt_at holds the
// time of its claim, which is what StuckAfter is measured from.
func (s *Sender) claim(ctx context.Context) ([]notice, error) {
	// MATERIALIZED makes PostgreSQL run the locking subquery exactly once.
	const q = `
WITH due AS MATERIALIZED (
    SELECT id FROM notifications
    WHERE state = 'pending' AND next_attempt_at <= now()
    ORDER BY next_attempt_at, id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE notifications n
SET state = 'sending', attempts = n.attempts + 1, next_attempt_at = now(), handed_over_at = NULL
FROM due, providers p
WHERE n.id = due.id AND n.state = 'pending' AND p.code = n.provider_code
RETURNING n.id, n.provider_code, n.person_id, n.email, n.kind,
          COALESCE(n.task_id, '') AS task_id, COALESCE(n.cycle_id, '') AS cycle_id,
          n.facts, COALESCE(n.subject, '') AS subject, COALESCE(n.body, '') AS body,
          n.attempts, n.created_at, p.time_zone`
	var batch []notice
	if err := sqlx.SelectContext(ctx, s.db, &batch, q, s.cfg.BatchSize); err != nil {
		return nil, fmt.Errorf("claiming due notices: %w", err)
	}
	slices.SortFunc(batch, func(a, b notice) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return batch, nil
}

// release gives claimed notices that were not attempted back to pending,
// undoing their claim's attempt count.
func (s *Sender) release(ctx context.Context, batch []notice) error {
	if len(batch) == 0 {
		return nil
	}
	ids := make([]string, len(batch))
	for i, n := range batch {
		ids[i] = n.ID
	}
	const q = `
UPDATE notifications
SET state = 'pending', attempts = attempts - 1, next_attempt_at = now()
WHERE id = ANY($1) AND state = 'sending'`
	return s.exec(ctx, "releasing unsent notices", q, pq.Array(ids))
}

// handle writes the text of one claimed notice, delivers it and records the
// outcome; a notice that cannot be written fails. The notice is finished
// even if ctx ends meanwhile: an SMTP conversation cut short could
// leave it uncertain. The error is the database's, when it did not take the
// outcome.
func (s *Sender) handle(ctx context.Context, n notice) error {
	ctx = context.WithoutCancel(ctx)
	log := s.logger.With("notice", n.ID, "kind", n.Kind, "person", n.Person, "attempt", n.Attempts)

	msg, err := text(n, s.cfg.BaseURL)
	if err != nil {
		log.Error("notice failed: it cannot be written", "error", err)
		return s.finish(ctx, n, StateFailed, err.Error())
	}
	switch {
	case s.smtp == nil:
		// No mail server: the log stands in for the mail, whole (a
		// development setting; README, "Personal data").
		s.logger.Info("notice (logged, not mailed)", "why", "SMTP_URL not set", "notice", n.ID, "kind", n.Kind,
			"provider", n.Provider, "person", n.Person, "email", n.Email, "task", n.TaskID, "cycle", n.CycleID,
			"subject", msg.Subject, "body", msg.Body)
		return s.finish(ctx, n, StateLogged, "")
	case n.Email == "":
		// Mail goes out, but not to this person: the log says so in codes,
		// and holds none of the text.
		s.logger.Info("notice (logged, not mailed)", "why", "no e-mail address", "notice", n.ID, "kind", n.Kind,
			"provider", n.Provider, "person", n.Person, "task", n.TaskID, "cycle", n.CycleID)
		return s.finish(ctx, n, StateLogged, "")
	}

	err = s.deliver(ctx, n, msg, func() error { return s.handOver(ctx, n) })
	var amb *ambiguousError
	var bad *unusableError
	switch {
	case err == nil:
		log.Info("notice mailed")
		return s.finish(ctx, n, StateSent, "")
	case errors.As(err, &amb):
		log.Warn("notice uncertain: the mail may have gone, so it will not be sent again automatically; check the mailbox, then set the notice's state to pending to resend it or to sent",
			"error", err)
		return s.finish(ctx, n, StateUncertain, err.Error())
	case errors.As(err, &bad):
		log.Error("notice failed: it cannot be mailed", "error", err)
		return s.finish(ctx, n, StateFailed, err.Error())
	case n.Attempts >= s.cfg.MaxAttempts:
		log.Error("notice failed: no attempts left", "attempts", n.Attempts, "error", err)
		return s.finish(ctx, n, StateFailed, err.Error())
	default:
		wait := s.backoff(n.Attempts)
		log.Warn("notice not delivered; will try again", "error", err, "retry_in", wait)
		const q = `
UPDATE notifications
SET state = 'pending', last_error = $3, next_attempt_at = now() + $4 * interval '1 microsecond'
WHERE id = $1 AND attempts = $2 AND state IN ('sending', 'uncertain')`
		return s.exec(ctx, "rescheduling notice "+n.ID, q, n.ID, n.Attempts, truncate(err.Error()), wait.Microseconds())
	}
}

// errTakenOver is why a notice is not handed over: the attempt this sender
// claimed is no longer the notice's.
var errTakenOver = errors.New("the notice is no longer this sender's attempt: another sender took it over")

// handOver records that the message of the attempt this sender claimed is
// being handed over to the mail server, if the attempt is still the
// notice's (RecoverStuck may have given it back, and another sender may
// have claimed it). Only then does deliver send the end of the data.
func (s *Sender) handOver(ctx context.Context, n notice) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	const q = `UPDATE notifications SET handed_over_at = now() WHERE id = $1 AND attempts = $2 AND state = 'sending'`
	res, err := s.db.ExecContext(ctx, q, n.ID, n.Attempts)
	if err != nil {
		return fmt.Errorf("recording the hand-over: %w", err)
	}
	if rows, err := res.RowsAffected(); err != nil || rows != 1 {
		return errTakenOver
	}
	return nil
}

// backoff is the wait after the attempt-th failed attempt: RetryBase,
// doubled for each earlier failure, at most RetryMax.
func (s *Sender) backoff(attempt int) time.Duration {
	d := s.cfg.RetryBase
	for i := 1; i < attempt && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.RetryMax)
}

// finish records a final outcome of the attempt this sender claimed. A
// notice that RecoverStuck marked uncertain meanwhile is corrected: this
// sender knows what happened. An invitation's secret leaves the outbox in
// the same statement: it was only kept for delivery.
func (s *Sender) finish(ctx context.Context, n notice, state, lastError string) error {
	const q = `
UPDATE notifications
SET state = $3, last_error = $4,
    sent_at = CASE WHEN $3 IN ('sent', 'logged') THEN now() END,
    facts = facts - 'secret'
WHERE id = $1 AND attempts = $2 AND state IN ('sending', 'uncertain')`
	err := s.exec(ctx, "recording notice "+n.ID+" as "+state, q, n.ID, n.Attempts, state, truncate(lastError))
	if err == nil {
		metrics.NoticeFinished(state)
	}
	return err
}

// exec runs a statement that records an outcome, trying a few times over
// some seconds: the message has been dealt with, and losing its outcome to a
// blip of the database would leave the notice to become uncertain.
func (s *Sender) exec(ctx context.Context, what, q string, args ...any) error {
	var err error
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = s.db.ExecContext(actx, q, args...)
		cancel()
		if err == nil || permanent(err) || attempt == 4 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, errors.Join(err, ctx.Err()))
		case <-time.After(wait):
		}
		wait *= 3
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// RecoverStuck deals with the notices left sending by a sender that died
// (or hung), and returns the IDs of those it made uncertain. One whose
// message the sender had not begun to hand over to the mail server
// (handed_over_at unset) certainly did not go: once it has been sending for
// longer than a live sender takes over a batch (BatchSize × SendTimeout), it
// is pending again, to be sent by any sender, and the sender that held it,
// should it be alive after all, will not hand it over (handOver). One whose
// message was being handed over may have gone: after StuckAfter it becomes
// uncertain, with a warning naming it. Run calls it at start and
// periodically.
func (s *Sender) RecoverStuck(ctx context.Context) ([]string, error) {
	const qPending = `
UPDATE notifications
SET state = 'pending', next_attempt_at = now(),
    last_error = 'the sender stopped before handing it over (sending since ' || to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC); it is sent again'
WHERE state = 'sending' AND handed_over_at IS NULL AND next_attempt_at < now() - $1 * interval '1 microsecond'
RETURNING id`
	again := []string{}
	if err := sqlx.SelectContext(ctx, s.db, &again, qPending, s.busy().Microseconds()); err != nil {
		return nil, fmt.Errorf("sending again stuck notices: %w", err)
	}
	if len(again) > 0 {
		slices.Sort(again)
		s.logger.Warn("notices left sending by a sender that stopped before handing them over are pending again, to be sent once",
			"count", len(again), "notices", strings.Join(again, ", "))
	}
	const qUncertain = `
UPDATE notifications
SET state = 'uncertain', facts = facts - 'secret',
    last_error = 'the sender stopped while handing it over (sending since ' || to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC); the mail may or may not have gone'
WHERE state = 'sending' AND handed_over_at IS NOT NULL AND next_attempt_at < now() - $1 * interval '1 microsecond'
RETURNING id`
	ids := []string{}
	if err := sqlx.SelectContext(ctx, s.db, &ids, qUncertain, s.cfg.StuckAfter.Microseconds()); err != nil {
		return nil, fmt.Errorf("marking stuck notices uncertain: %w", err)
	}
	if len(ids) > 0 {
		metrics.NoticesUncertain(len(ids))
		slices.Sort(ids)
		s.logger.Warn("notices left sending by a sender that stopped are now uncertain and will not be sent again automatically; check the mailboxes, then set each notice's state to pending to resend it or to sent",
			"count", len(ids), "notices", strings.Join(ids, ", "), "stuck_after", s.cfg.StuckAfter)
	}
	return ids, nil
}

// busy is the longest a live sender works on a claimed batch.
func (s *Sender) busy() time.Duration {
	return time.Duration(s.cfg.BatchSize) * s.cfg.SendTimeout
}

// truncate keeps an error text short enough for last_error.
func truncate(s string) string {
	const limit = 1000
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
