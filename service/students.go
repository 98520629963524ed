package service

import (
	"context"
	"slices"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// FeedbackAnswer is one thing a unit's students said in a cycle and what
// the plan's editors did with it, as the published plan records it: "you
// said → we did".
type FeedbackAnswer struct {
	Year    int    `json:"year"`
	Unit    string `json:"unit"`
	Ref     string `json:"ref"`
	Section string `json:"section"`
	Said    string `json:"said"`
	// Decision is "addressed", "deferred" or "rejected"; Reason why it was
	// deferred or rejected; Change the change of the plan that addressed it,
	// with its new text, and Version the plan version that published it.
	Decision string             `json:"decision"`
	Reason   string             `json:"reason,omitempty"`
	Change   *store.TraceChange `json:"change,omitempty"`
	Version  int                `json:"version,omitempty"`
	// Later is how the next cycles answered an item this cycle deferred.
	Later []FeedbackAnswer `json:"later,omitempty"`
}

// StudentFeedback returns, for each completed cycle of the actor's
// provider, newest first, the students' feedback and what was done with
// each item, as the published plans record it. What was said and done is
// part of the published plan's record, which everyone of the provider may
// read (authz.OpReadPlan); a students' representative is shown the units
// they represent, everyone else every unit.
func (s *Service) StudentFeedback(ctx context.Context, a Actor) ([]FeedbackAnswer, error) {
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
	all := len(units) == 0
	cycles, err := s.store.Cycles(ctx, provider)
	if err != nil {
		return nil, fromStore(err)
	}
	var out []FeedbackAnswer
	// laterAnswer finds how the cycles after an item's deferral answered it.
	carried := map[string][]FeedbackAnswer{}
	for _, c := range cycles {
		if c.Status != review.CycleCompleted {
			continue
		}
		tr, err := s.store.TraceReport(ctx, provider, c.Year)
		if err != nil {
			return nil, fromStore(err)
		}
		for _, it := range tr.Carried {
			if !all && !slices.Contains(units, it.Unit) {
				continue
			}
			carried[it.Ref] = append(carried[it.Ref], answerOf(tr, it))
		}
		for _, u := range tr.Units {
			if !all && !slices.Contains(units, u.Code) {
				continue
			}
			for _, it := range u.Feedback {
				out = append(out, answerOf(tr, it))
			}
		}
	}
	for i := range out {
		if out[i].Decision == review.DecisionDeferred {
			out[i].Later = carried[review.CarriedRef(out[i].Year, out[i].Ref)]
		}
	}
	slices.SortStableFunc(out, func(x, y FeedbackAnswer) int { return y.Year - x.Year })
	return out, nil
}

func answerOf(tr store.Trace, it store.TraceItem) FeedbackAnswer {
	ans := FeedbackAnswer{Year: tr.Cycle.Year, Unit: it.Unit, Ref: it.Ref, Section: it.Section, Said: it.Text}
	if it.From == 0 {
		ans.Ref = review.ItemRef(it.Unit, it.ID)
	}
	if ds := it.Disposition; ds != nil {
		ans.Decision, ans.Reason, ans.Change = ds.Decision, ds.Reason, ds.Change
		if ds.Change != nil && ds.Change.InPublished && tr.Published != nil {
			ans.Version = tr.Published.Number
		}
	}
	return ans
}
