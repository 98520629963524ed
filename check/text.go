package check

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
)

// TagText is the tag of a problem of a text that cannot be stored as text:
// it holds a NUL character, or bytes that are not UTF-8. PostgreSQL refuses
// both, so they are refused here, naming the field, before anything is
// recorded or sent to a workflow.
const TagText = "text"

// textProblems finds every string of v (a struct, followed through its
// exported fields, lists, maps and pointers) that holds a NUL character or
// is not valid UTF-8, each named by its path as the validator names fields
// ("findings[0].text").
//
// Strictly (strict), as input is checked where it arrives (Strict), a text
// also may not hold a control character other than tab, line feed and
// carriage return, and a text whose field is required may not be white
// space only.
func textProblems(v any, strict bool) Problems {
	var out Problems
	var walk func(path string, rv reflect.Value, required bool)
	walk = func(path string, rv reflect.Value, required bool) {
		switch rv.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !rv.IsNil() {
				walk(path, rv.Elem(), required)
			}
		case reflect.String:
			s := rv.String()
			switch {
			case strings.ContainsRune(s, 0):
				out = append(out, Problem{Field: path, Tag: TagText, Param: "nul",
					Text: fmt.Sprintf("%s contains a NUL character (\\u0000), which text may not hold", path)})
			case !utf8.ValidString(s):
				out = append(out, Problem{Field: path, Tag: TagText, Param: "utf8",
					Text: fmt.Sprintf("%s is not valid UTF-8 text", path)})
			case !strict:
			case strings.IndexFunc(s, isControl) >= 0:
				r := s[strings.IndexFunc(s, isControl)]
				out = append(out, Problem{Field: path, Tag: TagText, Param: "control",
					Text: fmt.Sprintf("%s contains a control character (U+%04X), which text may not hold", path, r)})
			case required && s != "" && strings.TrimSpace(s) == "":
				out = append(out, Problem{Field: path, Tag: "required",
					Text: fmt.Sprintf("%s is required (it holds only white space)", path)})
			}
		case reflect.Slice, reflect.Array:
			if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
				return // bytes (raw JSON) are not text
			}
			for i := 0; i < rv.Len(); i++ {
				walk(fmt.Sprintf("%s[%d]", path, i), rv.Index(i), false)
			}
		case reflect.Map:
			iter := rv.MapRange()
			for iter.Next() {
				walk(fmt.Sprintf("%s[%v]", path, iter.Key()), iter.Value(), false)
			}
		case reflect.Struct:
			t := rv.Type()
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				if !f.IsExported() {
					continue
				}
				name := f.Name
				if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == "-" {
					continue
				} else if tag != "" {
					name = tag
				}
				child := name
				if f.Anonymous {
					child = path
				} else if path != "" {
					child = path + "." + name
				}
				walk(child, rv.Field(i), slices.Contains(strings.Split(f.Tag.Get("validate"), ","), "required"))
			}
		}
	}
	walk("", reflect.ValueOf(v), false)
	return out
}

// isControl reports whether r is a control character that text may not
// hold: C0 controls other than tab, line feed and carriage return, and DEL.
// (NUL is refused by every check, this by Strict.)
func isControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f
}

// Strict validates v as Struct does, and checks its text as input is
// checked where it arrives at OHO (the command line, the API, the pages):
// a text may not hold a control character other than tab, line feed and
// carriage return (TagText, Param "control"), and a text whose field is
// required may not be white space only (tag "required").
//
// These rules are kept out of Struct because the workflows run Struct
// (through the config's and outcomes' own checks) on input accepted before
// them: on a cycle's config while its history is replayed, on a yearly
// schedule's standing config each year. Refusing there what was accepted
// once would stop a running cycle or a schedule.
func Strict(v any) error {
	problems := textProblems(v, true)
	if err := Struct(v); err != nil {
		var ps Problems
		if !errors.As(err, &ps) {
			return err
		}
		// Struct's own text problems are among the strict ones.
		for _, p := range ps {
			if p.Tag != TagText {
				problems = append(problems, p)
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return problems
}
