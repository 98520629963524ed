package service

import (
	"context"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/store"
)

// PlanVersions lists every published version of the provider's plan, newest
// first: number, hash, effective date, where it came from (a cycle or an
// import) and who approved or imported it, without the text. Everyone of the
// provider may read them, as they may read the plan.
func (s *Service) PlanVersions(ctx context.Context, a Actor, provider string) ([]store.PlanVersionEntry, error) {
	if err := checkProvider(provider); err != nil {
		return nil, err
	}
	if err := a.authorize(provider, authz.OpReadPlan, planSubject(provider)); err != nil {
		return nil, err
	}
	versions, err := s.store.PlanVersions(ctx, provider)
	return versions, fromStore(err)
}
