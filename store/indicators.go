package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/oho-dev/oho/review"
)

// The indicator catalogue (review.Catalogue, in a cycle's config) as the
// records see it: indicators recorded against it, trends across the
// provider's cycles, and, for the report, how units rated the previous
// cycle's changes.

// CheckCatalogue refuses, with ErrInvalid naming each, unit targets of the
// catalogue for units the provider does not have; a provider never imported
// is ErrNotFound. The service asks before it starts a cycle or sets a
// schedule; SetupCycle checks again when the cycle starts, as units may have
// changed since.
func (s *Store) CheckCatalogue(ctx context.Context, provider string, c review.Catalogue) error {
	if err := providerExists(ctx, s.db, provider); err != nil {
		return err
	}
	return checkCatalogueUnits(ctx, s.db, provider, c)
}

func checkCatalogueUnits(ctx context.Context, q sqlx.QueryerContext, provider string, c review.Catalogue) error {
	if len(c) == 0 {
		return nil
	}
	units := []string{}
	const qUnits = `SELECT code FROM units WHERE provider_code = $1 ORDER BY code`
	if err := sqlx.SelectContext(ctx, q, &units, qUnits, provider); err != nil {
		return fmt.Errorf("reading units of %s: %w", provider, dbError(err))
	}
	if err := c.CheckUnits(units); err != nil {
		// The problems stay reachable (errors.As), so that the service can
		// name each field.
		return &kindError{kind: ErrInvalid, msg: "the indicator catalogue: " + err.Error(), err: err}
	}
	return nil
}

// cycleCatalogue reads the indicator catalogue from a cycle's recorded
// config; nil for a cycle without one.
func cycleCatalogue(ctx context.Context, q sqlx.QueryerContext, cycleID string) (review.Catalogue, error) {
	var raw []byte
	const qConfig = `SELECT config FROM cycles WHERE id = $1`
	if err := sqlx.GetContext(ctx, q, &raw, qConfig, cycleID); err != nil {
		return nil, fmt.Errorf("reading the config of cycle %s: %w", cycleID, dbError(err))
	}
	return decodeCatalogue(raw, cycleID)
}

// decodeCatalogue reads the catalogue of a recorded config. Only the
// catalogue is decoded: the rest of the config was checked when the cycle
// started and is not needed here.
func decodeCatalogue(config []byte, cycleID string) (review.Catalogue, error) {
	var cfg struct {
		Indicators review.Catalogue `json:"indicators"`
	}
	if len(config) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(config, &cfg); err != nil {
		return nil, fmt.Errorf("decoding the indicator catalogue of cycle %s: %w", cycleID, err)
	}
	return cfg.Indicators, nil
}

// insertIndicators records an evaluation's indicators. Those of the cycle's
// catalogue are recorded with the catalogue's names, unit of measure,
// direction and the unit's target, which the outcome may repeat but never
// contradict; an outcome that breaks the catalogue's rules is ErrInvalid,
// whoever sends it. Free indicators are recorded as they are given.
func insertIndicators(ctx context.Context, tx *sqlx.Tx, t taskRow, inds []review.Indicator) error {
	catalogue, err := cycleCatalogue(ctx, tx, t.CycleID)
	if err != nil {
		return err
	}
	catalogue = catalogue.ForUnit(t.Unit)
	if err := (review.Evaluation{Indicators: inds}).CheckIndicators(catalogue); err != nil {
		return errorf(ErrInvalid, "the evaluate outcome is not valid: %v", err)
	}
	const qIndicator = `
INSERT INTO indicators (cycle_id, unit_code, ordinal, code, name, name_fi, name_en, value, target, unit, better,
    not_measured_reason, task_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE(NULLIF($11, ''), 'higher'), $12, $13)`
	for i, ind := range inds {
		row := struct {
			name, nameFI, nameEN, unit, better string
			target                             float64
			reason                             *string
		}{name: ind.Name, unit: ind.Unit, better: ind.Better}
		if ind.Code == "" {
			row.target = *ind.Target
		} else {
			// CheckIndicators found the code in the catalogue.
			ci := catalogue[slices.IndexFunc(catalogue, func(ci review.CatalogueIndicator) bool { return ci.Code == ind.Code })]
			row.name, row.nameFI, row.nameEN = ci.NameEN, ci.NameFI, ci.NameEN
			row.unit, row.better, row.target = ci.UnitOfMeasure, ci.Direction(), *ci.Target
			if ind.NotMeasured {
				row.reason = &ind.Reason
			}
		}
		if _, err := tx.ExecContext(ctx, qIndicator, t.CycleID, t.Unit, i, ind.Code, row.name, row.nameFI, row.nameEN,
			ind.Value, row.target, row.unit, row.better, row.reason, t.ID); err != nil {
			return fmt.Errorf("recording indicator %q: %w", orName(ind), dbError(err))
		}
	}
	return nil
}

