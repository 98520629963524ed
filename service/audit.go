package service

import (
	"context"
	"regexp"
	"time"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/store"
)

// Report returns what the traceability report of the provider's cycle for
// the year is drawn from: every finding and feedback item, how it was
// answered, the change, the published version and its signatures. The
// provider's staff and auditors may read it.
func (s *Service) Report(ctx context.Context, a Actor, provider string, year int) (store.Trace, error) {
	if err := checkCycle(provider, year); err != nil {
		return store.Trace{}, err
	}
	if err := a.authorize(provider, authz.OpReport, authz.Subject{On: "the report of " + provider}); err != nil {
		return store.Trace{}, err
	}
	tr, err := s.store.TraceReport(ctx, provider, year)
	return tr, fromStore(err)
}

// AuditFilter selects audit events: zero fields select everything the actor
// may see.
type AuditFilter struct {
	Provider string    `json:"provider,omitempty"`
	Year     int       `json:"year,omitempty"`
	Actor    string    `json:"actor,omitempty"`
	Action   string    `json:"action,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	// Until selects the events before that time.
	Until time.Time `json:"until,omitzero"`
	// After and Before select the events after or before a place in the
	// chain (seq): where a page starts or ends.
	After  int64 `json:"after,omitempty"`
	Before int64 `json:"before,omitempty"`
}

// MaxAuditPage is the most events a page of the audit trail holds.
const MaxAuditPage = 500

// actionName is what an audit action looks like: "task.completed".
var actionName = regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)*$`)

// auditFilter checks a filter and settles its provider for the actor: an
// empty provider means the actor's own (every provider for the operator).
func (a Actor) auditFilter(f AuditFilter) (store.AuditFilter, error) {
	provider, err := a.listProvider(f.Provider, f.Year)
	if err != nil {
		return store.AuditFilter{}, err
	}
	if f.Actor != "" && f.Actor != store.ActorSystem && f.Actor != ActorOperator {
		if err := checkPerson("actor", f.Actor); err != nil {
			return store.AuditFilter{}, err
		}
	}
	if f.Action != "" && (len(f.Action) > 64 || !actionName.MatchString(f.Action)) {
		return store.AuditFilter{}, invalid("action", "action %q is not the name of an action, such as task.completed", f.Action)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return store.AuditFilter{}, invalid("until", "the end of the time span must be after its start")
	}
	if f.After < 0 || f.Before < 0 {
		return store.AuditFilter{}, invalid("after", "a place in the audit trail is a positive number")
	}
	if err := a.authorize(provider, authz.OpAudit, authz.Subject{On: "the audit trail of " + orAll(provider)}); err != nil {
		return store.AuditFilter{}, err
	}
	return store.AuditFilter{Provider: provider, Year: f.Year, Actor: f.Actor, Action: f.Action,
		Since: f.Since, Until: f.Until, After: f.After, Before: f.Before}, nil
}

// AuditLog returns the audit events the filter selects, in chain order. The
// provider's auditors and managers read their provider's trail; the operator
// every provider's. An empty provider means the actor's own.
func (s *Service) AuditLog(ctx context.Context, a Actor, f AuditFilter) ([]store.Event, error) {
	sf, err := a.auditFilter(f)
	if err != nil {
		return nil, err
	}
	events, err := s.store.AuditLog(ctx, sf)
	return events, fromStore(err)
}

// AuditPage returns a page of at most size events the filter selects, in
// chain order: the first ones after f.After, the last ones before f.Before,
// or the first of all; and whether there are events before and after it.
// Who may read it is as for AuditLog.
func (s *Service) AuditPage(ctx context.Context, a Actor, f AuditFilter, size int) (store.AuditPage, error) {
	if size < 1 || size > MaxAuditPage {
		return store.AuditPage{}, invalid("size", "a page holds 1 to %d events, not %d", MaxAuditPage, size)
	}
	if f.After != 0 && f.Before != 0 {
		return store.AuditPage{}, invalid("after", "a page starts after an event or ends before one, not both")
	}
	sf, err := a.auditFilter(f)
	if err != nil {
		return store.AuditPage{}, err
	}
	sf.Limit = size
	p, err := s.store.AuditPage(ctx, sf)
	return p, fromStore(err)
}

// VerifyAudit recomputes the hash chain of the whole audit trail and reports
// the first fault, if any. The chain runs through every provider's events,
// so it is verified whole; auditors and managers of any provider, and the
// operator, may ask.
func (s *Service) VerifyAudit(ctx context.Context, a Actor) (store.Verification, error) {
	if err := a.authorize(a.Person.Provider, authz.OpAudit, authz.Subject{On: "the audit trail"}); err != nil {
		return store.Verification{}, err
	}
	v, err := s.store.VerifyAudit(ctx)
	return v, fromStore(err)
}

func orAll(provider string) string {
	if provider == "" {
		return "every provider"
	}
	return provider
}
