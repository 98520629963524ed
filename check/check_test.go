package check_test

import (
	"strings"
	"testing"

	"github.com/oho-dev/oho/check"
)

type inner struct {
	Code string `json:"code" validate:"required,code"`
}

type sample struct {
	Name     string  `json:"name" validate:"required,max=5"`
	Tags     []inner `json:"tags" validate:"unique=Code"`
	Kind     string  `json:"kind" validate:"omitempty,oneof=a b"`
	Person   string  `json:"person" validate:"omitempty,person"`
	Items    []inner `json:"items" validate:"max=2,dive"`
	Day      string  `json:"day" validate:"omitempty,datetime=2006-01-02"`
	Decision string  `json:"decision"`
	Since    string  `json:"since" validate:"required_if=Decision approve"`
	Email    string  `json:"email" validate:"omitempty,email"`
	Ref      string  `json:"ref"`
	Label    string  `json:"label" validate:"required_without=Ref"`
	Zone     string  `json:"time_zone" validate:"omitempty,timezone"`
}

func TestStructMessages(t *testing.T) {
	for _, c := range []struct {
		name string
		in   sample
		want string
	}{
		{"valid", sample{Name: "ok", Items: []inner{{Code: "A-1"}}, Label: "l"}, ""},
		{"required", sample{Label: "l"}, "name is required"},
		{"required_without", sample{Name: "x"}, "label is required when ref is not given"},
		{"required_without given", sample{Name: "x", Ref: "r"}, ""},
		{"too long", sample{Name: "toolong", Label: "l"}, "name must be at most 5 characters"},
		{"oneof", sample{Name: "x", Kind: "c", Label: "l"}, `kind must be one of a, b (got "c")`},
		{"person", sample{Name: "x", Person: "Anna V", Label: "l"}, `person must be a person ID of lower-case letters, digits, '.', '-' or '_' (got "Anna V")`},
		{"nested code", sample{Name: "x", Items: []inner{{Code: "a/b"}}, Label: "l"}, `items[0].code must be 1-32 letters, digits, '-' or '_', starting with a letter or digit (got "a/b")`},
		{"list too long", sample{Name: "x", Items: []inner{{"a"}, {"b"}, {"c"}}, Label: "l"}, "items may have at most 2 entries"},
		{"date", sample{Name: "x", Day: "1.2.2026", Label: "l"}, `day must be a date written as YYYY-MM-DD (got "1.2.2026")`},
		{"required_if", sample{Name: "x", Decision: "approve", Label: "l"}, "since is required when decision is approve"},
		{"email", sample{Name: "x", Email: "anna at school", Label: "l"}, `email must be an e-mail address such as name@example.fi (got "anna at school")`},
		{"unique", sample{Name: "x", Tags: []inner{{"a"}, {"a"}}, Label: "l"}, "tags has the same code twice"},
		{"time zone", sample{Name: "x", Label: "l", Zone: "Europe/Helsinki"}, ""},
		{"time zone UTC", sample{Name: "x", Label: "l", Zone: "UTC"}, ""},
		{"not a time zone", sample{Name: "x", Label: "l", Zone: "Mars/Base"}, `time_zone "Mars/Base" is not a time zone (IANA name such as Europe/Helsinki)`},
		{"the machine's zone is no zone", sample{Name: "x", Label: "l", Zone: "Local"}, `time_zone "Local" is not a time zone (IANA name such as Europe/Helsinki)`},
		{"an offset is no zone", sample{Name: "x", Label: "l", Zone: "+02:00"}, `time_zone "+02:00" is not a time zone (IANA name such as Europe/Helsinki)`},
		{"a path is no zone", sample{Name: "x", Label: "l", Zone: "../../../etc/localtime"}, `time_zone "../../../etc/localtime" is not a time zone (IANA name such as Europe/Helsinki)`},
		{"several", sample{Kind: "z", Label: "l"}, `name is required; kind must be one of a, b (got "z")`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := check.Struct(c.in)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestCodeAndPerson(t *testing.T) {
	for _, c := range []struct {
		s            string
		code, person bool
	}{
		{"NORTH", true, false},
		{"north.head", false, true},
		{"unit_1", true, true},
		{"", false, false},
		{"a/b", false, false},
		{"-x", false, false},
	} {
		if got := check.Code(c.s); got != c.code {
			t.Errorf("Code(%q): got %v, want %v", c.s, got, c.code)
		}
		if got := check.Person(c.s); got != c.person {
			t.Errorf("Person(%q): got %v, want %v", c.s, got, c.person)
		}
	}
}

// TestTextThatCannotBeStored: a NUL character or bytes that are not UTF-8
// in any string of an input, however deep, is refused naming the field,
// beside the validator's own problems.
func TestTextThatCannotBeStored(t *testing.T) {
	type finding struct {
		Text string `json:"text" validate:"required"`
	}
	type outcome struct {
		Name     string            `json:"name" validate:"required"`
		Findings []finding         `json:"findings" validate:"dive"`
		Notes    map[string]string `json:"notes"`
		Raw      []byte            `json:"raw"`
	}
	in := outcome{Name: "a\x00b", Findings: []finding{{Text: "ok"}, {Text: "bad \xff bytes"}, {}},
		Notes: map[string]string{"k": "x\x00"}, Raw: []byte{0, 0xff}}
	problems := check.ProblemsOf(check.Struct(in))
	var texts []string
	for _, p := range problems {
		texts = append(texts, p.Field+": "+p.Text+" ["+p.Tag+"]")
	}
	want := []string{
		`name: name contains a NUL character (\u0000), which text may not hold [text]`,
		`findings[1].text: findings[1].text is not valid UTF-8 text [text]`,
		`notes[k]: notes[k] contains a NUL character (\u0000), which text may not hold [text]`,
		`findings[2].text: findings[2].text is required [required]`,
	}
	if strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
	if err := check.Struct(outcome{Name: "Ääkköset ja emoji 🙂", Findings: []finding{{Text: "rivi\nrivi\ttab"}}}); err != nil {
		t.Errorf("ordinary text refused: %v", err)
	}
}
