package service

import (
	"context"
	"errors"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// IndicatorTrends returns the provider's catalogue indicators per unit across
// all its cycles, each year's value against that year's target and whether
// it was met. Trends are drawn from the same records as the traceability
// report, so whoever may read the report may read them: the provider's staff
// and auditors, and the operator.
func (s *Service) IndicatorTrends(ctx context.Context, a Actor, provider string) ([]store.IndicatorTrend, error) {
	if err := checkProvider(provider); err != nil {
		return nil, err
	}
	if err := a.authorize(provider, authz.OpReport, authz.Subject{On: "the indicator trends of " + provider}); err != nil {
		return nil, err
	}
	trends, err := s.store.IndicatorTrends(ctx, provider)
	return trends, fromStore(err)
}

// checkCatalogueUnits refuses a catalogue whose unit targets name units the
// provider does not have, so that a misspelt unit is refused when the cycle
// or schedule is asked for rather than when a cycle sets up. A provider the
// store does not know is left for the caller's own check to word.
func (s *Service) checkCatalogueUnits(ctx context.Context, provider string, c review.Catalogue) error {
	if len(c) == 0 {
		return nil
	}
	err := s.store.CheckCatalogue(ctx, provider, c)
	var problems check.Problems
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case errors.As(err, &problems):
		return invalidInput("the cycle config", "config", problems)
	}
	return fromStore(err)
}
