package service

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// TestInvalidInputKeepsItsProblems checks that a refusal of invalid input
// keeps check's problems, each named as its field is in Fields (with the
// input's prefix), while its message and fields, the words of the command
// line and the API, stay as they were.
func TestInvalidInputKeepsItsProblems(t *testing.T) {
	const id = "DEMO/2027/consult/NORTH"
	for _, c := range []struct {
		name, outcome, msg string
		fields             map[string]string
		problems           []check.Problem
	}{
		{
			name:    "tags broken",
			outcome: `{"participants": 12, "held_on": "10.3.2026", "feedback": []}`,
			msg:     `outcome of task ` + id + `: method is required; held_on must be a date written as YYYY-MM-DD (got "10.3.2026")`,
			fields: map[string]string{"outcome.method": "method is required",
				"outcome.held_on": `held_on must be a date written as YYYY-MM-DD (got "10.3.2026")`},
			problems: []check.Problem{
				{Field: "outcome.method", Text: "method is required", Tag: "required"},
				{Field: "outcome.held_on", Text: `held_on must be a date written as YYYY-MM-DD (got "10.3.2026")`, Tag: "datetime",
					Param: "2006-01-02", Value: "10.3.2026"},
			},
		},
		{
			name:     "an unknown field",
			outcome:  `{"method": "survey", "student": "Anna"}`,
			msg:      `the outcome of task ` + id + ` has an unknown field "student" (only the documented fields are accepted)`,
			fields:   map[string]string{"outcome": `the outcome of task ` + id + ` has an unknown field "student" (only the documented fields are accepted)`},
			problems: []check.Problem{{Field: "outcome", Text: `the outcome of task ` + id + ` has an unknown field "student" (only the documented fields are accepted)`, Tag: check.TagUnknownField, Param: "student"}},
		},
		{
			name:     "a wrong type",
			outcome:  `{"participants": "many"}`,
			msg:      `the outcome of task ` + id + `: participants must be a number, not string`,
			fields:   map[string]string{"outcome": `the outcome of task ` + id + `: participants must be a number, not string`},
			problems: []check.Problem{{Field: "outcome.participants", Text: `the outcome of task ` + id + `: participants must be a number, not string`, Tag: check.TagType, Param: "number", Value: "string"}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := checkOutcome(id, review.KindConsult, []byte(c.outcome))
			if !errors.Is(err, ErrInvalid) || err.Error() != c.msg {
				t.Errorf("got %v, want the refusal %q", err, c.msg)
			}
			if got := FieldsOf(err); !reflect.DeepEqual(got, c.fields) {
				t.Errorf("got the fields %v, want %v", got, c.fields)
			}
			if got := ProblemsOf(err); !reflect.DeepEqual(got, c.problems) {
				t.Errorf("got the problems %+v, want %+v", got, c.problems)
			}
		})
	}

	// A rule of the domain's, beside a tag, in one refusal: its problem has
	// no tag, and only its sentence says it.
	_, err := DecodeConfig([]byte(`{"indicators": [{"code": "SAFE", "name_fi": "a", "name_en": "a", "target": 1},
		{"code": "SAFE", "name_fi": "b", "name_en": "b", "target": 2}]}`), "cycle.json")
	want := []check.Problem{{Field: "config.indicators[1].code", Text: `indicators[1].code "SAFE" is already the code of indicators[0]: codes must be unique`}}
	if got := ProblemsOf(err); !reflect.DeepEqual(got, want) {
		t.Errorf("a duplicate code: got %+v, want %+v", got, want)
	}
	if got := ProblemsOf(invalid("year", "year %d is not a year between 2000 and 2999", 1999)); got != nil {
		t.Errorf("a refusal of the service's own: got the problems %+v, want none", got)
	}
}

// TestWhyUnanswered says why a change got no answer in time from what can
// be seen: the database the worker writes to not answering comes first,
// then whether Temporal knows of a worker.
func TestWhyUnanswered(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t)
	s := New(Config{Store: store.New(db), TaskQueue: "oho-test",
		Temporal: func(context.Context) (client.Client, error) { return nil, errors.New("no Temporal here") }})
	const what = "task DEMO/2027/consult/NORTH"
	if got, want := s.whyUnanswered(ctx, what), "no worker answered within 1m0s for "+what+": is the worker running (bin/worker)?"; got != want {
		t.Errorf("database up, Temporal unknown: got %q, want %q", got, want)
	}
	db.Close()
	got := s.whyUnanswered(ctx, what)
	if !strings.HasPrefix(got, what+" is not recorded yet: the database does not answer") ||
		!strings.HasSuffix(got, "it is written once the database is back, and sending it again then is safe") {
		t.Errorf("database down: got %q", got)
	}
}
