package service

import (
	"encoding/json"
	"strings"
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
		return invalid("provider", "provider %q is not a provider code (1-32 letters, digits, '-' or '_')", provider)
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
		return invalid(field, "%s %q is not a person ID (lower-case letters, digits, '.', '-', '_')", field, id)
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
	case !utf8.ValidString(reason) || strings.ContainsRune(reason, 0):
		return "", invalid("reason", "the reason contains characters that are not text")
	}
	return reason, nil
}

// checkConfig validates a cycle's configuration.
func checkConfig(cfg review.Config) error {
	if err := cfg.Validate(); err != nil {
		return invalidInput("the cycle config", "config", err)
	}
	return nil
}

// DecodeConfig reads a cycle config strictly (unknown fields refused) and
// validates it; what names the input in messages (a file's path).
func DecodeConfig(raw []byte, what string) (review.Config, error) {
	var cfg review.Config
	if err := check.Decode(raw, what, &cfg); err != nil {
		return review.Config{}, invalidInput(what, "config", err)
	}
	if err := cfg.Validate(); err != nil {
		return review.Config{}, invalidInput(what, "config", err)
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
	if err := check.Struct(v); err != nil {
		return invalidInput("outcome of task "+taskID, "outcome", err)
	}
	if len(raw) > MaxOutcome {
		return invalid("outcome", "%s is %d bytes; an outcome may be at most %d KiB", what, len(raw), MaxOutcome>>10)
	}
	return nil
}
