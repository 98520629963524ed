package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// Signing is what a person deciding a sign-off or an approval reads before
// signing: the task with its round's draft (the hash the signature binds
// to, the changes and the legal-content checklist), the draft compared with
// the published version it would replace, the findings and feedback the
// changes answer, and, for an approval, the unit heads' sign-offs of the
// round.
type Signing struct {
	Task store.Task `json:"task"`
	// Base is the published version the cycle's drafts change (see
	// store.BaseVersion); nil when the provider had none, and the draft then
	// starts the plan.
	Base *store.PlanVersion `json:"base,omitempty"`
	// Sections are the draft against Base (against an empty plan when there
	// is none), section by section and then the units' annexes, as
	// render.DiffPlans compares two versions.
	Sections []render.SectionDiff `json:"sections"`
	// Items are the findings and feedback items the round's changes
	// address, as the round's draft task showed them to the plan editor;
	// left out for someone who may not read that task.
	Items []review.Item `json:"items,omitempty"`
	// SignOffs are the unit heads' sign-offs of the round, for an approval;
	// nil for a sign-off.
	SignOffs []store.TraceSignature `json:"signoffs,omitempty"`
}

// Signing returns what a sign-off or approval task shows besides the task
// itself. Whoever may read the task may read it; the items the changes
// answer only who may also read the round's draft task.
func (s *Service) Signing(ctx context.Context, a Actor, taskID string) (Signing, error) {
	t, err := s.store.Task(ctx, taskID)
	if err != nil {
		return Signing{}, taskError(taskID, err)
	}
	if err := a.authorize(t.Provider, authz.OpRead, subject(t)); err != nil {
		return Signing{}, err
	}
	if t.Kind != review.KindSignOff && t.Kind != review.KindApprove || t.Draft == nil {
		return Signing{}, errorOf(ErrInvalid, "task %s is a %s task: only sign-offs and approvals sign a draft", t.ID, t.Kind)
	}
	if err := a.authorize(t.Provider, authz.OpReadPlan, planSubject(t.Provider)); err != nil {
		return Signing{}, err
	}
	out := Signing{Task: t}
	base, err := s.store.BaseVersion(ctx, t.CycleID)
	switch {
	case err == nil:
		out.Base = &base
	case !errors.Is(err, store.ErrNotFound):
		return Signing{}, fromStore(err)
	}
	var from review.PlanContent
	if out.Base != nil {
		from = out.Base.Content
	}
	out.Sections = render.DiffPlans(from, t.Draft.Content)

	draftID := review.CycleRef{Provider: t.Provider, Year: t.Year, Attempt: t.Attempt}.TaskID(review.KindDraft, t.Round, "")
	dt, err := s.store.Task(ctx, draftID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Signing{}, fromStore(err)
	}
	if err == nil && a.authorize(dt.Provider, authz.OpRead, subject(dt)) == nil {
		var in review.DraftInput
		if err := json.Unmarshal(dt.Input, &in); err != nil {
			return Signing{}, fmt.Errorf("reading the input of task %s: %w", dt.ID, err)
		}
		for _, it := range in.Items {
			if slices.ContainsFunc(t.Draft.Changes, func(c review.Change) bool { return slices.Contains(c.Addresses, it.Ref) }) {
				out.Items = append(out.Items, it)
			}
		}
	}

	if t.Kind == review.KindApprove {
		if out.SignOffs, err = s.store.RoundSignOffs(ctx, t.CycleID, t.Round); err != nil {
			return Signing{}, fromStore(err)
		}
	}
	return out, nil
}
