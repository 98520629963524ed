// Package service is every use case a person can perform in OHO, each taking
// the authenticated actor first: starting and steering cycles, completing
// tasks, reading plans, reports and the audit trail, importing the
// organisation. Every front end — the command line, the web pages, the HTTP
// API — parses its input, calls a method here, and presents the result; none
// holds a business rule or an authorization decision of its own.
//
// Every method asks authz.Check, reads included: a person sees only their own
// provider, students' representatives their unit's tasks and the published
// plan, auditors everything of their provider. Refusals and failures are
// *Error values of one of the kinds ErrInvalid, ErrForbidden, ErrNotFound,
// ErrConflict, ErrUnavailable and ErrUnauthenticated, which the command line
// maps to exit statuses and HTTP to status codes.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/payloadcrypt"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
)

// Config is what a Service needs.
type Config struct {
	// Store is OHO's database.
	Store *store.Store
	// Temporal returns the client of the Temporal server, dialling it on
	// first use: the command line reads the database without Temporal.
	Temporal func(context.Context) (client.Client, error)
	// TaskQueue is the queue the workers poll (connect.TaskQueue).
	TaskQueue string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// TemporalUI is the address of the Temporal Web UI, for links to
	// workflow histories; Namespace is the Temporal namespace.
	TemporalUI string
	Namespace  string
	// UpdateTimeout bounds how long a change waits for a worker to record
	// it; 60 s when zero.
	UpdateTimeout time.Duration
	// Logger takes what the service notices but need not refuse for, such
	// as a started cycle it could not record before a worker does;
	// slog.Default() when nil.
	Logger *slog.Logger
	// Payloads is the codec of the payload keys (the Temporal client's):
	// the codec server and the audit export decrypt with it. Nil: no keys,
	// so encrypted payloads are refused, saying which key they need.
	Payloads *payloadcrypt.Codec
}

// DefaultUpdateTimeout bounds how long a change waits for the worker.
// Recording takes well under a second, but a worker that died mid-task is
// replaced only after the workflow task and activity timeouts (10 s each); a
// longer wait means no worker is running.
const DefaultUpdateTimeout = 60 * time.Second

// Service runs OHO's use cases. It is safe for concurrent use.
type Service struct {
	store         *store.Store
	temporal      func(context.Context) (client.Client, error)
	queue         string
	now           func() time.Time
	ui, namespace string
	updateTimeout time.Duration
	log           *slog.Logger
	payloads      *payloadcrypt.Codec
	// hashing limits the Argon2id computations of logins running at once.
	hashing chan struct{}
	// pruned is when login attempts were last pruned (Unix seconds).
	pruned atomic.Int64
	// decoded is when the audit trail last recorded that a person read a
	// provider's payloads through the codec server (recordDecoding), by
	// person and provider.
	decodedMu sync.Mutex
	decoded   map[string]time.Time
}

