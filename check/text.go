package check

import (
	"fmt"
	"reflect"
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
func textProblems(v any) Problems {
	var out Problems
	var walk func(path string, rv reflect.Value)
	walk = func(path string, rv reflect.Value) {
		switch rv.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !rv.IsNil() {
				walk(path, rv.Elem())
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
			}
		case reflect.Slice, reflect.Array:
			if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
				return // bytes (raw JSON) are not text
			}
			for i := 0; i < rv.Len(); i++ {
				walk(fmt.Sprintf("%s[%d]", path, i), rv.Index(i))
			}
		case reflect.Map:
			iter := rv.MapRange()
			for iter.Next() {
				walk(fmt.Sprintf("%s[%v]", path, iter.Key()), iter.Value())
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
				walk(child, rv.Field(i))
			}
		}
	}
	walk("", reflect.ValueOf(v))
	return out
}
