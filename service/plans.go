package service

import (
	"context"
	"math"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/store"
)

// planSubject names the plan of a provider in refusals.
func planSubject(provider string) authz.Subject {
	return authz.Subject{On: "the plan of " + provider}
}

// checkVersion refuses a version number that cannot be one; 0 means the
// latest where allowed. Versions are numbered in PostgreSQL's integer, so a
// number beyond it is none (rather than a database error).
func checkVersion(field string, version int, latestOK bool) error {
	if version < 0 || (version == 0 && !latestOK) || version > math.MaxInt32 {
		return invalid(field, "%s %d is not a version number (1, 2, …)", field, version)
	}
	return nil
}

// Plan returns a published version of the provider's plan (0: the one in
// force) with the signatures on its first page. Everyone of the provider may
// read it.
func (s *Service) Plan(ctx context.Context, a Actor, provider string, version int) (store.PlanDocument, error) {
	if err := checkProvider(provider); err != nil {
		return store.PlanDocument{}, err
	}
	if err := checkVersion("version", version, true); err != nil {
		return store.PlanDocument{}, err
	}
	if err := a.authorize(provider, authz.OpReadPlan, planSubject(provider)); err != nil {
		return store.PlanDocument{}, err
	}
	doc, err := s.store.PlanDocument(ctx, provider, version)
	return doc, fromStore(err)
}

// ComparePlans returns the difference between two versions of the
// provider's plan, section by section, with the changes that made the
// versions after the older one, up to the newer. Everyone of the provider
// may read it.
func (s *Service) ComparePlans(ctx context.Context, a Actor, provider string, from, to int) (render.PlanDiff, error) {
	if err := checkProvider(provider); err != nil {
		return render.PlanDiff{}, err
	}
	if err := checkVersion("from", from, false); err != nil {
		return render.PlanDiff{}, err
	}
	if err := checkVersion("to", to, false); err != nil {
		return render.PlanDiff{}, err
	}
	if err := a.authorize(provider, authz.OpReadPlan, planSubject(provider)); err != nil {
		return render.PlanDiff{}, err
	}
	d1, err := s.store.PlanDocument(ctx, provider, from)
	if err != nil {
		return render.PlanDiff{}, fromStore(err)
	}
	d2, err := s.store.PlanDocument(ctx, provider, to)
	if err != nil {
		return render.PlanDiff{}, fromStore(err)
	}
	changes, err := s.store.PlanChanges(ctx, provider, min(from, to), max(from, to))
	if err != nil {
		return render.PlanDiff{}, fromStore(err)
	}
	return render.PlanDiff{Provider: provider, From: d1.PlanVersion, To: d2.PlanVersion,
		Sections: render.DiffPlans(d1.Content, d2.Content), Changes: changes}, nil
}
