package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// inboxRow is benchmark 3 as bench/pages measured it: service.Inbox called
// many times as one person, on a database with 10,000 open tasks and
// 1,000,000 done.
type inboxRow struct {
	As    string `json:"as"`
	Tasks int    `json:"tasks"`
	// Open is how many open tasks the database held.
	Open int    `json:"open_tasks"`
	P50  string `json:"p50"`
	P99  string `json:"p99"`
	Max  string `json:"max"`
	// Goal is "p99 ≤ 5 ms: met" or "…: MISSED".
	Goal string `json:"goal"`
}

// inboxOpen finds the number of open tasks in the line above the inbox's
// table ("service.Inbox: 2000 calls …; 10000 open tasks in the database").
var inboxOpen = regexp.MustCompile(`^service\.Inbox: .*; (\d+) open tasks`)

// readInbox takes the inbox's rows from the table bench/pages printed (its
// columns: inbox, as, tasks, p50, p99, max, goal); none when it printed no
// such table.
func readInbox(path string) ([]inboxRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the pages benchmark's table: %w", err)
	}
	defer f.Close()
	gap := regexp.MustCompile(`\s{2,}`)
	var rows []inboxRow
	open := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := inboxOpen.FindStringSubmatch(line); m != nil {
			open, _ = strconv.Atoi(m[1])
			continue
		}
		cols := gap.Split(line, -1)
		if len(cols) != 7 || cols[0] != "service.Inbox" {
			continue
		}
		tasks, err := strconv.Atoi(cols[2])
		if err != nil {
			return nil, fmt.Errorf("the pages benchmark's inbox row %q: %w", line, err)
		}
		rows = append(rows, inboxRow{As: cols[1], Tasks: tasks, Open: open, P50: cols[3], P99: cols[4], Max: cols[5], Goal: cols[6]})
	}
	return rows, sc.Err()
}

// inboxCells are the table's cells for benchmark 3's rows.
func inboxCells(rows []inboxRow) [][]string {
	var out [][]string
	for _, x := range rows {
		out = append(out, []string{fmt.Sprintf("3 inbox, %d open tasks", x.Open),
			fmt.Sprintf("`service.Inbox` as %s, %d tasks", x.As, x.Tasks), x.P50, x.P99, x.Max, "", "", x.Goal})
	}
	return out
}
