package service

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/lib/pq"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
)

// The kinds of refusal and failure. Every error the service returns wraps
// exactly one of them; test with errors.Is. The command line exits 1 for all
// of them; HTTP answers 422, 403, 404, 409, 503 and 401.
var (
	// ErrInvalid: the input breaks a rule; Fields says which fields.
	ErrInvalid = errors.New("invalid input")
	// ErrForbidden: the actor may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: what the request names does not exist (or is not the
	// actor's to know of).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request is valid but the state does not allow it
	// (a closed task, a cycle that exists, a provider not ready).
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: a service OHO needs (PostgreSQL, Temporal, a worker)
	// does not answer; the same request may succeed later.
	ErrUnavailable = errors.New("unavailable")
	// ErrUnauthenticated: a login failed, or a session or token is not (or
	// no longer) valid.
	ErrUnauthenticated = errors.New("unauthenticated")
)

// Error is a refusal or failure of a use case: its kind, a message for
// people (the same words on every front end) and, for invalid input, the
// problem of each field.
type Error struct {
	kind error
	msg  string
	// Fields maps the name of each invalid field (as the API and files
	// spell it: "provider", "outcome.findings[0].severity") to its problem.
	Fields map[string]string
	// Problems are the problems package check found in an invalid input,
	// each Field named as in Fields, so that a front end can say them in
	// its reader's words (those with a Tag). Refusals by the rules that
	// check does not know have none: their sentence is all there is.
	Problems []check.Problem
	err      error
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the kind and the cause.
func (e *Error) Unwrap() []error {
	if e.err == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.err}
}

