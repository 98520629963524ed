package service

import (
	"context"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// StudentFeedback returns, for each completed cycle of the actor's
// provider, newest first, the students' feedback and what was done with
// each item, as the published plans record it ("you said → we did"). What
// was said and done is part of the published plan's record, which everyone
// of the provider may read (authz.OpReadPlan); a students' representative is
// shown the units they represent, everyone else every unit.
func (s *Service) StudentFeedback(ctx context.Context, a Actor) ([]store.FeedbackAnswer, error) {
	provider := a.Person.Provider
	if err := a.authorize(provider, authz.OpReadPlan, authz.Subject{On: "the students' feedback of " + provider}); err != nil {
		return nil, err
	}
	var units []string
	for _, r := range a.Person.Roles {
		if r.Role == review.RoleStudentRep {
			units = append(units, r.Unit)
		}
	}
	answers, err := s.store.StudentFeedback(ctx, provider, units)
	return answers, fromStore(err)
}
