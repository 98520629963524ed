package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/review"
)

// Limits of what people type into a request's own fields.
const (
	// MaxReason is the longest reason (for a reassignment, an extension, a
	// cancellation) in characters.
	MaxReason = 1000
)

// checkProvider refuses a provider code that cannot be one.
func checkProvider(provider string) error {
	if !check.Code(provider) {
		return invalid("provider", "provider %s is not a provider code (1-32 letters, digits, '-' or '_')", check.Quote(provider))
	}
	return nil
}

// checkCycle refuses a provider code or a year that cannot name a cycle.
func checkCycle(provider string, year int) error {
	if err := checkProvider(provider); err != nil {
		return err
	}
	if year < 2000 || year > 2999 {
		return invalid("year", "year %d is not a year between 2000 and 2999", year)
	}
	return nil
}

// listProvider checks the provider and year a list is filtered by, and
// returns the provider to list: the one asked for, or the actor's own when
// none is (every provider's, "", for the operator). A year of 0 lists every
// year.
func (a Actor) listProvider(provider string, year int) (string, error) {
	if provider == "" && !a.operator {
		provider = a.Person.Provider
	}
	if provider != "" {
		if err := checkProvider(provider); err != nil {
			return "", err
		}
	}
	if year != 0 && (year < 2000 || year > 2999) {
		return "", invalid("year", "year %d is not a year between 2000 and 2999", year)
	}
	return provider, nil
}

// checkPerson refuses a person ID that cannot be one; field names it.
func checkPerson(field, id string) error {
	if !check.Person(id) {
		return invalid(field, "%s %s is not a person ID (lower-case letters, digits, '.', '-', '_')", field, check.Quote(id))
	}
	return nil
}

// checkReason refuses a reason that is missing (when required) or too long,
// and returns it trimmed.
func checkReason(what, reason string, required bool) (string, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case required && reason == "":
		return "", invalid("reason", "%s needs a reason", what)
	case utf8.RuneCountInString(reason) > MaxReason:
		return "", invalid("reason", "the reason may be at most %d characters", MaxReason)
	case !utf8.ValidString(reason) || strings.IndexFunc(reason, notInReason) >= 0:
		return "", invalid("reason", "the reason contains characters that are not text (a NUL or another control character)")
	}
	return reason, nil
}

// Limits of a cycle's durations (review.Config's phases and reminders),
// beyond being more than zero.
const (
	// MaxPhase is the longest a task may be open, and the longest before
	// its due time a reminder may come: a year, leap day included, as
	// cycles are yearly.
	MaxPhase = 366 * 24 * time.Hour
	// MinEvery is how often, at most, an overdue task is reminded of and
	// escalated again: every reminder mails its assignee and every
	// manager, so that a config of "1ns" would flood them (and the
	// workflow's history). The demo reminds every minute.
	MinEvery = time.Minute
)

// checkExtension refuses an extension that moves a task's due time more
// than MaxPhase past the later of now and its current due time: an
// extension by "2562047h" or to 9999-12-31 is a slip of the keyboard, not
// a deadline, and a cycle is yearly.
func checkExtension(current, due, now time.Time) error {
	from := now
	if current.After(from) {
		from = current
	}
	if due.After(from.Add(MaxPhase)) {
		return invalid("due_at", "the new due time %s is more than a year away: a task may be extended to at most %s",
			due.UTC().Format(time.RFC3339), from.Add(MaxPhase).UTC().Format("2006-01-02 15:04 UTC"))
	}
	return nil
}

// notInReason is a character a reason may not hold: a control character
// other than tab and line feed (a reason goes into the audit trail, mails
// and the command line's tables, where an escape sequence would act).
func notInReason(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f
}

