package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// defaultWorkflowCache is how many workflows the worker keeps in memory
// between their tasks when OHO_WORKFLOW_CACHE is not set.
//
// Temporal's Go SDK keeps up to 10,000 by default (its sticky cache), and
// each of OHO's waiting workflows held there costs the worker about 90 to
// 100 kB of resident memory: its state, and the goroutines of its
// coroutines (a unit's own, and one for each open task's deadline timers,
// about 11 kB of stack each). So the worker grew with every open workflow:
// 131 MB with 100 open cycles of 10 units (1,100 workflows), 328 MB with
// 300 and 941 MB with 1,000, against the goal of 150 MB with 1,000 (make
// bench, "5 one worker"); with 1,000 cached it held the 1,000 cycles in
// 136 MB. A workflow left out of the cache loses nothing: its next task (a
// completion, a timer) replays its history first, a few milliseconds for a
// unit or a small cycle. OHO's workflows wait days or weeks between tasks,
// so holding fewer of them costs little (README, "Configuration" and
// "Performance").
const defaultWorkflowCache = 1000

// maxWorkflowCache bounds OHO_WORKFLOW_CACHE at ten times the SDK's default,
// so that a slip of the keyboard cannot tell the worker to hold a million.
const maxWorkflowCache = 100_000

// workflowCacheFromEnv reads OHO_WORKFLOW_CACHE.
func workflowCacheFromEnv() (int, error) {
	return parseWorkflowCache(os.Getenv("OHO_WORKFLOW_CACHE"))
}

// parseWorkflowCache parses a number of workflows to keep in memory: empty
// gives defaultWorkflowCache, 0 keeps none (every task replays its
// workflow's history).
func parseWorkflowCache(raw string) (int, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return defaultWorkflowCache, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 || n > maxWorkflowCache {
		return 0, fmt.Errorf("OHO_WORKFLOW_CACHE must be a number of workflows from 0 to %d, such as %d (got %q)", maxWorkflowCache, defaultWorkflowCache, raw)
	}
	return n, nil
}
