package service

import (
	"context"
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
	Since    time.Time `json:"since,omitzero"`
}

// AuditLog returns the audit events the filter selects, in chain order. The
// provider's auditors and managers read their provider's trail; the operator
// every provider's. An empty provider means the actor's own.
func (s *Service) AuditLog(ctx context.Context, a Actor, f AuditFilter) ([]store.Event, error) {
	provider, err := a.listProvider(f.Provider, f.Year)
	if err != nil {
		return nil, err
	}
	f.Provider = provider
	if f.Actor != "" && f.Actor != store.ActorSystem && f.Actor != ActorOperator {
		if err := checkPerson("actor", f.Actor); err != nil {
			return nil, err
		}
	}
	if err := a.authorize(f.Provider, authz.OpAudit, authz.Subject{On: "the audit trail of " + orAll(f.Provider)}); err != nil {
		return nil, err
	}
	events, err := s.store.AuditLog(ctx, store.AuditFilter{Provider: f.Provider, Year: f.Year, Actor: f.Actor, Since: f.Since})
	return events, fromStore(err)
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
