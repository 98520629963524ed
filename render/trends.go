package render

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// TrendsCSV writes indicator trends as CSV with a header row, one row per
// indicator, unit and year, for a spreadsheet: the value (empty when not
// measured), the target of that year, and the status as data — met, not_met
// or not_measured — with the reason when not measured.
func TrendsCSV(w io.Writer, trends []store.IndicatorTrend) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"code", "name_fi", "name_en", "unit", "year", "value", "target", "unit_of_measure", "better", "status", "reason"}); err != nil {
		return fmt.Errorf("writing the trends as CSV: %w", err)
	}
	for _, tr := range trends {
		for _, p := range tr.Points {
			value := ""
			if p.Value != nil {
				value = number(*p.Value)
			}
			if err := cw.Write([]string{tr.Code, tr.NameFI, tr.NameEN, tr.Unit, strconv.Itoa(p.Year), value, number(p.Target),
				tr.UnitOfMeasure, p.Better, p.Status, p.Reason}); err != nil {
				return fmt.Errorf("writing the trend of %s in %s as CSV: %w", tr.Code, tr.Unit, err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing the trends as CSV: %w", err)
	}
	return nil
}

func number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// indicatorName names a trend's indicator in both languages with its code.
func indicatorName(tr store.IndicatorTrend) string {
	name := tr.NameEN
	if tr.NameFI != "" && tr.NameFI != tr.NameEN {
		name = tr.NameFI + " / " + tr.NameEN
	}
	return name + " (" + tr.Code + ")"
}

// pointText says what a cycle recorded of an indicator, status in words:
// never by colour alone.
func pointText(p store.TrendPoint, unit string) string {
	status := words(p.Status)
	if p.Value == nil {
		if p.Reason == "" {
			return status
		}
		return status + ": " + p.Reason
	}
	return fmt.Sprintf("%s (target %s): %s", quantity(*p.Value, unit), quantity(p.Target, unit), status)
}

// trendsSection shows the cycle's catalogue indicators in every cycle of the
// provider up to this one: one row per indicator and unit, one column per
// year.
func trendsSection(d *doc, tr store.Trace) {
	d.h(2, "8. Indicator trends across cycles")
	if len(tr.Trends) == 0 {
		d.p("No trend to show: indicators are followed from year to year when the cycle's configuration defines them in its " +
			"indicator catalogue and the units report on them by code, and none has been recorded for this cycle's catalogue.")
		return
	}
	var years []int
	for _, t := range tr.Trends {
		for _, p := range t.Points {
			if !slices.Contains(years, p.Year) {
				years = append(years, p.Year)
			}
		}
	}
	slices.Sort(years)
	d.p("The indicators of this cycle's catalogue, unit by unit, in every cycle of %s up to %d: the value against that year's "+
		"target, and whether the target was met (\"met\", \"not met\"), or why the indicator was not measured.", tr.ProviderName, tr.Cycle.Year)
	head := []string{"Indicator", "Unit", "Target reached when the value is"}
	for _, y := range years {
		head = append(head, strconv.Itoa(y))
	}
	t := &table{Head: head}
	for _, trend := range tr.Trends {
		reached := "at or above the target"
		if trend.Better == "lower" {
			reached = "at or below the target"
		}
		cells := []cell{txt("%s", indicatorName(trend)), code(trend.Unit), txt("%s", reached)}
		for _, y := range years {
			i := slices.IndexFunc(trend.Points, func(p store.TrendPoint) bool { return p.Year == y })
			if i < 0 {
				cells = append(cells, txt("not recorded"))
				continue
			}
			cells = append(cells, txt("%s", pointText(trend.Points[i], trend.UnitOfMeasure)))
		}
		t.row(cells...)
	}
	d.table(t, "")
}

// ratingWords words a rating for a sentence: "partly effective".
func ratingWords(rating string) string {
	if rating == "partly" {
		return "partly effective"
	}
	return words(rating)
}

// verdict sums up a change's ratings in words. A change rated not effective
// by most of the units that rated it is marked in capitals, so that it
// stands out in print and to a screen reader alike.
func verdict(c store.ChangeEffectiveness, running bool) string {
	n := c.Rated()
	if n == 0 {
		if running {
			return "not rated yet"
		}
		return "not rated"
	}
	of := func(k int) string { return fmt.Sprintf("%d of %s", k, plural(n, "unit", "units")) }
	if 2*c.NotEffective > n {
		return "NOT EFFECTIVE in " + of(c.NotEffective)
	}
	var parts []string
	for _, r := range []struct {
		rating string
		k      int
	}{{"effective", c.Effective}, {"partly", c.Partly}, {"not_effective", c.NotEffective}} {
		if r.k > 0 {
			parts = append(parts, ratingWords(r.rating)+" in "+of(r.k))
		}
	}
	return strings.Join(parts, "; ")
}

// effectivenessSection sums up, change by change, how the units rated the
// changes the previous cycle published: counts, a verdict in words and each
// unit's rating with its note.
func effectivenessSection(d *doc, tr store.Trace) {
	running := tr.Cycle.Status == review.CycleRunning
	d.h(2, "9. How last cycle's changes worked, across units")
	if tr.PreviousCycle == "" && len(tr.Effectiveness) == 0 {
		d.p("There was no earlier completed cycle whose changes could be rated.")
		return
	}
	d.p("Every change the previous cycle (%s) published, with how many units rated it effective, partly effective or not "+
		"effective. A change rated not effective by most of the units that rated it is marked NOT EFFECTIVE.", tr.PreviousCycle)
	var flagged []string
	for _, c := range tr.Effectiveness {
		if 2*c.NotEffective > c.Rated() {
			flagged = append(flagged, fmt.Sprintf("change %s (%s) was rated not effective in %d of %s", c.ChangeID, orNone(c.Section),
				c.NotEffective, plural(c.Rated(), "unit", "units")))
		}
	}
	if len(flagged) > 0 {
		d.notice("ATTENTION: " + strings.Join(flagged, "; ") + ".")
	}
	t := &table{Head: []string{"Change", "What it changed", "Effective", "Partly effective", "Not effective", "Not rated", "Summary"}}
	for _, c := range tr.Effectiveness {
		what := "(not found in the previous cycle)"
		if c.Text != "" {
			what = c.Section + ": " + c.Text
		}
		unrated := "none"
		if len(c.Unrated) > 0 {
			unrated = strings.Join(c.Unrated, ", ")
		}
		t.row(code(c.ChangeID), txt("%s", what), txt("%d", c.Effective), txt("%d", c.Partly), txt("%d", c.NotEffective),
			txt("%s", unrated), txt("%s", verdict(c, running)))
	}
	d.table(t, "The previous cycle published no changes.")
	t = &table{Head: []string{"Change", "Unit", "Rating", "Note"}}
	for _, c := range tr.Effectiveness {
		for _, r := range c.Ratings {
			t.row(code(c.ChangeID), code(r.Unit), txt("%s", ratingWords(r.Rating)), txt("%s", r.Note))
		}
	}
	if len(tr.Effectiveness) > 0 {
		d.table(t, "No unit has rated the changes yet.")
	}
}

func orNone(s string) string {
	if s == "" {
		return "no section"
	}
	return s
}
