package render

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/oho-dev/oho/store"
)

// EventsCSV writes audit events as CSV with a header row, for a spreadsheet.
// Times are RFC 3339 in UTC whoever opens the file, and the payload is one
// column of JSON: the file is data to check, not words to read.
func EventsCSV(w io.Writer, events []store.Event) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"seq", "id", "at", "actor", "action", "subject", "cycle_id", "workflow_id", "run_id", "payload", "prev_hash", "hash"}); err != nil {
		return fmt.Errorf("writing the audit log as CSV: %w", err)
	}
	for _, e := range events {
		if err := cw.Write([]string{strconv.FormatInt(e.Seq, 10), strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Subject,
			e.CycleID, e.WorkflowID, e.RunID, string(e.Payload), e.PrevHash, e.Hash}); err != nil {
			return fmt.Errorf("writing audit event %d as CSV: %w", e.Seq, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing the audit log as CSV: %w", err)
	}
	return nil
}