// New returns a Service over the configured store and Temporal server.
func New(cfg Config) *Service {
	s := &Service{
		store: cfg.Store, temporal: cfg.Temporal, queue: cfg.TaskQueue, now: cfg.Now,
		ui: strings.TrimRight(cfg.TemporalUI, "/"), namespace: cfg.Namespace, updateTimeout: cfg.UpdateTimeout,
		log: cfg.Logger, payloads: cfg.Payloads,
	}
	if s.payloads == nil {
		s.payloads = payloadcrypt.New(nil, nil)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.queue == "" {
		s.queue = workflows.TaskQueue
	}
	if s.ui == "" {
		s.ui = "http://localhost:8233"
	}
	if s.namespace == "" {
		s.namespace = client.DefaultNamespace
	}
	if s.updateTimeout == 0 {
		s.updateTimeout = DefaultUpdateTimeout
	}
	s.hashing = make(chan struct{}, max(2, runtime.NumCPU()))
	s.decoded = map[string]time.Time{}
	return s
}

// Actor is who a use case runs for: a person who logged in, a person's API
// token, the operator acting for a person at the command line, or the
// operator acting as themselves. Build one with Service.Act, Operator, or
// the identity methods (sessions and tokens).
type Actor struct {
	// Person is the person acting; empty for the operator acting as
	// themselves.
	Person store.Person
	// Via is how they came, for the audit trail.
	Via review.Via
	// operator is set for the operator acting as themselves: reads and
	// administration of every provider, nobody's work.
	operator bool
	// readOnly is set for API tokens scoped to reading.
	readOnly bool
}

// ActorOperator is the actor recorded for the operator acting as
// themselves; people cannot have this ID (see store.Org.Validate).
const ActorOperator = store.ActorOperator

// Operator is the operator at the server's command line acting as
// themselves, who came via via (the command line and the operating-system
// user).
func Operator(via review.Via) Actor {
	return Actor{operator: true, Via: via}
}

// ID is the actor's ID as the audit trail records it.
func (a Actor) ID() string {
	if a.operator {
		return ActorOperator
	}
	return a.Person.ID
}

// IsOperator reports whether the actor is the operator acting as themselves.
func (a Actor) IsOperator() bool { return a.operator }

// ReadOnly reports whether the actor may only read (an API token of read
// scope).
func (a Actor) ReadOnly() bool { return a.readOnly }

// grants are the actor's grants in the provider: all their roles in their
// own provider, none in another; the operator's everywhere.
func (a Actor) grants(provider string) []authz.Grant {
	if a.operator {
		return []authz.Grant{authz.Operator}
	}
	if a.Person.Provider != provider {
		return nil
	}
	g := make([]authz.Grant, len(a.Person.Roles))
	for i, r := range a.Person.Roles {
		g[i] = authz.Grant{Role: string(r.Role), Unit: r.Unit}
	}
	return g
}

// changes are the operations that change something, which a read-only
// token may not perform.
var changes = map[authz.Op]bool{
	authz.OpStart: true, authz.OpCancel: true, authz.OpReassign: true, authz.OpExtend: true,
	authz.OpClaim: true, authz.OpUnclaim: true, authz.OpDelegate: true, authz.OpComplete: true,
	authz.OpAdminister: true,
}

// authorize asks the authorization matrix whether the actor may perform op
// on the subject of the provider.
func (a Actor) authorize(provider string, op authz.Op, subject authz.Subject) error {
	if a.readOnly && changes[op] {
		return &Error{kind: ErrForbidden, msg: fmt.Sprintf("refused: %q is using an API token that may only read; %s needs a token of scope act", a.ID(), op)}
	}
	if err := authz.Check(a.ID(), a.grants(provider), op, subject); err != nil {
		return &Error{kind: ErrForbidden, msg: "refused: " + err.Error(), err: err}
	}
	return nil
}

// Act returns the actor for a person named by ID who came via via: the
// command line acting for someone, or an identity front end that has
// authenticated them. An unknown ID is ErrNotFound, a disabled person
// ErrForbidden: nobody acts for them.
func (s *Service) Act(ctx context.Context, personID string, via review.Via) (Actor, error) {
	if err := checkPerson("person", personID); err != nil {
		return Actor{}, err
	}
	p, err := s.store.Person(ctx, personID)
	if err != nil {
		return Actor{}, personError(personID, err)
	}
	if p.DisabledAt != nil {
		return Actor{}, errorOf(ErrForbidden, "refused: person %s is disabled since %s", personID, p.DisabledAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return Actor{Person: p, Via: via}, nil
}

// ctx returns the context that makes what the store records on the actor's
// behalf carry how they came.
func (a Actor) ctx(ctx context.Context) context.Context {
	return store.WithVia(ctx, a.Via)
}

// healthTimeout bounds the health check of the Temporal server that comes
// before each use of it.
const healthTimeout = 5 * time.Second

// client returns the Temporal client, dialled on first use, once the server
// has answered a health check.
//
// A client dialled earlier (the web server's) does not notice that its
// server has gone: the SDK retries a call it cannot deliver until the
// call's deadline, so a completion sent while Temporal is down would wait
// the whole UpdateTimeout (a minute) before failing, and any other call the
// SDK's 10 s. The health check answers
// within healthTimeout: the person hears that Temporal does not answer
// (ErrUnavailable: HTTP 503, one line at the command line). It is tried
// again for that long, because a connection that lost its server fails
// every call at once until it has connected again, which it tries with a
// backoff (up to 10 s apart): a server back for a moment is waited for, not
// reported down. A call already under way when the server goes keeps
// waiting for it, and succeeds if it comes back in time.
func (s *Service) client(ctx context.Context) (client.Client, error) {
	c, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	hctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	var last error
	for {
		_, err := c.CheckHealth(hctx, &client.CheckHealthRequest{})
		if err == nil {
			return c, nil
		}
		// The check cut short by the deadline says less than the one before.
		if last == nil || hctx.Err() == nil {
			last = err
		}
		select {
		case <-hctx.Done():
			return nil, &Error{kind: ErrUnavailable, msg: "Temporal does not answer: " + workflows.Reason(last), err: last}
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// dial returns the Temporal client, dialled on first use, without checking
// that the server answers now.
func (s *Service) dial(ctx context.Context) (client.Client, error) {
	if s.temporal == nil {
		return nil, &Error{kind: ErrUnavailable, msg: "this program has no Temporal connection configured"}
	}
	c, err := s.temporal(ctx)
	if err != nil {
		return nil, &Error{kind: ErrUnavailable, msg: err.Error(), err: err}
	}
	return c, nil
}

// Now is the service's clock, which front ends use for what they render
// (when a report was made).
func (s *Service) Now() time.Time { return s.now() }

// Location is the default time zone, review.DefaultTimeZone: that of
// providers whose organisation file names none, and the one yearly
// schedules run in (workflows.ScheduleTimeZone). A provider's times are
// shown in its own zone, ProviderLocation.
func (s *Service) Location() *time.Location { return workflows.ScheduleLocation() }
