package service

import (
	"context"
	"fmt"
	"time"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/render"
)

// ProviderLocation returns the provider's time zone (the organisation
// file's provider.time_zone, Europe/Helsinki unless it names another): every
// front end shows the provider's times in it — the report, the handbook,
// pages — so that a moment reads the same wherever it is shown. Whoever may
// read the provider's plan may ask: every person of the provider, and the
// operator.
func (s *Service) ProviderLocation(ctx context.Context, a Actor, provider string) (*time.Location, error) {
	if err := checkProvider(provider); err != nil {
		return nil, err
	}
	if err := a.authorize(provider, authz.OpReadPlan, authz.Subject{On: "the time zone of " + provider}); err != nil {
		return nil, err
	}
	return s.location(ctx, provider)
}

// location is the provider's time zone, for the service's own use.
func (s *Service) location(ctx context.Context, provider string) (*time.Location, error) {
	name, err := s.store.ProviderTimeZone(ctx, provider)
	if err != nil {
		return nil, fromStore(err)
	}
	loc, err := render.Zone(name)
	if err != nil {
		// Only a hand-edited database holds a zone that does not load.
		return nil, fmt.Errorf("the time zone of provider %s: %w; correct provider.time_zone in the organisation file and import it again", provider, err)
	}
	return loc, nil
}
