// Package check validates input at OHO's boundaries (command line, workflow
// updates, activities) with one shared go-playground validator, and turns its
// field errors into sentences a staff member understands, with the facts
// of each (Problem) that a front end needs to say it in another language.
package check

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	// The validator's timezone rule loads the name: with the zone database
	// embedded, a zone accepted here loads on every machine that runs OHO,
	// zone files installed or not.
	_ "time/tzdata"

	"github.com/go-playground/validator/v10"
)

// codePattern is what provider, unit, section and item codes look like: short,
// no spaces or slashes, because they become parts of workflow and task IDs.
var codePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)

// personPattern is what person IDs look like (e.g. "anna.virtanen").
var personPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	// Report fields by their JSON names: that is what people write in files.
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		if name == "" {
			return f.Name
		}
		return name
	})
	must(v.RegisterValidation("code", func(fl validator.FieldLevel) bool {
		return codePattern.MatchString(fl.Field().String())
	}))
	must(v.RegisterValidation("person", func(fl validator.FieldLevel) bool {
		return personPattern.MatchString(fl.Field().String())
	}))
	return v
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// Problem is what is wrong with one field of an input: Field is its path as
// people write it in files and requests ("findings[0].severity"), Text a
// sentence that names it ("findings[0].severity must be one of …"). The
// sentence is English, the words of the command line and the API; Tag,
// Param, Other, Value and Counts give the same as facts, so that a front end
// can say it in its reader's language. A problem of a rule that has no tag
// (a sentence of the domain's rules) has an empty Tag: Text is all it says.
type Problem struct {
	Field string
	Text  string
	// Tag is the rule broken: the validator's tag ("required", "oneof",
	// "max", "datetime", "code", …) or, for input that cannot be decoded,
	// TagJSON, TagUnknownField or TagType ("required" when it is empty).
	Tag string
	// Param is the rule's parameter: the allowed values of oneof, separated
	// by spaces as in the tag ("info minor major"); the limit of min, max,
	// len, gte and lte ("4000"); the value the other field has when
	// required_if requires this one ("approve"); datetime's layout
	// ("2006-01-02"); the name of an unknown field; the JSON type TagType
	// wants ("number", "string", "list", "object", "boolean"); the byte at
	// which JSON that does not read goes wrong, when that is known.
	Param string
	// Other is the JSON name of the other field the rule depends on
	// (required_without, required_if, gtefield), or of the field that unique
	// compares its entries by.
	Other string
	// Value is the value given, where the sentence repeats it: the refused
	// value of oneof, datetime, code, person and email, the JSON type given
	// for TagType. It is empty for the other rules, whose values may be long
	// or private text.
	Value string
	// Counts says what a limit of min, max, len, gte or lte counts:
	// CountsCharacters of a string, CountsEntries of a list, or "" for the
	// size of a number.
	Counts string
}

// What a limit counts (Problem.Counts).
const (
	CountsCharacters = "characters"
	CountsEntries    = "entries"
)

// The tags of the problems of input that cannot be decoded (Decode); the
// rest are the validator's own.
const (
	// TagJSON: the input is not JSON (or more than one JSON value).
	TagJSON = "json"
	// TagUnknownField: the input has a field that is not documented;
	// Param names it.
	TagUnknownField = "unknown_field"
	// TagType: a value has the wrong JSON type; Param is the type wanted,
	// Value the type given.
	TagType = "type"
)

// Problems are every problem found in one input. As an error it reads as
// the sentences separated by "; ", so a refusal names them at once: the
// first MaxSaid of them, and how many more there are (a file of ten
// thousand people all missing a field would make a line of megabytes).
// Each is still a Problem of the list, which the API answers in full.
type Problems []Problem

// MaxSaid is how many problems an error's sentence names.
const MaxSaid = 10

func (p Problems) Error() string {
	msgs := make([]string, 0, min(len(p), MaxSaid+1))
	for i, pr := range p {
		if i == MaxSaid {
			msgs = append(msgs, fmt.Sprintf("and %d more problems", len(p)-MaxSaid))
			break
		}
		msgs = append(msgs, pr.Text)
	}
	return strings.Join(msgs, "; ")
}

// Struct validates v by its `validate` tags. The error, if any, is Problems:
// every problem found, each naming its field.
//
// Every string of v is also checked to be text that can be stored: one
// holding a NUL character or bytes that are not UTF-8 is a problem tagged
// TagText.
func Struct(v any) error {
	problems := textProblems(v, false)
	err := validate.Struct(v)
	var fieldErrs validator.ValidationErrors
	switch {
	case err == nil:
	case errors.As(err, &fieldErrs):
		for _, fe := range fieldErrs {
			problems = append(problems, problemOf(fe))
		}
	default:
		return fmt.Errorf("validating input: %w", err)
	}
	if len(problems) == 0 {
		return nil
	}
	return problems
}

