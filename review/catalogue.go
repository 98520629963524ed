package review

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/oho-dev/oho/check"
)

// Catalogue is the indicators a provider follows every year, defined once in
// its cycle configuration so that every unit reports the same indicator under
// the same code in every cycle, and a trend can be drawn across years. Free
// indicators typed into one evaluation (Indicator without a code) cannot be
// compared from year to year.
type Catalogue []CatalogueIndicator

// CatalogueIndicator is one indicator of the catalogue: what it is called in
// both languages, what it is measured in, which way is better and the target,
// for every unit or, where a unit's situation differs, for that unit.
type CatalogueIndicator struct {
	Code   string `json:"code" validate:"required,code"`
	NameFI string `json:"name_fi" validate:"required,max=200"`
	NameEN string `json:"name_en" validate:"required,max=200"`
	// UnitOfMeasure is what the value is measured in ("%", "1-5"). It is not
	// called "unit" here, where organisational units are named too.
	UnitOfMeasure string `json:"unit_of_measure,omitempty" validate:"max=40"`
	// Better is "higher" (the default: the target is a minimum) or "lower"
	// (the target is a maximum), as Indicator.Better.
	Better string   `json:"better,omitempty" validate:"omitempty,oneof=higher lower"`
	Target *float64 `json:"target" validate:"required"`
	// UnitTargets replace Target for the units they name.
	UnitTargets []UnitTarget `json:"unit_targets,omitempty" validate:"max=500,unique=Unit,dive"`
}

// UnitTarget is a catalogue indicator's target for one unit.
type UnitTarget struct {
	Unit   string   `json:"unit" validate:"required,code"`
	Target *float64 `json:"target" validate:"required"`
}

// Directions of an indicator: which way its target is reached.
const (
	BetterHigher = "higher"
	BetterLower  = "lower"
)

// Name is the indicator's name in both languages, Finnish first, for
// messages and documents: "Koettu turvallisuus / Feels safe".
func (ci CatalogueIndicator) Name() string {
	if ci.NameFI == ci.NameEN {
		return ci.NameEN
	}
	return ci.NameFI + " / " + ci.NameEN
}

// Direction is Better with its default filled in.
func (ci CatalogueIndicator) Direction() string {
	if ci.Better == "" {
		return BetterHigher
	}
	return ci.Better
}

// TargetFor is the indicator's target for the unit: the unit's own, or the
// common one.
func (ci CatalogueIndicator) TargetFor(unit string) float64 {
	for _, ut := range ci.UnitTargets {
		if ut.Unit == unit && ut.Target != nil {
			return *ut.Target
		}
	}
	if ci.Target == nil {
		return 0
	}
	return *ci.Target
}