func orName(ind review.Indicator) string {
	if ind.Code != "" {
		return ind.Code
	}
	return ind.Name
}

// Statuses of a catalogue indicator in one cycle.
const (
	TrendMet         = "met"
	TrendNotMet      = "not_met"
	TrendNotMeasured = "not_measured"
)

// IndicatorTrend is one catalogue indicator of one unit across the
// provider's cycles, oldest first. Its names, unit of measure and direction
// are those of the latest cycle that recorded it.
type IndicatorTrend struct {
	Code          string       `json:"code"`
	NameFI        string       `json:"name_fi"`
	NameEN        string       `json:"name_en"`
	Unit          string       `json:"unit"`
	UnitOfMeasure string       `json:"unit_of_measure"`
	Better        string       `json:"better"`
	Points        []TrendPoint `json:"points"`
}

// TrendPoint is what one cycle recorded of a catalogue indicator in a unit:
// the value against the target of that year, or why it was not measured.
// Status is TrendMet, TrendNotMet or TrendNotMeasured, judged in the
// direction recorded that year.
type TrendPoint struct {
	Year    int      `json:"year"`
	CycleID string   `json:"cycle_id"`
	Value   *float64 `json:"value"`
	Target  float64  `json:"target"`
	Better  string   `json:"better"`
	Status  string   `json:"status"`
	Reason  string   `json:"reason,omitempty"`
}

// IndicatorTrends returns every catalogue indicator the provider's cycles
// have recorded, per unit, ordered by code and unit, each with its values
// and targets year by year and whether the target was met. Free indicators
// have no code and no trend. A provider never imported is ErrNotFound; one
// without catalogue indicators has no trends.
func (s *Store) IndicatorTrends(ctx context.Context, provider string) ([]IndicatorTrend, error) {
	if err := providerExists(ctx, s.db, provider); err != nil {
		return nil, err
	}
	trends, err := readTrends(ctx, s.db, provider, 0)
	if err != nil {
		return nil, fmt.Errorf("reading the indicator trends of %s: %w", provider, err)
	}
	return trends, nil
}

// readTrends reads the provider's catalogue indicators of every cycle up to
// the year (0: every year), grouped per code and unit.
func readTrends(ctx context.Context, q sqlx.QueryerContext, provider string, upTo int) ([]IndicatorTrend, error) {
	var rows []struct {
		Code          string   `db:"code"`
		NameFI        string   `db:"name_fi"`
		NameEN        string   `db:"name_en"`
		Unit          string   `db:"unit_code"`
		UnitOfMeasure string   `db:"unit"`
		Better        string   `db:"better"`
		Year          int      `db:"year"`
		CycleID       string   `db:"cycle_id"`
		Value         *float64 `db:"value"`
		Target        float64  `db:"target"`
		Reason        *string  `db:"not_measured_reason"`
	}
	const qTrends = `
SELECT i.code, i.name_fi, i.name_en, i.unit_code, i.unit, i.better, c.year, c.id AS cycle_id,
    i.value, i.target, i.not_measured_reason
FROM indicators i JOIN cycles c ON c.id = i.cycle_id
WHERE c.provider_code = $1 AND i.code <> '' AND ($2 = 0 OR c.year <= $2)
  -- A year restarted after a failed attempt measured again: its last attempt counts.
  AND NOT EXISTS (SELECT 1 FROM cycles later WHERE later.provider_code = c.provider_code AND later.year = c.year AND later.attempt > c.attempt)
ORDER BY i.code COLLATE "C", i.unit_code COLLATE "C", c.year`
	if err := sqlx.SelectContext(ctx, q, &rows, qTrends, provider, upTo); err != nil {
		return nil, fmt.Errorf("reading catalogue indicators: %w", dbError(err))
	}
	trends := []IndicatorTrend{}
	for _, r := range rows {
		n := len(trends)
		if n == 0 || trends[n-1].Code != r.Code || trends[n-1].Unit != r.Unit {
			trends = append(trends, IndicatorTrend{Code: r.Code, Unit: r.Unit, Points: []TrendPoint{}})
			n++
		}
		tr := &trends[n-1]
		// Rows come oldest first: the latest year's names win.
		tr.NameFI, tr.NameEN, tr.UnitOfMeasure, tr.Better = r.NameFI, r.NameEN, r.UnitOfMeasure, r.Better
		p := TrendPoint{Year: r.Year, CycleID: r.CycleID, Value: r.Value, Target: r.Target, Better: r.Better}
		switch {
		case r.Value == nil:
			p.Status = TrendNotMeasured
			if r.Reason != nil {
				p.Reason = *r.Reason
			}
		case review.TargetMet(*r.Value, r.Target, r.Better):
			p.Status = TrendMet
		default:
			p.Status = TrendNotMet
		}
		tr.Points = append(tr.Points, p)
	}
	return trends, nil
}

