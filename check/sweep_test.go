package check_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/oho-dev/oho/check"
)

// self reads itself from JSON and refuses with check.ValueError.
type self int

func (s *self) UnmarshalJSON(b []byte) error {
	if string(b) != `"ok"` {
		return check.ValueError(*s, fmt.Sprintf("%s is not ok", check.Quote(string(b))))
	}
	return nil
}

type decoded struct {
	Name  string   `json:"name"`
	N     int      `json:"n"`
	F     float64  `json:"f"`
	Items []inner  `json:"items"`
	Inner *decoded `json:"inner"`
	Self  self     `json:"self"`
}

// TestDecodeRefusesWhatJSONLetsPass: what encoding/json would settle
// silently (a key twice, in any case; bytes that are not UTF-8; nesting a
// hundred thousand deep) and numbers it cannot hold are refused in one
// sentence that names the key or field; a byte order mark is read past.
func TestDecodeRefusesWhatJSONLetsPass(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     string // the sentence; empty when accepted
		tag      string
	}{
		{"a key twice", `{"name": "a", "name": "b"}`, `the input has the key "name" twice: give each field once`, check.TagDuplicateKey},
		{"a key twice in another case", `{"name": "a", "NAME": "b"}`, `the input has the key "NAME" twice: give each field once`, check.TagDuplicateKey},
		{"a key twice in a list's object", `{"items": [{"code": "A"}, {"code": "B", "code": "C"}]}`,
			`the input has the key "code" twice in items[1]: give each field once`, check.TagDuplicateKey},
		{"a key twice deeper", `{"inner": {"inner": {"n": 1, "n": 1}}}`, `the input has the key "n" twice in inner.inner: give each field once`, check.TagDuplicateKey},
		{"the same key in two objects", `{"items": [{"code": "A"}, {"code": "B"}], "inner": {"name": "x"}, "name": "y"}`, "", ""},
		{"deep lists", strings.Repeat("[", 100000) + strings.Repeat("]", 100000),
			"the input nests objects and lists more than 32 deep (at " + strings.Repeat("[0]", 32) + "), which no OHO input does", check.TagJSON},
		{"deep objects", `{"inner":` + strings.Repeat(`{"inner":`, 40) + `{}` + strings.Repeat("}", 41),
			"the input nests objects and lists more than 32 deep (at inner" + strings.Repeat(".inner", 31) + "), which no OHO input does", check.TagJSON},
		{"not UTF-8", "{\"name\": \"K\xe4yt\xe4v\xe4\"}", "the input is not valid UTF-8 text (at byte 11): save it as UTF-8", check.TagText},
		{"a byte order mark", "\ufeff{\"name\": \"a\"}", "", ""},
		{"only a byte order mark", "\ufeff", "the input is empty", "required"},
		{"a whole number too large", `{"n": 99999999999999999999}`, "the input: n 99999999999999999999 is out of range", check.TagType},
		{"a fraction for a whole number", `{"n": 2.5}`, "the input: n must be a whole number, not 2.5", check.TagType},
		{"a number too large", `{"f": 1e400}`, "the input: f 1e400 is out of range", check.TagType},
		{"a type's own refusal names the field", `{"inner": {"self": "bad"}}`, `the input: inner.self "\"bad\"" is not ok`, ""},
		{"an unknown field of a megabyte", `{"` + strings.Repeat("x", 1<<20) + `": 1}`,
			`the input has an unknown field "` + strings.Repeat("x", 64) + `"… (only the documented fields are accepted)`, check.TagUnknownField},
		{"trailing data", `{"name": "a"} {"name": "b"}`, "the input has more than one JSON value", check.TagJSON},
		{"a stray bracket", `{"name": "a"}]`, `the input has "]" after its JSON value`, check.TagJSON},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v decoded
			err := check.Decode([]byte(c.in), "the input", &v)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want == "":
				return
			case err == nil:
				t.Fatalf("accepted, want %q", c.want)
			case err.Error() != c.want:
				t.Fatalf("got  %q\nwant %q", err.Error(), c.want)
			}
			if ps := check.ProblemsOf(err); len(ps) != 1 || ps[0].Tag != c.tag {
				t.Errorf("got problems %+v, want one tagged %q", ps, c.tag)
			}
		})
	}
}

// TestStrict: where input arrives, a required text of white space only is
// missing and a control character is refused, beside Struct's problems;
// Struct itself, which the workflows run on what was accepted before,
// lets both pass.
func TestStrict(t *testing.T) {
	type item struct {
		Title string `json:"title" validate:"required,max=10"`
		Note  string `json:"note"`
	}
	type input struct {
		Name  string `json:"name" validate:"required"`
		Items []item `json:"items" validate:"dive"`
	}
	in := input{Name: "  \t ", Items: []item{{Title: "ok", Note: "bell\x07"}, {Title: "   "}, {Title: "far too long a title", Note: "tab\tline\nreturn\r fine"}}}
	var got []string
	for _, p := range check.ProblemsOf(check.Strict(in)) {
		got = append(got, p.Field+" ["+p.Tag+"] "+p.Text)
	}
	want := []string{
		"name [required] name is required (it holds only white space)",
		"items[0].note [text] items[0].note contains a control character (U+0007), which text may not hold",
		"items[1].title [required] items[1].title is required (it holds only white space)",
		"items[2].title [max] items[2].title must be at most 10 characters",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := check.Struct(input{Name: " ", Items: []item{{Title: " ", Note: "\x07"}}}); err != nil {
		t.Errorf("Struct refused what it accepted before Strict: %v", err)
	}
	if err := check.Strict(input{Name: "Ääkköset 🙂", Items: []item{{Title: "ok", Note: "rivi\nrivi\ttab"}}}); err != nil {
		t.Errorf("ordinary text refused: %v", err)
	}
}

// TestProblemsSayTheFirstTen: a refusal's sentence names ten problems and
// counts the rest; every problem stays in the list.
func TestProblemsSayTheFirstTen(t *testing.T) {
	var ps check.Problems
	for i := 0; i < 10000; i++ {
		ps = append(ps, check.Problem{Field: fmt.Sprintf("people[%d].name", i), Text: fmt.Sprintf("people[%d].name is required", i)})
	}
	msg := ps.Error()
	if !strings.HasPrefix(msg, "people[0].name is required; people[1].name is required;") || !strings.HasSuffix(msg, "people[9].name is required; and 9990 more problems") {
		t.Errorf("got %q", msg)
	}
	if len(check.ProblemsOf(ps)) != 10000 {
		t.Errorf("the list lost problems")
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":                       `""`,
		"NORTH":                  `"NORTH"`,
		"a\x00b":                 `"a\x00b"`,
		strings.Repeat("ä", 64):  `"` + strings.Repeat("ä", 64) + `"`,
		strings.Repeat("ä", 100): `"` + strings.Repeat("ä", 64) + `"…`,
	} {
		if got := check.Quote(in); got != want {
			t.Errorf("Quote(%.20q…): got %.80s, want %.80s", in, got, want)
		}
	}
}
