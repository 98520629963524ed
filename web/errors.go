package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/oho-dev/oho/service"
)

// errorBody is every error the API answers: the message the command line
// would print, and the problem of each invalid field.
type errorBody struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields"`
}

// status maps the service's kinds of refusal to HTTP.
var status = []struct {
	kind error
	code int
}{
	{service.ErrInvalid, http.StatusUnprocessableEntity},
	{service.ErrForbidden, http.StatusForbidden},
	{service.ErrNotFound, http.StatusNotFound},
	{service.ErrConflict, http.StatusConflict},
	{service.ErrUnavailable, http.StatusServiceUnavailable},
	{service.ErrUnauthenticated, http.StatusUnauthorized},
}

// statusOf is the HTTP status of an error: its kind's, or 500 for a failure
// that is none of them.
func statusOf(err error) int {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	var unavailable *unavailableError
	if errors.As(err, &unavailable) {
		return http.StatusServiceUnavailable
	}
	var media *mediaTypeError
	if errors.As(err, &media) {
		return http.StatusUnsupportedMediaType
	}
	for _, s := range status {
		if errors.Is(err, s.kind) {
			return s.code
		}
	}
	return http.StatusInternalServerError
}

// unavailableError is a failure of a service the server itself needs, such
// as the session store.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string {
	return "the session store does not answer: " + e.err.Error()
}

func (e *unavailableError) Unwrap() error { return e.err }

// requestError is a refusal the web layer makes itself, of one of the
// service's kinds (a malformed path, an unknown page).
type requestError struct {
	kind   error
	msg    string
	fields map[string]string
}

func (e *requestError) Error() string { return e.msg }

func (e *requestError) Unwrap() error { return e.kind }

func errorOf(kind error, format string, args ...any) error {
	return &requestError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// invalidField refuses one field of a request.
func invalidField(field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &requestError{kind: service.ErrInvalid, msg: msg, fields: map[string]string{field: msg}}
}

// fieldsOf returns the field problems of an error, from the service or the
// web layer.
func fieldsOf(err error) map[string]string {
	var re *requestError
	if errors.As(err, &re) && re.fields != nil {
		return re.fields
	}
	if f := service.FieldsOf(err); f != nil {
		return f
	}
	return map[string]string{}
}

// fail answers a failed request with its JSON error. A failure the service
// did not classify (a bug, or a database in a state OHO does not expect) is
// logged with its detail and answered with a general message, so that no
// internal detail reaches the client.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	body := errorBody{Error: err.Error(), Fields: fieldsOf(err)}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		body.Error = fmt.Sprintf("the request body is larger than %d MiB", tooLarge.Limit>>20)
	case code == http.StatusInternalServerError:
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		body.Error = "the server failed to carry out the request; it has been logged"
	case code == http.StatusServiceUnavailable:
		s.logger.Warn("request failed: a service is unavailable", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="oho"`)
	}
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, code, body)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	// The header is written: an error here is a client gone away.
	_ = enc.Encode(v)
}