// Check applies the rules of a catalogue beyond its validation tags, naming
// the indicator each problem is about: codes are unique.
func (c Catalogue) Check() error {
	var p check.Problems
	seen := map[string]int{}
	for i, ci := range c {
		if j, ok := seen[ci.Code]; ok {
			field := fmt.Sprintf("indicators[%d].code", i)
			p = append(p, check.Problem{Field: field, Text: fmt.Sprintf("%s %q is already the code of indicators[%d]: codes must be unique", field, ci.Code, j)})
			continue
		}
		seen[ci.Code] = i
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

// CheckUnits refuses unit targets for units the provider does not have: a
// misspelt unit code would otherwise leave that unit on the common target
// without anyone noticing. The units are known where the organisation is
// (the store, the service), not in the config itself.
func (c Catalogue) CheckUnits(units []string) error {
	var p check.Problems
	for i, ci := range c {
		for j, ut := range ci.UnitTargets {
			if !slices.Contains(units, ut.Unit) {
				field := fmt.Sprintf("indicators[%d].unit_targets[%d].unit", i, j)
				p = append(p, check.Problem{Field: field, Text: fmt.Sprintf("%s %q of indicator %s is not a unit of the provider (units: %s)",
					field, ut.Unit, ci.Code, strings.Join(units, ", "))})
			}
		}
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

// ForUnit returns the catalogue as one unit sees it: each indicator with
// the unit's target as Target and no unit targets. It is what the unit's
// evaluate task shows and what its evaluation is checked against.
func (c Catalogue) ForUnit(unit string) Catalogue {
	if len(c) == 0 {
		return nil
	}
	out := make(Catalogue, len(c))
	for i, ci := range c {
		t := ci.TargetFor(unit)
		ci.Target, ci.UnitTargets = &t, nil
		out[i] = ci
	}
	return out
}

// find returns the indicator of the code.
func (c Catalogue) find(code string) (CatalogueIndicator, bool) {
	i := slices.IndexFunc(c, func(ci CatalogueIndicator) bool { return ci.Code == code })
	if i < 0 {
		return CatalogueIndicator{}, false
	}
	return c[i], true
}

// Codes lists the catalogue's codes in order.
func (c Catalogue) Codes() []string {
	codes := make([]string, len(c))
	for i, ci := range c {
		codes[i] = ci.Code
	}
	return codes
}

// TargetMet reports whether a value reaches its target in the direction
// given ("lower" means the target is a maximum; anything else a minimum).
func TargetMet(value, target float64, better string) bool {
	if better == BetterLower {
		return value <= target
	}
	return value >= target
}

// CheckIndicators applies the catalogue's rules alone (see Check). The store
// applies them again as it records indicators against the catalogue, so that
// no row can contradict it, whoever calls.
func (e Evaluation) CheckIndicators(catalogue Catalogue) error {
	var p problems
	checkIndicators(&p, e.Indicators, catalogue)
	return p.err()
}

// checkIndicators applies the catalogue's rules to an evaluation's
// indicators; catalogue is the unit's view of it (ForUnit). Each catalogue
// indicator appears once, by code, with a value or marked not_measured with a
// reason; what it gives besides may not contradict the catalogue. Indicators
// without a code are free, as before catalogues: they give name, value and
// target, and are never "not measured" (leave one out instead).
func checkIndicators(p *problems, inds []Indicator, catalogue Catalogue) {
	given := map[string]int{}
	for i, ind := range inds {
		at := fmt.Sprintf("indicators[%d]", i)
		if ind.Code == "" {
			if ind.NotMeasured || ind.Reason != "" {
				p.addf("%s (%q) has no code: only indicators of the catalogue can be marked not_measured with a reason; leave a free indicator out instead", at, ind.Name)
			}
			continue
		}
		ci, ok := catalogue.find(ind.Code)
		if !ok {
			if len(catalogue) == 0 {
				p.addf("%s.code %q names a catalogue indicator, but this cycle has no indicator catalogue: give name, value and target instead", at, ind.Code)
			} else {
				p.addf("%s.code %q is not an indicator of the catalogue (codes: %s)", at, ind.Code, strings.Join(catalogue.Codes(), ", "))
			}
			continue
		}
		at = fmt.Sprintf("%s (%s)", at, ind.Code)
		if j, ok := given[ind.Code]; ok {
			p.addf("%s is given twice (also indicators[%d])", at, j)
			continue
		}
		given[ind.Code] = i
		switch {
		case ind.NotMeasured && ind.Value != nil:
			p.addf("%s is marked not_measured but gives a value: give one or the other", at)
		case ind.NotMeasured && strings.TrimSpace(ind.Reason) == "":
			p.addf("%s is marked not_measured and needs a reason saying why it was not measured", at)
		case !ind.NotMeasured && ind.Value == nil:
			p.addf("%s has no value: give its value, or mark it not_measured with a reason", at)
		case !ind.NotMeasured && ind.Reason != "":
			p.addf("%s has a reason but is not marked not_measured: a reason is only for an indicator that was not measured", at)
		}
		if ind.Target != nil && *ind.Target != *ci.Target {
			p.addf("%s gives target %s, but the catalogue's target for this unit is %s: leave target out, the catalogue sets it",
				at, formatNumber(*ind.Target), formatNumber(*ci.Target))
		}
		if ind.Name != "" && ind.Name != ci.NameFI && ind.Name != ci.NameEN {
			p.addf("%s is named %q, but the catalogue calls it %q: leave name out", at, ind.Name, ci.Name())
		}
		if ind.Unit != "" && ind.Unit != ci.UnitOfMeasure {
			p.addf("%s is measured in %q, but the catalogue measures it in %q: leave unit out", at, ind.Unit, ci.UnitOfMeasure)
		}
		if ind.Better != "" && ind.Better != ci.Direction() {
			p.addf("%s says better is %q, but the catalogue says %q: leave better out", at, ind.Better, ci.Direction())
		}
	}
	for _, ci := range catalogue {
		if _, ok := given[ci.Code]; !ok {
			p.addf("indicator %s (%s) of the catalogue is missing: give its value, or mark it not_measured with a reason", ci.Code, ci.Name())
		}
	}
}

// formatNumber writes a number as people write it: 85, 78.5.
func formatNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
