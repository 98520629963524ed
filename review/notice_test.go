package review_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
)

// TestNoticeFactsFormat pins the JSON names of NoticeFacts: they are
// stored in the outbox, so a notice queued by one version of OHO is read by
// the next, and a renamed field would lose its value there.
func TestNoticeFactsFormat(t *testing.T) {
	for _, tt := range []struct {
		facts review.NoticeFacts
		want  string
	}{
		{
			review.NoticeFacts{Kind: review.NoticeExtended, TaskID: "A/2025/evaluate/N", TaskKind: review.KindEvaluate, Unit: "N",
				Role: review.RoleWelfareStaff, Assignee: "a.nurse", DueAt: time.Date(2025, 5, 7, 12, 0, 0, 0, time.UTC),
				Actor: "a.manager", Reason: "Late."},
			`{"kind":"extended","task_id":"A/2025/evaluate/N","task_kind":"evaluate","unit":"N","role":"welfare_staff",` +
				`"assignee":"a.nurse","due_at":"2025-05-07T12:00:00Z","actor":"a.manager","reason":"Late."}`,
		},
		{
			review.NoticeFacts{Kind: review.NoticePublished, Provider: "A", Year: 2025, Version: 3, EffectiveFrom: "2025-08-01"},
			`{"kind":"published","provider":"A","year":2025,"version":3,"effective_from":"2025-08-01"}`,
		},
	} {
		got, err := json.Marshal(tt.facts)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
	}
}
