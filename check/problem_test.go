package check_test

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/oho-dev/oho/check"
)

// brokenBy holds, for each validator tag, an input that breaks it alone.
var brokenBy = map[string]any{
	"required": struct {
		A string `json:"a" validate:"required"`
	}{},
	"required_without": struct {
		Ref   string `json:"ref"`
		Label string `json:"label" validate:"required_without=Ref"`
	}{},
	"required_if": struct {
		Decision string `json:"decision"`
		Since    string `json:"since" validate:"required_if=Decision approve"`
	}{Decision: "approve"},
	"oneof": struct {
		Kind string `json:"kind" validate:"oneof=a b"`
	}{Kind: "c"},
	"min": struct {
		N int `json:"n" validate:"min=1"`
	}{},
	"max": struct {
		S string `json:"s" validate:"max=2"`
	}{S: "abc"},
	"len": struct {
		H string `json:"h" validate:"len=4"`
	}{H: "abc"},
	"datetime": struct {
		Day string `json:"day" validate:"datetime=2006-01-02"`
	}{Day: "10.3.2026"},
	"code": struct {
		Code string `json:"code" validate:"code"`
	}{Code: "a/b"},
	"person": struct {
		ID string `json:"id" validate:"person"`
	}{ID: "Anna V"},
	"email": struct {
		Email string `json:"email" validate:"email"`
	}{Email: "anna at school"},
	"url": struct {
		Issuer string `json:"issuer" validate:"url"`
	}{Issuer: "not an address"},
	"unique": struct {
		Tags []inner `json:"tags" validate:"unique=Code"`
	}{Tags: []inner{{"a"}, {"a"}}},
	"hexadecimal": struct {
		Hash string `json:"hash" validate:"hexadecimal"`
	}{Hash: "xyz"},
	"gte": struct {
		N int `json:"n" validate:"gte=5"`
	}{N: 4},
	"lte": struct {
		N int `json:"n" validate:"lte=5"`
	}{N: 6},
	"timezone": struct {
		Zone string `json:"time_zone" validate:"timezone"`
	}{Zone: "Mars/Base"},
	"gtefield": struct {
		From int `json:"from"`
		To   int `json:"to" validate:"gtefield=From"`
	}{From: 2, To: 1},
}

// TestEveryTagOfOHOsTypesIsStructured reads the validate tags of every
// type in OHO's packages and checks that each tag they use breaks into a
// problem that carries the tag, so that a front end can say it in its
// reader's words.
func TestEveryTagOfOHOsTypesIsStructured(t *testing.T) {
	used := map[string]string{}
	for _, dir := range []string{"review", "store", "service", "workflows", "web", "check"} {
		files, err := filepath.Glob(filepath.Join("..", dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			for _, tag := range validateTags(t, f) {
				used[tag] = f
			}
		}
	}
	for _, want := range []string{"required", "oneof", "max", "datetime", "code", "person"} {
		if used[want] == "" {
			t.Fatalf("found no use of %q in OHO's types: the search no longer finds the tags (found %v)", want, used)
		}
	}
	for tag, file := range used {
		in, ok := brokenBy[tag]
		if !ok {
			t.Errorf("%s uses the tag %q, which this test has no input for", file, tag)
			continue
		}
		problems := check.ProblemsOf(check.Struct(in))
		if len(problems) != 1 || problems[0].Tag != tag || problems[0].Field == "" || problems[0].Text == "" {
			t.Errorf("%q: got %+v, want one problem with the tag, its field and a sentence", tag, problems)
		}
	}
}

// validateTags returns the names of the rules in the validate tags of the
// file's struct fields ("required", "max"; not "omitempty" or "dive").
func validateTags(t *testing.T, file string) []string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), file, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		field, ok := n.(*ast.Field)
		if !ok || field.Tag == nil {
			return true
		}
		raw, err := strconv.Unquote(field.Tag.Value)
		if err != nil {
			t.Fatalf("%s: tag %s: %v", file, field.Tag.Value, err)
		}
		for _, rule := range strings.Split(reflect.StructTag(raw).Get("validate"), ",") {
			name, _, _ := strings.Cut(rule, "=")
			if name != "" && name != "omitempty" && name != "dive" && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
		return true
	})
	return out
}

