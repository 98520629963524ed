package service

import (
	"context"
	"errors"
	"time"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// MaxPlanMarkdown is the largest Markdown plan an import reads, in bytes:
// thirty sections and an annex for each of fifty units at their longest
// (review.MaxSectionText characters) fit, in any script.
const MaxPlanMarkdown = 4 << 20

// ImportPlan asks for a provider's current plan, written in Markdown
// (review.ParsePlanMarkdown), to be recorded as its next published version.
type ImportPlan struct {
	Provider string
	Markdown string
	// Name names the Markdown in refusals (a file's path); "the plan" when
	// empty.
	Name string
	// AddSections lets headings that name no known section add one.
	AddSections bool
	// EffectiveFrom is the date the plan is in force from, YYYY-MM-DD;
	// today in the service's time zone when empty.
	EffectiveFrom string
}

// ImportedPlan is the version an import recorded, and what the file held.
type ImportedPlan struct {
	Provider      string `json:"provider"`
	Version       int    `json:"version"`
	Hash          string `json:"hash"`
	EffectiveFrom string `json:"effective_from"`
	// Unchanged is set when the latest version already had exactly this
	// text: nothing was recorded, and Version is that version.
	Unchanged bool `json:"unchanged,omitempty"`
	// Sections are the keys of the version's sections, in order; Annexes the
	// units whose annexes it holds.
	Sections []string `json:"sections"`
	Annexes  []string `json:"annexes"`
	// Added are the sections the file added; Empty those without text
	// (headings with nothing under them, and known sections the file lacks).
	Added []string `json:"added"`
	Empty []string `json:"empty"`
}

// ImportPlan records a provider's current plan, brought from outside OHO as
// Markdown, as its next published version: the baseline the provider's next
// cycle drafts from. Only the provider's managers and the operator may
// import it, and not while a cycle of the provider is running (ErrConflict,
// naming the cycle). The file is the whole plan: known sections it lacks
// become empty, annexes it lacks are not in the version. An imported version
// has no signatures; its documents say it was imported and not yet reviewed
// in OHO. Importing the text the latest version already has records nothing
// and returns that version, Unchanged.
func (s *Service) ImportPlan(ctx context.Context, a Actor, in ImportPlan) (ImportedPlan, error) {
	if err := checkProvider(in.Provider); err != nil {
		return ImportedPlan{}, err
	}
	if in.EffectiveFrom != "" {
		if _, err := time.Parse(time.DateOnly, in.EffectiveFrom); err != nil {
			return ImportedPlan{}, invalid("effective_from", "effective_from %q is not a date written as YYYY-MM-DD", in.EffectiveFrom)
		}
	}
	if len(in.Markdown) > MaxPlanMarkdown {
		return ImportedPlan{}, invalid("markdown", "the plan is larger than %d MiB, which no plan needs to be", MaxPlanMarkdown>>20)
	}
	if err := a.authorize(in.Provider, authz.OpAdminister, planSubject(in.Provider)); err != nil {
		return ImportedPlan{}, err
	}
	if in.EffectiveFrom == "" { // today, where the provider is
		loc, err := s.location(ctx, in.Provider)
		if err != nil {
			return ImportedPlan{}, err
		}
		in.EffectiveFrom = s.now().In(loc).Format(time.DateOnly)
	}
	basis, err := s.store.PlanBasis(ctx, in.Provider)
	if err != nil {
		return ImportedPlan{}, fromStore(err)
	}
	if basis.Running != "" {
		return ImportedPlan{}, errorOf(ErrConflict, "the plan of %s cannot be imported while cycle %s is running: the cycle drafts the next version from the one it started with; import before a cycle starts or after it ends", in.Provider, basis.Running)
	}
	sections, over := review.DefaultSections, 0
	if basis.Current != nil {
		sections, over = basis.Current.Content.Outline(), basis.Current.Version
	}
	plan, err := review.ParsePlanMarkdown(in.Markdown, review.ImportBasis{Sections: sections, Units: basis.Units, AddSections: in.AddSections})
	if err != nil {
		var me *review.MarkdownError
		if errors.As(err, &me) {
			name := in.Name
			if name == "" {
				name = "the plan"
			}
			return ImportedPlan{}, &Error{kind: ErrInvalid, msg: name + ": " + err.Error(), Fields: map[string]string{"markdown": err.Error()}, err: err}
		}
		return ImportedPlan{}, err
	}
	v, err := s.store.ImportPlan(a.ctx(ctx), store.PlanImport{
		Provider: in.Provider, Content: plan.Content, EffectiveFrom: in.EffectiveFrom, ImportedBy: a.ID(), Over: over, Title: plan.Title,
	})
	if err != nil {
		return ImportedPlan{}, fromStore(err)
	}
	out := ImportedPlan{
		Provider: in.Provider, Version: v.Version, Hash: v.Hash, EffectiveFrom: v.EffectiveFrom, Unchanged: v.Unchanged,
		Sections: plan.Content.Keys(), Annexes: []string{}, Added: nonNil(plan.Added), Empty: nonNil(plan.Empty),
	}
	for _, an := range plan.Content.Annexes {
		out.Annexes = append(out.Annexes, an.Unit)
	}
	return out, nil
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
