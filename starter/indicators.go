package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/oho-dev/oho/render"
)

// indicatorTrends prints a provider's catalogue indicators across its
// cycles: as a table, as JSON, or as CSV (render.TrendsCSV) for a
// spreadsheet.
func (a *app) indicatorTrends(ctx context.Context, args []string) error {
	fs := newFlags("indicators trends")
	provider := fs.String("provider", "", "provider code")
	asJSON := fs.Bool("json", false, "print JSON")
	asCSV := fs.Bool("csv", false, "print CSV")
	as := readAs(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "provider"); err != nil {
		return err
	}
	if *asJSON && *asCSV {
		return usagef("indicators trends: choose --json or --csv, not both")
	}
	actor, svc, err := a.readerService(ctx, *as)
	if err != nil {
		return err
	}
	trends, err := svc.IndicatorTrends(ctx, actor, *provider)
	if err != nil {
		return err
	}
	switch {
	case *asJSON:
		return a.printJSON(trends)
	case *asCSV:
		return render.TrendsCSV(a.stdout, trends)
	}
	if len(trends) == 0 {
		a.printf("no catalogue indicators recorded for %s\n", *provider)
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tINDICATOR\tUNIT\tYEAR\tVALUE\tTARGET\tSTATUS")
	for _, tr := range trends {
		for _, p := range tr.Points {
			value, status := "-", strings.ReplaceAll(p.Status, "_", " ")
			if p.Value != nil {
				value = measure(*p.Value, tr.UnitOfMeasure)
			}
			if p.Reason != "" {
				status += ": " + p.Reason
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s %s\t%s\n", tr.Code, tr.NameEN, tr.Unit, p.Year, value,
				measure(p.Target, tr.UnitOfMeasure), direction(p.Better), status)
		}
	}
	return tw.Flush()
}

// measure writes a number with its unit of measure: "78.5 %".
func measure(v float64, unit string) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if unit != "" {
		s += " " + unit
	}
	return s
}

// direction says whether a target is a minimum or a maximum.
func direction(better string) string {
	if better == "lower" {
		return "(max)"
	}
	return "(min)"
}