// checkConfig validates a cycle's configuration as it arrives (a file, a
// request, a form): its own rules (review.Config.Validate, which the
// workflows apply again), then the stricter rules of new input (text, and
// durations within MaxPhase and MinEvery), which only the boundary applies,
// so that a config accepted before them (a yearly schedule's standing
// config) keeps working.
func checkConfig(cfg review.Config) error {
	if err := cfg.Validate(); err != nil {
		return invalidInput("the cycle config", "config", err)
	}
	if err := check.Strict(cfg); err != nil {
		return invalidInput("the cycle config", "config", err)
	}
	var problems check.Problems
	for _, d := range []struct {
		field string
		v     review.Duration
		min   time.Duration
	}{
		{"phases.evaluate", cfg.Phases.Evaluate, 0}, {"phases.consult", cfg.Phases.Consult, 0},
		{"phases.update", cfg.Phases.Update, 0}, {"phases.signoff", cfg.Phases.SignOff, 0},
		{"phases.approve", cfg.Phases.Approve, 0},
		{"reminders.before", cfg.Reminders.Before, 0}, {"reminders.every", cfg.Reminders.Every, MinEvery},
	} {
		v := time.Duration(d.v)
		switch {
		case v == 0:
		case v > MaxPhase:
			problems = append(problems, check.Problem{Field: d.field, Tag: "lte", Param: "8784h",
				Text: fmt.Sprintf("%s %s is longer than a year: it may be at most 8784h (366 days)", d.field, v)})
		case v < d.min:
			problems = append(problems, check.Problem{Field: d.field, Tag: "gte", Param: d.min.String(),
				Text: fmt.Sprintf("%s %s is too often: an overdue task is reminded of and escalated to every manager at most every %s", d.field, v, d.min)})
		}
	}
	if len(problems) > 0 {
		return invalidInput("the cycle config", "config", problems)
	}
	return nil
}

// DecodeConfig reads a cycle config strictly (unknown fields refused) and
// validates it as checkConfig does; what names the input in messages (a
// file's path).
func DecodeConfig(raw []byte, what string) (review.Config, error) {
	var cfg review.Config
	if err := check.Decode(raw, what, &cfg); err != nil {
		return review.Config{}, invalidInput(what, "config", err)
	}
	if err := checkConfig(cfg); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.msg = what + strings.TrimPrefix(e.msg, "the cycle config")
		}
		return review.Config{}, err
	}
	return cfg, nil
}

// outcomeOf returns a new outcome of the kind's type, to decode into.
func outcomeOf(kind review.TaskKind) (any, error) {
	switch kind {
	case review.KindEvaluate:
		return &review.Evaluation{}, nil
	case review.KindConsult:
		return &review.Consultation{}, nil
	case review.KindDraft:
		return &review.Draft{}, nil
	case review.KindSignOff:
		return &review.SignOff{}, nil
	case review.KindApprove:
		return &review.Approval{}, nil
	}
	return nil, errorOf(ErrConflict, "tasks of kind %q cannot be completed", kind)
}

// MaxOutcome bounds a task's outcome as sent, before it is decoded: the
// largest a draft can rightly be (30 sections of 20,000 characters, with
// its answers) fits, and what reaches Temporal stays well below its limit
// on a request's size.
const MaxOutcome = 1 << 20

// checkOutcome decodes an outcome strictly into the type of the task's kind
// and checks it against its validation tags, so that a malformed outcome is
// refused with every field named before it reaches the workflow, whose
// validator then applies the rules that need the cycle's state.
func checkOutcome(taskID string, kind review.TaskKind, raw json.RawMessage) error {
	v, err := outcomeOf(kind)
	if err != nil {
		return err
	}
	what := "the outcome of task " + taskID
	// Far too large to read at all; else read it, so that a field over its
	// limit is named; then the whole.
	switch {
	case len(raw) > 16*MaxOutcome:
		return invalid("outcome", "%s is %d bytes; an outcome may be at most %d KiB", what, len(raw), MaxOutcome>>10)
	case !utf8.Valid(raw):
		return invalid("outcome", "%s is not valid UTF-8 text", what)
	}
	if err := check.Decode(raw, what, v); err != nil {
		return invalidInput(what, "outcome", err)
	}
	if err := check.Strict(v); err != nil {
		return invalidInput("outcome of task "+taskID, "outcome", err)
	}
	if len(raw) > MaxOutcome {
		return invalid("outcome", "%s is %d bytes; an outcome may be at most %d KiB", what, len(raw), MaxOutcome>>10)
	}
	return nil
}