// Kind returns the kind of err (one of the Err values), or nil for an error
// that is none of them.
func Kind(err error) error {
	for _, k := range []error{ErrInvalid, ErrForbidden, ErrNotFound, ErrConflict, ErrUnavailable, ErrUnauthenticated} {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}

// FieldsOf returns the field problems of an invalid-input error, or nil.
func FieldsOf(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// ProblemsOf returns the problems package check found in an invalid input,
// each with its field named as FieldsOf names it, or nil when the refusal
// has none (a refusal by the rules, of another kind, or no refusal).
func ProblemsOf(err error) []check.Problem {
	var e *Error
	if errors.As(err, &e) {
		return e.Problems
	}
	return nil
}

func errorOf(kind error, format string, args ...any) *Error {
	return &Error{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// invalid is a refusal of one field's value.
func invalid(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{kind: ErrInvalid, msg: msg, Fields: map[string]string{field: msg}}
}

// invalidInput turns an error from package check into an invalid-input
// error that lists its fields, each under prefix (the input's name, "config"
// or "outcome", or "" for the request itself), and keeps check's problems
// under the same names. Problems are introduced by what; a decoding error
// names its input already, and is listed under the input's name (or the
// field it names within it).
func invalidInput(what, prefix string, err error) error {
	e := &Error{kind: ErrInvalid, msg: err.Error(), Fields: map[string]string{}, err: err}
	var problems check.Problems
	if errors.As(err, &problems) {
		e.msg = what + ": " + err.Error()
		for _, p := range problems {
			p.Field = joinField(prefix, p.Field)
			e.Fields[p.Field] = p.Text
			e.Problems = append(e.Problems, p)
		}
		return e
	}
	name := prefix
	if name == "" {
		name = "body"
	}
	e.Fields[name] = err.Error()
	var dec *check.DecodeError
	if errors.As(err, &dec) {
		p := dec.Problem
		p.Field = name
		if dec.Problem.Field != "" {
			p.Field = joinField(prefix, dec.Problem.Field)
		}
		e.Problems = []check.Problem{p}
	}
	return e
}

// joinField names a field of an input named prefix ("" for the request
// itself).
func joinField(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

// fromStore gives an error of the store its kind: its sentinels map to the
// refusals, a database that does not answer to ErrUnavailable, and anything
// else is returned as it is (a failure the caller cannot mend: a bug, or a
// database in a state OHO does not expect).
func fromStore(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &Error{kind: ErrNotFound, msg: err.Error(), err: err}
	case errors.Is(err, store.ErrInvalid):
		return &Error{kind: ErrInvalid, msg: err.Error(), err: err}
	case errors.Is(err, store.ErrDuplicate), errors.Is(err, store.ErrNotReady), errors.Is(err, store.ErrNoCandidates),
		errors.Is(err, store.ErrTaskClosed), errors.Is(err, store.ErrCycleClosed), errors.Is(err, store.ErrCycleRunning):
		return &Error{kind: ErrConflict, msg: err.Error(), err: err}
	case unreachable(err):
		return &Error{kind: ErrUnavailable, msg: "PostgreSQL does not answer: " + err.Error(), err: err}
	}
	return err
}

// unreachable reports whether err says the database cannot be reached or
// went away: refused or broken connections, and the server shutting down or
// starting up.
func unreachable(err error) bool {
	var netErr net.Error
	var pqErr *pq.Error
	switch {
	case errors.As(err, &netErr), errors.Is(err, driver.ErrBadConn), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF):
		return true
	case errors.As(err, &pqErr):
		// Class 08: connection exception; 57P01-57P03: the server is
		// shutting down, crashed or not yet accepting connections.
		return pqErr.Code.Class() == "08" || pqErr.Code == "57P01" || pqErr.Code == "57P02" || pqErr.Code == "57P03"
	}
	return false
}

// refusalKinds gives each refusal type of the workflows' Update validators
// its kind.
var refusalKinds = map[string]error{
	workflows.RefusedUnknownTask:    ErrNotFound,
	workflows.RefusedTaskClosed:     ErrConflict,
	workflows.RefusedCycleClosed:    ErrConflict,
	workflows.RefusedNotAssignee:    ErrForbidden,
	workflows.RefusedNotAllowed:     ErrForbidden,
	workflows.RefusedInvalidOutcome: ErrInvalid,
	workflows.RefusedInvalidRequest: ErrInvalid,
}

// fromUpdate gives the error of an Update sent to a workflow its kind. what
// names the request for messages ("task X", "cycle Y").
func (s *Service) fromUpdate(ctx context.Context, what, workflowID string, err error) error {
	var appErr *temporal.ApplicationError
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &appErr) && refusalKinds[appErr.Type()] != nil:
		kind := refusalKinds[appErr.Type()]
		msg := appErr.Message()
		if kind != ErrInvalid {
			msg = "refused: " + msg
		}
		return &Error{kind: kind, msg: msg, err: err}
	case errors.As(err, &notFound):
		return errorOf(ErrConflict, "%s cannot be changed: its workflow %s is no longer running", what, workflowID)
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{kind: ErrUnavailable, msg: s.whyUnanswered(ctx, what), err: err}
	}
	return fromTemporal(fmt.Sprintf("sending %s to Temporal", what), err)
}

// whyUnanswered says why a change was not answered within the update
// timeout, from what can be seen now: the database the worker writes to
// does not answer (the change waits in its workflow and is recorded once
// the database is back), no worker polls the task queue, or workers do but
// did not answer. Sending the change again is safe in every case.
func (s *Service) whyUnanswered(ctx context.Context, what string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.Ready(ctx); err != nil {
		return fmt.Sprintf("%s is not recorded yet: %v, so the worker cannot write it; it is written once the database is back, and sending it again then is safe", what, err)
	}
	switch n := *s.workers(ctx); {
	case n == 0:
		return fmt.Sprintf("no worker answered within %s for %s: none is polling task queue %s; is the worker running (bin/worker)?", s.updateTimeout, what, s.queue)
	case n > 0:
		return fmt.Sprintf("no worker answered within %s for %s, though %d poll task queue %s: they may be overloaded or failing (see their logs); sending it again is safe", s.updateTimeout, what, n, s.queue)
	}
	return fmt.Sprintf("no worker answered within %s for %s: is the worker running (bin/worker)?", s.updateTimeout, what)
}

// fromTemporal gives an error of the Temporal client its kind: a server that
// does not answer is ErrUnavailable.
func fromTemporal(doing string, err error) error {
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	if errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.Is(err, context.DeadlineExceeded) || unreachable(err) {
		return &Error{kind: ErrUnavailable, msg: fmt.Sprintf("%s: Temporal does not answer: %s", doing, strings.TrimSpace(workflows.Reason(err))), err: err}
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// personError says plainly that a person is unknown.
func personError(id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return &Error{kind: ErrNotFound, msg: fmt.Sprintf("there is no person %s", check.Quote(id)), err: err}
	}
	return fromStore(err)
}

// taskError says plainly that a task is unknown.
func taskError(id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return &Error{kind: ErrNotFound, msg: fmt.Sprintf("there is no task %s", check.Quote(id)), err: err}
	}
	return fromStore(err)
}