// ProblemsOf returns the problems err holds, Struct's or Decode's, or nil
// for an error of neither.
func ProblemsOf(err error) Problems {
	var problems Problems
	if errors.As(err, &problems) {
		return problems
	}
	var dec *DecodeError
	if errors.As(err, &dec) {
		return Problems{dec.Problem}
	}
	return nil
}

// problemOf is one field error as a problem: the sentence and its facts.
func problemOf(fe validator.FieldError) Problem {
	p := Problem{Field: fieldPath(fe), Text: describe(fe), Tag: fe.Tag(), Param: fe.Param()}
	switch fe.Tag() {
	case "required_without", "gtefield", "unique":
		p.Other, p.Param = jsonName(p.Param), ""
	case "required_if":
		if cond := strings.Fields(p.Param); len(cond) == 2 {
			p.Other, p.Param = jsonName(cond[0]), cond[1]
		}
	case "oneof", "datetime", "code", "person", "email", "timezone":
		p.Value = fmt.Sprint(fe.Value())
	case "min", "max", "len", "gte", "lte":
		switch {
		case fe.Kind() == reflect.String:
			p.Counts = CountsCharacters
		case isCounted(fe.Kind()):
			p.Counts = CountsEntries
		}
	}
	return p
}

// fieldPath is the field's path without the Go type name of the top-level
// struct, which means nothing to a user.
func fieldPath(fe validator.FieldError) string {
	field := fe.Namespace()
	if _, rest, ok := strings.Cut(field, "."); ok {
		field = rest
	}
	return field
}

// Code reports whether s is a valid code (provider, unit, section, item).
func Code(s string) bool { return codePattern.MatchString(s) }

// Person reports whether s is a valid person ID.
func Person(s string) bool { return personPattern.MatchString(s) }

// describe renders one field error as a sentence that names the field.
func describe(fe validator.FieldError) string {
	field := fieldPath(fe)
	param := fe.Param()
	switch fe.Tag() {
	case "required":
		return field + " is required"
	case "required_without":
		return fmt.Sprintf("%s is required when %s is not given", field, jsonName(param))
	case "required_if":
		cond := strings.Fields(param)
		if len(cond) == 2 {
			return fmt.Sprintf("%s is required when %s is %s", field, jsonName(cond[0]), cond[1])
		}
		return field + " is required"
	case "oneof":
		return fmt.Sprintf("%s must be one of %s (got %q)", field, strings.Join(strings.Fields(param), ", "), fmt.Sprint(fe.Value()))
	case "min":
		if isCounted(fe.Kind()) {
			return fmt.Sprintf("%s needs at least %s entries", field, param)
		}
		return fmt.Sprintf("%s must be at least %s", field, param)
	case "max":
		if fe.Kind() == reflect.String {
			return fmt.Sprintf("%s must be at most %s characters", field, param)
		}
		if isCounted(fe.Kind()) {
			return fmt.Sprintf("%s may have at most %s entries", field, param)
		}
		return fmt.Sprintf("%s must be at most %s", field, param)
	case "datetime":
		return fmt.Sprintf("%s must be a date written as YYYY-MM-DD (got %q)", field, fmt.Sprint(fe.Value()))
	case "code":
		return fmt.Sprintf("%s must be 1-32 letters, digits, '-' or '_', starting with a letter or digit (got %q)", field, fmt.Sprint(fe.Value()))
	case "person":
		return fmt.Sprintf("%s must be a person ID of lower-case letters, digits, '.', '-' or '_' (got %q)", field, fmt.Sprint(fe.Value()))
	case "email":
		return fmt.Sprintf("%s must be an e-mail address such as name@example.fi (got %q)", field, fmt.Sprint(fe.Value()))
	case "unique":
		return fmt.Sprintf("%s has the same %s twice", field, jsonName(param))
	case "len":
		return fmt.Sprintf("%s must be exactly %s characters", field, param)
	case "timezone":
		return fmt.Sprintf("%s %q is not a time zone (IANA name such as Europe/Helsinki)", field, fmt.Sprint(fe.Value()))
	case "hexadecimal":
		return field + " must be hexadecimal"
	case "gtefield", "gte", "lte":
		return fmt.Sprintf("%s fails %s %s", field, fe.Tag(), param)
	default:
		return fmt.Sprintf("%s is not valid (%s)", field, fe.Tag())
	}
}

func isCounted(k reflect.Kind) bool {
	return k == reflect.Slice || k == reflect.Map || k == reflect.Array
}

// jsonName turns a Go field name used in a tag parameter into the snake_case
// name people see in files ("VersionHash" → "version_hash", "ID" → "id").
func jsonName(goName string) string {
	var b strings.Builder
	prevLower := false
	for _, r := range goName {
		upper := r >= 'A' && r <= 'Z'
		if upper {
			if prevLower {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		prevLower = !upper
		b.WriteRune(r)
	}
	return b.String()
}
