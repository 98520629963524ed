package service

import (
	"encoding/json"
	"testing"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/workflows"
)

// TestCompletionKey holds a completion's Update ID to the completion: the
// same outcome however it is written, through any front end, is one
// Update; another outcome, task or person is another.
func TestCompletionKey(t *testing.T) {
	key := func(id, actor, outcome string, via review.Via) string {
		b, err := json.Marshal(completionKey(workflows.CompleteTaskRequest{TaskID: id, Actor: actor, Outcome: json.RawMessage(outcome), Via: via}))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	const script = `{"findings":[{"id":"F1","severity":"major"}],"participants":48}`
	api := review.Via{Channel: review.ChannelAPI, Ref: "tok_1"}
	cli := review.Via{Channel: review.ChannelCLI, Ref: "operator"}
	base := key("T", "north.staff", script, api)
	for _, same := range []string{
		script,
		"{\n  \"participants\": 48.0,\n  \"findings\": [\n    {\"severity\": \"major\", \"id\": \"F1\"}\n  ]\n}\n",
		`{"participants":4.8e1,"findings":[{"id":"F1","severity":"major"}]}`,
	} {
		if got := key("T", "north.staff", same, cli); got != base {
			t.Errorf("the outcome %s through another front end has key %s, want %s", same, got, base)
		}
	}
	for _, other := range []string{
		key("T", "north.staff", `{"findings":[{"id":"F1","severity":"minor"}],"participants":48}`, api),
		key("T", "north.staff", `{"findings":[{"id":"F1","severity":"major"}],"participants":49}`, api),
		key("T", "north.staff", `{"participants":48,"findings":[{"id":"F1","severity":"major"}],"note":null}`, api),
		key("T", "south.staff", script, api),
		key("U", "north.staff", script, api),
	} {
		if other == base {
			t.Errorf("another completion has the same key %s", other)
		}
	}
	// What does not decode is kept as it is (and refused before any
	// Update is sent).
	if got := canonicalJSON(json.RawMessage(`{"a":`)); string(got) != `{"a":` {
		t.Errorf("canonicalJSON of a broken document: got %s", got)
	}
}
