package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/workflows"
)

// scheduleFlags parses a schedule command's flags, refusing missing required
// ones (a usage error).
func scheduleFlags(fs *flag.FlagSet, args []string, provider *string, need ...string) error {
	fs.StringVar(provider, "provider", "", "provider code")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, n := range append([]string{"provider"}, need...) {
		if !given[n] {
			return usagef("%s needs --%s", fs.Name(), n)
		}
	}
	return nil
}

// scheduleSet creates the provider's yearly schedule, or replaces the date,
// hour and config of the one it has.
func (a *app) scheduleSet(ctx context.Context, args []string) error {
	fs := newFlags("schedule set")
	var in service.SetSchedule
	fs.IntVar(&in.Month, "month", 0, "month, 1-12")
	fs.IntVar(&in.Day, "day", 0, "day of the month")
	fs.IntVar(&in.Hour, "hour", 6, "hour, 0-23, in "+workflows.ScheduleTimeZone)
	configFile := fs.String("config", "", "cycle config file (JSON)")
	as := fs.String("as", "", "manager setting the schedule")
	if err := scheduleFlags(fs, args, &in.Provider, "month", "day", "as"); err != nil {
		return err
	}
	actor, err := a.as(ctx, *as)
	if err != nil {
		return err
	}
	if *configFile != "" {
		if in.Config, err = readConfig(*configFile); err != nil {
			return err
		}
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	res, err := svc.SetSchedule(ctx, actor, in)
	if err != nil {
		return err
	}
	loc, err := svc.ProviderLocation(ctx, actor, in.Provider)
	if err != nil {
		return err
	}
	if res.Warning != "" {
		fmt.Fprintf(a.stderr, "warning: %s; the schedule is set all the same, but its cycle will not start unless the roles are filled by then\n", oneLine(res.Warning))
	}
	a.printf("yearly schedule %s %s: %s; next run %s\n", res.ScheduleID, res.Change, res.Date, formatRun(res.Next, loc))
	return nil
}

// formatRun writes the time of a schedule's run in the provider's zone, as
// every time the command line shows of a provider.
func formatRun(t time.Time, loc *time.Location) string {
	return render.When(t, loc, render.English)
}

func (a *app) scheduleShow(ctx context.Context, args []string) error {
	fs := newFlags("schedule show")
	var provider string
	asJSON := fs.Bool("json", false, "print JSON")
	as := readAs(fs)
	if err := scheduleFlags(fs, args, &provider); err != nil {
		return err
	}
	actor, err := a.reader(ctx, *as)
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	s, err := svc.Schedule(ctx, actor, provider)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(s)
	}
	loc, err := svc.ProviderLocation(ctx, actor, provider)
	if err != nil {
		return err
	}

	when := service.YearlyDate{Month: s.Month, Day: s.Day, Hour: s.Hour}.String()
	if !s.OurSpec {
		when = "on a calendar changed outside OHO (set it again with 'starter schedule set')"
	}
	a.printf("yearly schedule %s: %s\n", s.ScheduleID, when)
	if s.Paused {
		a.printf("paused: %s\n", s.Note)
	} else if s.Note != "" {
		a.printf("note: %s\n", s.Note)
	}
	runs := make([]string, len(s.NextRuns))
	for i, t := range s.NextRuns {
		runs[i] = formatRun(t, loc)
	}
	if len(runs) == 0 {
		runs = []string{"none"}
	}
	a.printf("next runs: %s\n", strings.Join(runs, ", "))
	if len(s.RecentActions) == 0 {
		a.printf("recent actions: none\n")
		return nil
	}
	a.printf("recent actions:\n")
	for _, r := range s.RecentActions {
		a.printf("  %s  started %s\n", formatRun(r.StartedAt, loc), r.WorkflowID)
	}
	return nil
}

func (a *app) scheduleDelete(ctx context.Context, args []string) error {
	fs := newFlags("schedule delete")
	var provider string
	as := fs.String("as", "", "manager deleting the schedule")
	if err := scheduleFlags(fs, args, &provider, "as"); err != nil {
		return err
	}
	actor, err := a.as(ctx, *as)
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	if err := svc.DeleteSchedule(ctx, actor, provider); err != nil {
		return err
	}
	id := workflows.ScheduleID(provider)
	a.printf("yearly schedule %s deleted; cycles it started go on\n", id)
	return nil
}
