package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DecodeError is input that Decode cannot read: its Problem says what, as
// the sentence that is the error's text and as facts (TagJSON,
// TagUnknownField, TagType, TagDuplicateKey, or "required" for input that
// is empty). The problem's Field is the JSON field concerned, or "" for the
// whole input.
type DecodeError struct {
	Problem Problem
}

func (e *DecodeError) Error() string { return e.Problem.Text }

// MaxDepth is how deeply the JSON of an input may nest objects and lists.
// OHO's deepest input, a request to start a cycle with a unit's target in
// its indicator catalogue, nests five levels; what nests far deeper is no
// input of OHO's, and is refused before it is read into anything.
const MaxDepth = 32

// bom is the byte order mark some editors put at the start of a UTF-8
// file; JSON allows a reader to ignore it (RFC 8259, 8.1), and Decode does.
var bom = []byte("\ufeff")

// Decode reads one JSON value strictly into v: unknown fields are refused, so
// that a misspelt field is not silently ignored and nothing undocumented (such
// as a student's name) slips into the records. So is a key given twice in
// one object (compared as the decoder matches fields, regardless of case),
// which encoding/json would otherwise settle silently by taking the last;
// bytes that are not UTF-8, which it would replace silently; and nesting
// deeper than MaxDepth. Errors are *DecodeError, name the JSON fields and
// start with what, the name of the input ("the outcome", a file's path).
func Decode(data []byte, what string, v any) error {
	data = bytes.TrimPrefix(data, bom)
	if len(bytes.TrimSpace(data)) == 0 {
		return decodeError(Problem{Tag: "required"}, "%s is empty", what)
	}
	if !utf8.Valid(data) {
		at := invalidUTF8At(data)
		return decodeError(Problem{Tag: TagText, Param: "utf8"}, "%s is not valid UTF-8 text (at byte %d): save it as UTF-8", what, at)
	}
	if err := scan(data, what); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSON(what, err)
	}
	// Only white space may follow the value: not a second value, nor a
	// stray ']' or '}' (which dec.More does not see at the top level).
	if dec.More() {
		return decodeError(Problem{Tag: TagJSON}, "%s has more than one JSON value", what)
	}
	if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
		return decodeError(Problem{Tag: TagJSON}, "%s has %s after its JSON value", what, Quote(string(rest)))
	}
	return nil
}

// TagDuplicateKey: an object of the input has a key twice; Param names the
// key, Field the object's path.
const TagDuplicateKey = "duplicate_key"

// invalidUTF8At is the offset of the first byte of data that is not UTF-8.
func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// frame is an object or a list being scanned: its path as fields are
// named ("people[3].roles"), and for an object the keys seen (folded to
// lower case, as the decoder matches fields) and whether a key comes next.
type frame struct {
	path    string
	object  bool
	keys    map[string]bool
	wantKey bool
	key     string
	index   int
}