// TestProblemFacts checks the facts each problem gives beside its sentence:
// the tag, the parameter, the other field, the value where the sentence
// shows it, and what a limit counts.
func TestProblemFacts(t *testing.T) {
	for _, c := range []struct {
		name string
		in   any
		want check.Problem
	}{
		{"required", brokenBy["required"], check.Problem{Field: "a", Text: "a is required", Tag: "required"}},
		{"required_without", brokenBy["required_without"], check.Problem{Field: "label", Text: "label is required when ref is not given",
			Tag: "required_without", Other: "ref"}},
		{"required_if", brokenBy["required_if"], check.Problem{Field: "since", Text: "since is required when decision is approve",
			Tag: "required_if", Other: "decision", Param: "approve"}},
		{"oneof", brokenBy["oneof"], check.Problem{Field: "kind", Text: `kind must be one of a, b (got "c")`, Tag: "oneof", Param: "a b", Value: "c"}},
		{"min of a number", brokenBy["min"], check.Problem{Field: "n", Text: "n must be at least 1", Tag: "min", Param: "1"}},
		{"max of a string", brokenBy["max"], check.Problem{Field: "s", Text: "s must be at most 2 characters", Tag: "max", Param: "2",
			Counts: check.CountsCharacters}},
		{"max of a list", sample{Name: "x", Items: []inner{{"a"}, {"b"}, {"c"}}, Label: "l"}, check.Problem{Field: "items",
			Text: "items may have at most 2 entries", Tag: "max", Param: "2", Counts: check.CountsEntries}},
		{"len", brokenBy["len"], check.Problem{Field: "h", Text: "h must be exactly 4 characters", Tag: "len", Param: "4", Counts: check.CountsCharacters}},
		{"datetime", brokenBy["datetime"], check.Problem{Field: "day", Text: `day must be a date written as YYYY-MM-DD (got "10.3.2026")`,
			Tag: "datetime", Param: "2006-01-02", Value: "10.3.2026"}},
		{"code in a list", sample{Name: "x", Items: []inner{{Code: "a/b"}}, Label: "l"}, check.Problem{Field: "items[0].code",
			Text: `items[0].code must be 1-32 letters, digits, '-' or '_', starting with a letter or digit (got "a/b")`, Tag: "code", Value: "a/b"}},
		{"person", brokenBy["person"], check.Problem{Field: "id",
			Text: `id must be a person ID of lower-case letters, digits, '.', '-' or '_' (got "Anna V")`, Tag: "person", Value: "Anna V"}},
		{"email", brokenBy["email"], check.Problem{Field: "email",
			Text: `email must be an e-mail address such as name@example.fi (got "anna at school")`, Tag: "email", Value: "anna at school"}},
		{"unique", brokenBy["unique"], check.Problem{Field: "tags", Text: "tags has the same code twice", Tag: "unique", Other: "code"}},
		{"hexadecimal", brokenBy["hexadecimal"], check.Problem{Field: "hash", Text: "hash must be hexadecimal", Tag: "hexadecimal"}},
		{"gtefield", brokenBy["gtefield"], check.Problem{Field: "to", Text: "to fails gtefield From", Tag: "gtefield", Other: "from"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := check.ProblemsOf(check.Struct(c.in))
			if len(got) != 1 || got[0] != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestDecodeProblems checks that input that cannot be read is refused with
// the same sentences as before, and with the facts of its problem.
func TestDecodeProblems(t *testing.T) {
	type consultation struct {
		Method       string `json:"method"`
		Participants int    `json:"participants"`
		Feedback     []struct {
			Text string `json:"text"`
		} `json:"feedback"`
	}
	for _, c := range []struct {
		name, in string
		want     check.Problem
	}{
		{"empty", " ", check.Problem{Text: "the outcome is empty", Tag: "required"}},
		{"not JSON", `{"method": council}`, check.Problem{Text: "the outcome is not valid JSON (at byte 12): invalid character 'c' looking for beginning of value",
			Tag: check.TagJSON, Param: "12"}},
		{"cut short", `{"method": "council"`, check.Problem{Text: "the outcome is not valid JSON: it ends too early", Tag: check.TagJSON}},
		{"two values", `{} {}`, check.Problem{Text: "the outcome has more than one JSON value", Tag: check.TagJSON}},
		{"a stray bracket", `{}]`, check.Problem{Text: `the outcome has "]" after its JSON value`, Tag: check.TagJSON}},
		{"unknown field", `{"method": "council", "student": "Anna"}`, check.Problem{
			Text: `the outcome has an unknown field "student" (only the documented fields are accepted)`, Tag: check.TagUnknownField, Param: "student"}},
		{"a string for a number", `{"participants": "12"}`, check.Problem{Field: "participants",
			Text: "the outcome: participants must be a number, not string", Tag: check.TagType, Param: "number", Value: "string"}},
		{"a fraction for a whole number", `{"participants": 1.5}`, check.Problem{Field: "participants",
			Text: "the outcome: participants must be a whole number, not 1.5", Tag: check.TagType, Param: "number", Value: "number"}},
		{"an object for a list", `{"feedback": {}}`, check.Problem{Field: "feedback",
			Text: "the outcome: feedback must be a list, not object", Tag: check.TagType, Param: "list", Value: "object"}},
		{"a list for the object", `[]`, check.Problem{Text: "the outcome must be a JSON object, not array", Tag: check.TagType, Param: "object", Value: "list"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v consultation
			err := check.Decode([]byte(c.in), "the outcome", &v)
			var dec *check.DecodeError
			if !errors.As(err, &dec) {
				t.Fatalf("got %v (%T), want a *check.DecodeError", err, err)
			}
			if err.Error() != c.want.Text {
				t.Errorf("got the sentence %q, want %q", err.Error(), c.want.Text)
			}
			if got := check.ProblemsOf(err); len(got) != 1 || got[0] != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}