// ChangeEffectiveness is how the units of a cycle rated one change the
// previous cycle published: the count of each rating and each unit's rating
// with its note, so that a change most units found not effective stands out.
type ChangeEffectiveness struct {
	ChangeID string `json:"change_id"`
	// Section and Text are what the change said; empty when the previous
	// cycle has no such change.
	Section      string       `json:"section,omitempty"`
	Text         string       `json:"text,omitempty"`
	Effective    int          `json:"effective"`
	Partly       int          `json:"partly"`
	NotEffective int          `json:"not_effective"`
	Ratings      []UnitRating `json:"ratings"`
	// Unrated are the units that have not rated the change (yet).
	Unrated []string `json:"unrated"`
}

// Rated is how many units rated the change.
func (c ChangeEffectiveness) Rated() int { return c.Effective + c.Partly + c.NotEffective }

// UnitRating is one unit's rating of a change.
type UnitRating struct {
	Unit   string `json:"unit"`
	Rating string `json:"rating"`
	Note   string `json:"note,omitempty"`
}

// readAcrossCycles fills what the report shows across cycles: the trends of
// the cycle's catalogue indicators over the provider's cycles up to this one,
// in catalogue order and by unit, and the units' ratings of every change of
// the previous cycle. It reads tr.Cycle, tr.PreviousCycle and tr.Units.
func readAcrossCycles(ctx context.Context, q sqlx.QueryerContext, tr *Trace) error {
	catalogue, err := decodeCatalogue(tr.Cycle.Config, tr.Cycle.ID)
	if err != nil {
		return err
	}
	tr.Trends = []IndicatorTrend{}
	if len(catalogue) > 0 {
		all, err := readTrends(ctx, q, tr.Provider, tr.Cycle.Year)
		if err != nil {
			return err
		}
		for _, code := range catalogue.Codes() {
			for _, t := range all {
				if t.Code == code {
					tr.Trends = append(tr.Trends, t)
				}
			}
		}
	}

	changes := []TraceChange{}
	if tr.PreviousCycle != "" {
		const qChanges = `
SELECT pc.round, pc.change_id, pc.section, pc.text, pc.rationale, pc.addresses
FROM plan_changes pc JOIN plan_versions pv ON pv.cycle_id = pc.cycle_id AND pv.round = pc.round
WHERE pc.cycle_id = $1
ORDER BY pc.change_id`
		if err := sqlx.SelectContext(ctx, q, &changes, qChanges, tr.PreviousCycle); err != nil {
			return fmt.Errorf("reading the previous cycle's changes: %w", dbError(err))
		}
	}
	// The units that rate are those with an evaluate task in this cycle, not
	// every unit the organisation has now.
	evaluating := []string{}
	const qEvaluating = `SELECT unit_code FROM tasks WHERE cycle_id = $1 AND kind = 'evaluate'`
	if err := sqlx.SelectContext(ctx, q, &evaluating, qEvaluating, tr.Cycle.ID); err != nil {
		return fmt.Errorf("reading the units' evaluate tasks: %w", dbError(err))
	}
	tr.Effectiveness = summariseRatings(changes, tr.Units, evaluating)
	return nil
}

// summariseRatings gathers the units' ratings per change: every change of
// the previous cycle, then any other change a unit rated, in ID order. A unit
// of evaluating that has not rated a change is listed as unrated.
func summariseRatings(changes []TraceChange, units []TraceUnit, evaluating []string) []ChangeEffectiveness {
	out := []ChangeEffectiveness{}
	at := map[string]int{}
	add := func(id, section, text string) {
		at[id] = len(out)
		out = append(out, ChangeEffectiveness{ChangeID: id, Section: section, Text: text, Ratings: []UnitRating{}, Unrated: []string{}})
	}
	for _, c := range changes {
		add(c.ID, c.Section, c.Text)
	}
	var others []string
	for _, u := range units {
		for _, r := range u.Effectiveness {
			if _, ok := at[r.ChangeID]; !ok && !slices.Contains(others, r.ChangeID) {
				others = append(others, r.ChangeID)
			}
		}
	}
	slices.Sort(others)
	for _, id := range others {
		add(id, "", "")
	}
	for i := range out {
		c := &out[i]
		for _, u := range units {
			j := slices.IndexFunc(u.Effectiveness, func(r TraceRating) bool { return r.ChangeID == c.ChangeID })
			if j < 0 {
				if slices.Contains(evaluating, u.Code) {
					c.Unrated = append(c.Unrated, u.Code)
				}
				continue
			}
			r := u.Effectiveness[j]
			c.Ratings = append(c.Ratings, UnitRating{Unit: u.Code, Rating: r.Rating, Note: r.Note})
			switch r.Rating {
			case "effective":
				c.Effective++
			case "partly":
				c.Partly++
			case "not_effective":
				c.NotEffective++
			}
		}
	}
	return out
}