// scan walks the tokens of data for what encoding/json lets pass: a key
// given twice in an object, and nesting deeper than MaxDepth. JSON that
// does not read is left to the decoder, which says where it goes wrong.
func scan(data []byte, what string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	// child is the path of the value that comes next.
	child := func() string {
		if len(stack) == 0 {
			return ""
		}
		top := stack[len(stack)-1]
		if top.object {
			return joinPath(top.path, top.key)
		}
		return fmt.Sprintf("%s[%d]", top.path, top.index)
	}
	// done marks the value that just ended in its parent.
	done := func() {
		if len(stack) == 0 {
			return
		}
		top := stack[len(stack)-1]
		if top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or JSON the decoder will describe
		}
		if len(stack) > 0 {
			// A string where an object wants a key is the key; anything
			// else there is the object's closing brace, below.
			if top := stack[len(stack)-1]; top.object && top.wantKey {
				if key, ok := tok.(string); ok {
					folded := strings.ToLower(key)
					if top.keys[folded] {
						return decodeError(Problem{Field: top.path, Tag: TagDuplicateKey, Param: key},
							"%s has the key %s twice%s: give each field once", what, Quote(key), inObject(top.path))
					}
					top.keys[folded], top.key, top.wantKey = true, key, false
					continue
				}
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) == MaxDepth {
				return decodeError(Problem{Field: child(), Tag: TagJSON},
					"%s nests objects and lists more than %d deep (at %s), which no OHO input does", what, MaxDepth, orWhole(child()))
			}
			f := &frame{path: child(), object: tok == json.Delim('{')}
			if f.object {
				f.keys, f.wantKey = map[string]bool{}, true
			}
			stack = append(stack, f)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		done()
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// inObject says which object a duplicated key is in: nothing for the
// input's top level.
func inObject(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

func orWhole(path string) string {
	if path == "" {
		return "the top"
	}
	return path
}

// Quote writes a value people gave into a sentence: quoted as Go quotes
// strings, and cut to its first 64 characters (marked with "…") so that a
// value of a megabyte does not make a message of a megabyte.
func Quote(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) <= max {
		return strconv.Quote(s)
	}
	runes := []rune(s)
	return strconv.Quote(string(runes[:max])) + "…"
}

// cut is s cut to its first 64 characters, marked with "…" when cut.
func cut(s string) string {
	if q := Quote(s); strings.HasSuffix(q, "…") {
		unq, _ := strconv.Unquote(strings.TrimSuffix(q, "…"))
		return unq + "…"
	}
	return s
}

func decodeError(p Problem, format string, args ...any) error {
	p.Text = fmt.Sprintf(format, args...)
	return &DecodeError{Problem: p}
}

// unmarshaler is a type that reads itself from JSON.
var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// ValueError is how a type that reads itself from JSON (a json.Unmarshaler)
// refuses a value so that Decode names the field: the decoder fills in the
// field of the *json.UnmarshalTypeError returned, and Decode says the field
// followed by sentence, which says the value and what is wrong with it
// (`"six weeks" is not a duration such as "336h"`).
func ValueError(v any, sentence string) error {
	return &json.UnmarshalTypeError{Value: sentence, Type: reflect.TypeOf(v)}
}

func describeJSON(what string, err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Type != nil && reflect.PointerTo(typeErr.Type).Implements(unmarshaler):
		// A ValueError: the type's own sentence.
		// Its sentence is all it says: no tag.
		return decodeError(Problem{Field: typeErr.Field}, "%s: %s %s", what, orWhole(typeErr.Field), typeErr.Value)
	case errors.As(err, &typeErr):
		p := Problem{Field: typeErr.Field, Tag: TagType, Param: kindName(typeErr.Type.Kind().String()), Value: jsonType(typeErr.Value)}
		if typeErr.Field == "" {
			return decodeError(p, "%s must be a JSON object, not %s", what, typeErr.Value)
		}
		if number, ok := strings.CutPrefix(typeErr.Value, "number "); ok && p.Param == "number" {
			// The right type, a number it cannot hold.
			number = cut(number)
			if isInteger(typeErr.Type.Kind()) && strings.ContainsAny(number, ".eE") {
				return decodeError(p, "%s: %s must be a whole number, not %s", what, typeErr.Field, number)
			}
			return decodeError(p, "%s: %s %s is out of range", what, typeErr.Field, number)
		}
		return decodeError(p, "%s: %s must be %s, not %s", what, typeErr.Field, article(p.Param), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return decodeError(Problem{Tag: TagJSON, Param: strconv.FormatInt(syntaxErr.Offset, 10)}, "%s is not valid JSON (at byte %d): %s", what, syntaxErr.Offset, strings.TrimPrefix(err.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return decodeError(Problem{Tag: TagJSON}, "%s is not valid JSON: it ends too early", what)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return decodeError(Problem{Tag: TagUnknownField, Param: field},
			"%s has an unknown field %s (only the documented fields are accepted)", what, Quote(field))
	}
	return decodeError(Problem{Tag: TagJSON}, "%s cannot be read: %s", what, strings.TrimPrefix(err.Error(), "json: "))
}

func isInteger(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// kindName is the JSON type of a Go kind: "number", "string", "list",
// "object", "boolean", or the kind itself.
func kindName(kind string) string {
	switch kind {
	case "float32", "float64", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "number"
	case "string":
		return "string"
	case "slice", "array":
		return "list"
	case "struct", "ptr", "map":
		return "object"
	case "bool":
		return "boolean"
	}
	return kind
}

// jsonType is the JSON type of a value as encoding/json describes it
// ("number 1.5", "array", "bool") in kindName's words.
func jsonType(value string) string {
	first, _, _ := strings.Cut(value, " ")
	switch first {
	case "array":
		return "list"
	case "bool":
		return "boolean"
	}
	return first
}

// article says a JSON type as the English sentences do: "a number",
// "an object", "true or false".
func article(t string) string {
	switch t {
	case "number", "string", "list":
		return "a " + t
	case "object":
		return "an object"
	case "boolean":
		return "true or false"
	}
	return t
}
