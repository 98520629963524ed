package service

import "github.com/oho-dev/oho/authz"

// MaySteer returns nil when the actor may steer the provider's cycles —
// start and cancel them, reassign and extend their tasks, set the yearly
// schedule — and the refusal otherwise. A front end asks it before it
// offers those means (the web's manager's dashboard), so that who sees them
// is decided here, by the same rule that decides each change.
func (s *Service) MaySteer(a Actor, provider string) error {
	if err := checkProvider(provider); err != nil {
		return err
	}
	return a.authorize(provider, authz.OpStart, authz.Subject{On: "the cycles of " + provider})
}
