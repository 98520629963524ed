package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// pageRow is one line of the pages benchmark's table.
type pageRow struct {
	Page   string `json:"page"`
	As     string `json:"as"`
	P50    string `json:"p50"`
	P95    string `json:"p95"`
	HTML   string `json:"html"`
	Budget string `json:"within_budget"`
}

// readPages takes the rows of the table bench/pages printed (its columns:
// page, as, status, p50, p95, max, HTML, within budget).
func readPages(path string) ([]pageRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the pages benchmark's table: %w", err)
	}
	defer f.Close()
	gap := regexp.MustCompile(`\s{2,}`)
	var rows []pageRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := gap.Split(strings.TrimSpace(sc.Text()), -1)
		if len(cols) != 8 || !strings.HasPrefix(cols[0], "/") {
			continue
		}
		rows = append(rows, pageRow{Page: cols[0], As: cols[1], P50: cols[3], P95: cols[4], HTML: cols[6], Budget: cols[7]})
	}
	return rows, sc.Err()
}

// printTable writes the run's one table, in Markdown.
func printTable(w io.Writer, r report) {
	fmt.Fprintf(w, "\nOHO benchmarks, %s, %d CPUs (%s), %s, Temporal SDK %s, server %s\n\n",
		r.Date.Format("2006-01-02 15:04 UTC"), r.Machine.CPUs, r.Machine.CPUModel, r.Machine.Go, r.Machine.SDK, r.Machine.Server)
	fmt.Fprintln(w, "| benchmark | case | p50 | p99 | slowest | rate | against the baselines | goal |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- |")
	row := func(cols ...string) { fmt.Fprintf(w, "| %s |\n", strings.Join(cols, " | ")) }
	for _, t := range r.RoundTrip {
		name := fmt.Sprintf("1 complete task, %d client%s", t.Clients, plural(t.Clients))
		lat := func(s stats) []string {
			return []string{ms(s.P50), ms(s.P99), ms(s.Max), fmt.Sprintf("%.1f/s", s.PerSec)}
		}
		row(append(append([]string{name, "(a) bare Update, no activity"}, lat(t.BareA)...), "", "")...)
		row(append(append([]string{name, "(b) bare Update, one activity"}, lat(t.BareB)...), "", "")...)
		vs := fmt.Sprintf("p50 %.2f×(a) %.2f×(b); p99 %.2f×(b); rate %.2f×(b)", t.P50OverA, t.P50OverB, t.P99OverB, t.RateOverB)
		goal := fmt.Sprintf("p50 ≤ 0.6×(b) %s; ≤ 1.3×(a) %s", met(t.GoalP50B), met(t.GoalP50A))
		if t.GoalRateMet != nil {
			goal += "; rate ≥ 1.5×(b) " + met(*t.GoalRateMet)
		}
		if t.OHO.Errors > 0 {
			goal += fmt.Sprintf("; %d FAILED", t.OHO.Errors)
		}
		row(append(append([]string{name, "OHO `service.CompleteTask`"}, lat(t.OHO)...), vs, goal)...)
	}
	if c := r.Cycles; c != nil {
		name := fmt.Sprintf("2 whole cycles, %d × %d units", c.Cycles, c.Units)
		cyc := func(x cyclesRun) []string {
			return []string{ms(x.Cycle.P50), ms(x.Cycle.P99), ms(x.Cycle.Max), fmt.Sprintf("%.1f/min, all in %.1f s", x.PerMinute, x.Seconds)}
		}
		n := c.Cycles * c.UpdatesPerCycle
		row(append(append([]string{name, fmt.Sprintf("(a) bare, %d Updates, no activity", n)}, cyc(c.BareA)...), fmt.Sprintf("Update p50 %s", ms(c.BareA.Update.P50)), "")...)
		row(append(append([]string{name, fmt.Sprintf("(b) bare, %d Updates, one activity", n)}, cyc(c.BareB)...), fmt.Sprintf("Update p50 %s", ms(c.BareB.Update.P50)), "")...)
		vs := fmt.Sprintf("time %.2f×(a) %.2f×(b); completion p50 %s", c.TimeOverA, c.TimeOverB, ms(c.OHO.Update.P50))
		if w := c.OHO.OpenWait; w != nil {
			vs += fmt.Sprintf("; a cycle waited %s (p50) for its tasks to open", ms(w.P50))
		}
		row(append(append([]string{name, fmt.Sprintf("OHO, %d completions through `service`", n)}, cyc(c.OHO)...), vs, "none set")...)
	}
	for _, s := range r.SignOffs {
		goal := ""
		if s.GoalMet != nil {
			goal = "p99 ≤ 2 s, all once: " + met(*s.GoalMet)
		}
		once := fmt.Sprintf("recorded %d/%d, audited %d", s.Recorded, s.Heads, s.Completed)
		if s.Sign.Errors > 0 {
			once += fmt.Sprintf(", %d failed", s.Sign.Errors)
		}
		row(fmt.Sprintf("7 everyone at once, %d heads", s.Heads), "sign the same draft at once", ms(s.Sign.P50), ms(s.Sign.P99), ms(s.Sign.Max),
			fmt.Sprintf("all in %.1f s", s.Sign.Seconds), once, goal)
	}
	if h := r.History; h != nil {
		name := fmt.Sprintf("6 history, %d units × %d rounds", h.Units, h.Rounds)
		row(name, fmt.Sprintf("parent: %d events", h.ParentEvents), "", "", "", fmt.Sprintf("replay %s", ms(h.ParentReplay)), "",
			"< 10,240 events "+met(h.GoalMet))
		row(name, fmt.Sprintf("one unit: %d events", h.UnitEvents), "", "", "", fmt.Sprintf("replay %s", ms(h.UnitReplay)), "", "")
	}
	if a := r.Audit; a != nil {
		row(fmt.Sprintf("4 audit append, %d writers", a.Writers), fmt.Sprintf("%d events", a.Append.N), ms(a.Append.P50), ms(a.Append.P99), ms(a.Append.Max),
			fmt.Sprintf("%.0f/s", a.Append.PerSec), "chain after: "+okBroken(a.ChainOK), "≥ 2,500/s "+met(a.GoalAppend))
		fill := "none needed"
		if a.Filled > 0 {
			fill = fmt.Sprintf("filled %d by bulk INSERT at %.0f/s", a.Filled, a.FillPerSec)
		}
		row("4 audit verify", fmt.Sprintf("%d events (%s)", a.Verified, fill), "", "", fmt.Sprintf("%.1f s", a.VerifySeconds),
			fmt.Sprintf("%.0f/s", a.VerifyPerSec), okBroken(a.VerifyOK), "≥ 100,000/s "+met(a.GoalVerify))
	}
	if s := r.Scale; s != nil {
		name := fmt.Sprintf("5 one worker, %d cycles × %d units", s.Cycles, s.Units)
		cache := ""
		if s.Cache != "" {
			cache = ", OHO_WORKFLOW_CACHE=" + s.Cache
		}
		goal := ""
		if s.GoalMet != nil {
			goal = "RSS ≤ 150 MB " + met(*s.GoalMet)
		}
		row(name, fmt.Sprintf("hold %d workflows, %d open tasks%s", s.Workflows, s.Tasks, cache), "", "", fmt.Sprintf("%.1f s", s.OpenSecs),
			fmt.Sprintf("%.1f tasks/s opened", s.TasksPerSec),
			fmt.Sprintf("RSS %.0f MB (idle %.0f, peak %.0f); %d workflows cached, %.0f kB each", s.OpenRSSMB, s.IdleRSSMB, s.OpenPeakMB, s.Open.Cached, s.KBPerCached), goal)
		row(name, "restart: every workflow answers a query", "", "", fmt.Sprintf("%.1f s", s.PickupSecs),
			fmt.Sprintf("%.0f replays/s", s.PickupPerSec),
			fmt.Sprintf("RSS after %.0f MB (peak %.0f); polling after %.1f s", s.AfterRSSMB, s.AfterPeakMB, s.PollSecs), "")
	}
	for _, cells := range inboxCells(r.Inbox) {
		row(cells...)
	}
	for _, p := range r.Pages {
		row("pages (p95 in p99's column)", fmt.Sprintf("`%s` as %s, %s", p.Page, p.As, p.HTML), p.P50, p.P95, "", "", "", "p95 ≤ 50 ms, ≤ 100 KB: "+p.Budget)
	}
	if len(r.Missing) > 0 {
		fmt.Fprintln(w, "\nnot measured:")
		for _, m := range r.Missing {
			fmt.Fprintln(w, "  -", m)
		}
	}
}

func ms(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func okBroken(ok bool) string {
	if ok {
		return "ok"
	}
	return "BROKEN"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
