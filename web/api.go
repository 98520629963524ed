package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// route is one pattern the server answers. API routes are documented in
// openapi.json; a test holds the two to each other.
type route struct {
	method, path string
	api          bool
	handler      http.Handler
}

// apiFunc is an API handler for an authenticated actor; publicFunc one that
// needs no login. Both return their refusal as an error, which is answered
// as JSON.
type (
	apiFunc    func(w http.ResponseWriter, r *http.Request, a service.Actor) error
	publicFunc func(w http.ResponseWriter, r *http.Request) error
)

// authed authenticates the request and runs f for the actor.
func (s *Server) authed(f apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.actor(r)
		if err == nil {
			err = checkQuery(r)
		}
		if err == nil {
			err = f(w, r, a)
		}
		if err != nil {
			s.fail(w, r, err)
		}
	})
}

// public runs f without a login.
func (s *Server) public(f publicFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := checkQuery(r)
		if err == nil {
			err = f(w, r)
		}
		if err != nil {
			s.fail(w, r, err)
		}
	})
}

// routeTable lists everything the server answers.
func (s *Server) routeTable() []route {
	api := func(method, path string, f apiFunc) route {
		return route{method: method, path: path, api: true, handler: s.authed(f)}
	}
	open := func(method, path string, f publicFunc) route {
		return route{method: method, path: path, api: true, handler: s.public(f)}
	}
	page := func(method, path string, f http.HandlerFunc) route {
		return route{method: method, path: path, handler: f}
	}
	return []route{
		open("GET", "/api/v1/openapi.json", serveOpenAPI),
		open("POST", "/api/v1/session", s.apiLogin),
		api("GET", "/api/v1/session", s.apiSession),
		api("DELETE", "/api/v1/session", s.apiLogout),
		open("POST", "/api/v1/password", s.apiSetPassword),
		api("GET", "/api/v1/tokens", s.apiTokens),
		api("POST", "/api/v1/tokens", s.apiCreateToken),
		api("DELETE", "/api/v1/tokens/{id}", s.apiRevokeToken),

		api("GET", "/api/v1/cycles", s.apiCycles),
		api("POST", "/api/v1/cycles", s.apiStartCycle),
		api("GET", "/api/v1/cycles/{provider}/{year}", s.apiCycle),
		api("POST", "/api/v1/cycles/{provider}/{year}/cancel", s.apiCancelCycle),
		api("POST", "/api/v1/cycles/{provider}/{year}/restart", s.apiRestartCycle),
		api("GET", "/api/v1/cycles/{provider}/{year}/summary", s.apiCycleSummary),
		api("GET", "/api/v1/cycles/{provider}/{year}/report", s.apiReport),
		api("GET", "/api/v1/cycles/{provider}/{year}/workflows", s.apiWorkflows),
		api("GET", "/api/v1/cycles/{provider}/{year}/audit-export", s.apiAuditExport),

		api("GET", "/api/v1/tasks", s.apiTasks),
		api("GET", "/api/v1/inbox", s.apiInbox),
		api("GET", "/api/v1/tasks/{id}", s.apiTask),
		api("POST", "/api/v1/tasks/{id}/complete", s.apiComplete),
		api("POST", "/api/v1/tasks/{id}/claim", s.apiChange(review.OpClaim)),
		api("POST", "/api/v1/tasks/{id}/unclaim", s.apiChange(review.OpUnclaim)),
		api("POST", "/api/v1/tasks/{id}/delegate", s.apiChange(review.OpDelegate)),
		api("POST", "/api/v1/tasks/{id}/reassign", s.apiChange(review.OpReassign)),
		api("POST", "/api/v1/tasks/{id}/extend", s.apiChange(review.OpExtend)),

		api("GET", "/api/v1/schedules/{provider}", s.apiSchedule),
		api("PUT", "/api/v1/schedules/{provider}", s.apiSetSchedule),
		api("DELETE", "/api/v1/schedules/{provider}", s.apiDeleteSchedule),

		api("GET", "/api/v1/indicators/{provider}/trends", s.apiIndicatorTrends),

		api("GET", "/api/v1/plans/{provider}", s.apiPlan),
		api("GET", "/api/v1/plans/{provider}/diff", s.apiPlanDiff),
		api("GET", "/api/v1/plans/{provider}/handbook", s.apiHandbook),
		api("POST", "/api/v1/plans/{provider}/import", s.apiImportPlan),

		api("GET", "/api/v1/audit/events", s.apiAuditLog),
		api("GET", "/api/v1/audit/verify", s.apiAuditVerify),

		api("POST", "/api/v1/org", s.apiImportOrg),
		api("POST", "/api/v1/people/{id}/invite", s.apiInvite),
		api("POST", "/api/v1/people/{id}/disable", s.apiDisable),
		api("GET", "/api/v1/people/{id}/export", s.apiPersonExport),

		// The codec server of the Temporal Web UI and CLI (codec.go).
		page("POST", codecPath+"/decode", s.codecDecode),
		page("OPTIONS", codecPath+"/decode", s.codecPreflight),
		page("POST", codecPath+"/encode", s.codecEncode),

		page("GET", "/healthz", s.healthz),
		page("GET", "/readyz", s.readyz),
		page("GET", "/{$}", s.pageInbox),
		page("POST", "/language", s.pageLanguage),
		page("GET", "/accessibility", s.pageAccessibility),
		page("GET", "/students", s.pageStudents),
		page("GET", "/people", s.pagePeople),
		page("GET", "/people/{id}/export", s.pagePersonExport),
		page("GET", "/tasks/{id}", s.pageTask),
		page("POST", "/tasks/{id}", s.pageTaskPost),
		page("POST", "/tasks/{id}/claim", s.pageTaskChange(review.OpClaim)),
		page("POST", "/tasks/{id}/unclaim", s.pageTaskChange(review.OpUnclaim)),
		page("POST", "/tasks/{id}/delegate", s.pageTaskChange(review.OpDelegate)),
		page("GET", "/login", s.pageLogin),
		page("POST", "/login", s.pageLoginPost),
		page("POST", "/logout", s.pageLogout),
		page("GET", "/password", s.pagePassword),
		page("POST", "/password", s.pagePasswordPost),
		page("GET", "/auth/oidc/{idp}", s.oidcStart),
		page("GET", "/auth/oidc/callback", s.oidcCallback),

		// The auditor's pages (auditpages.go).
		page("GET", "/audit", s.pageAudit),
		page("GET", "/audit.csv", s.pageAuditCSV),
		page("GET", "/cycles", s.pageCycles),
		page("GET", "/cycles/{provider}/{year}/report", s.pageReport),
		page("GET", "/cycles/{provider}/{year}/workflows", s.pageWorkflows),
		page("GET", "/cycles/{provider}/{year}/audit-export", s.pageAuditExport),
		page("GET", "/plans/{provider}", s.pagePlans),
		page("GET", "/plans/{provider}/diff", s.pagePlanDiff),
		page("GET", "/plans/{provider}/handbook", s.pageHandbook),

		// The manager's dashboard (dashboardpages.go).
		page("GET", "/dashboard", s.pageDashboard),
		page("POST", "/dashboard/cycles/{provider}", s.pageStartCycle),
		page("POST", "/dashboard/cycles/{provider}/{year}/cancel", s.pageCancelCycle),
		page("POST", "/dashboard/cycles/{provider}/{year}/restart", s.pageRestartCycle),
		page("GET", "/dashboard/tasks/{id}", s.pageSteerTask),
		page("POST", "/dashboard/tasks/{id}/reassign", s.pageReassign),
		page("POST", "/dashboard/tasks/{id}/extend", s.pageExtend),
		page("POST", "/dashboard/schedule/{provider}", s.pageSetSchedule),
		page("POST", "/dashboard/schedule/{provider}/delete", s.pageDeleteSchedule),
	}
}

// decode reads a request's JSON body strictly into v (check.Decode):
// unknown fields are refused, as in files, so that a misspelt field is not
// silently ignored, and so are a key given twice, text that is not UTF-8,
// deep nesting and anything after the value.
func decode(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if err := check.Decode(b, "the request body", v); err != nil {
		return invalidField("body", "%s", err.Error())
	}
	return nil
}

// optionalBody reads a request's JSON body, which may be empty (nothing to
// say), strictly into v.
func optionalBody(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := check.Decode(b, "the request body", v); err != nil {
		return invalidField("body", "%s", err.Error())
	}
	return nil
}

// readBody reads a request's body (at most MaxBody: a larger one is
// answered 413). A body sent as something other than JSON is refused with
// 415, naming what it was sent as; one without a Content-Type is read as
// JSON.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err // a body over the limit: answered 413
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && len(bytes.TrimSpace(b)) > 0 {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, &mediaTypeError{invalidField("body",
				"the request body must be JSON, sent with Content-Type: application/json (not %s)", check.Quote(ct))}
		}
	}
	return b, nil
}

// mediaTypeError is a body sent as something other than JSON: 415.
type mediaTypeError struct{ err error }

func (e *mediaTypeError) Error() string { return e.err.Error() }
func (e *mediaTypeError) Unwrap() error { return e.err }

// checkQuery refuses a query string that does not read, or that gives a
// parameter twice (which of the two would count is anyone's guess).
func checkQuery(r *http.Request) error {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return invalidField("query", "the query string does not read: %s", cut(err.Error()))
	}
	for name, values := range q {
		if len(values) > 1 {
			return invalidField(name, "the query gives %s %d times: give it once", check.Quote(name), len(values))
		}
	}
	return nil
}

// cut shortens a message's quotation of what a request sent.
func cut(s string) string {
	if r := []rune(s); len(r) > 120 {
		return string(r[:120]) + "…"
	}
	return s
}

// cycleOf reads the provider and year of a cycle's path.
func cycleOf(r *http.Request) (string, int, error) {
	year, err := strconv.Atoi(r.PathValue("year"))
	if err != nil {
		return "", 0, invalidField("year", "year %q is not a year such as 2027", r.PathValue("year"))
	}
	return r.PathValue("provider"), year, nil
}

// intQuery reads an optional whole number from the query; 0 when absent.
func intQuery(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, invalidField(name, "%s %q is not a whole number", name, v)
	}
	return n, nil
}

// formatQuery reads the document format of the query: md or html.
func formatQuery(r *http.Request) (render.Format, error) {
	v := r.URL.Query().Get("format")
	if v == "" {
		v = string(render.FormatMarkdown)
	}
	f, err := render.ParseFormat(v)
	if err != nil {
		return "", invalidField("format", "format must be md or html (got %q)", v)
	}
	return f, nil
}

// writeDocument answers with a rendered document: Markdown as text, HTML
// under the policy of self-contained documents.
func writeDocument(w http.ResponseWriter, f render.Format, name string, doc []byte) {
	switch f {
	case render.FormatHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", documentPolicy)
	default:
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", name+"."+string(f)))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(doc)
}

// me is who the session or token belongs to.
type me struct {
	Person   string             `json:"person"`
	Name     string             `json:"name"`
	Provider string             `json:"provider"`
	Roles    []store.PersonRole `json:"roles"`
	Via      review.Via         `json:"via"`
	ReadOnly bool               `json:"read_only"`
}

func meOf(a service.Actor) me {
	return me{Person: a.Person.ID, Name: a.Person.Name, Provider: a.Person.Provider, Roles: a.Person.Roles, Via: a.Via, ReadOnly: a.ReadOnly()}
}

func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Person   string `json:"person"`
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	l, err := s.loginLocal(r, in.Person, in.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, meOf(l.Actor))
	return nil
}

func (s *Server) apiSession(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	writeJSON(w, http.StatusOK, meOf(a))
	return nil
}

func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	if a.Via.Channel != review.ChannelWeb {
		return errorOf(service.ErrConflict, "this request uses an API token, not a session: revoke the token to stop it working")
	}
	if err := s.endSession(r.Context(), a); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiSetPassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	person, err := s.svc.SetPassword(r.Context(), in.Token, in.Password, clientAddress(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"person": person})
	return nil
}

func (s *Server) apiTokens(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	tokens, err := s.svc.Tokens(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokens)
	return nil
}

func (s *Server) apiCreateToken(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	var in struct {
		Name          string `json:"name"`
		Scope         string `json:"scope"`
		ExpiresInDays int    `json:"expires_in_days"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	// Checked before it is multiplied into a duration, which a number of
	// days far out of range would overflow into one within it.
	if in.ExpiresInDays < 0 || in.ExpiresInDays > int(service.MaxTokenLifetime/(24*time.Hour)) {
		return invalidField("expires_in_days", "expires_in_days %d is not 1 to 366 days", in.ExpiresInDays)
	}
	created, err := s.svc.CreateToken(r.Context(), a, service.NewToken{Name: in.Name, Scope: in.Scope,
		ExpiresIn: time.Duration(in.ExpiresInDays) * 24 * time.Hour})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, created)
	return nil
}

func (s *Server) apiRevokeToken(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	if err := s.svc.RevokeToken(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiCycles(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	cycles, err := s.svc.Cycles(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cycles)
	return nil
}

func (s *Server) apiStartCycle(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	var in service.StartCycle
	if err := decode(r, &in); err != nil {
		return err
	}
	started, err := s.svc.StartCycle(r.Context(), a, in)
	if err != nil {
		return err
	}
	code := http.StatusCreated
	if started.Existed {
		code = http.StatusOK
	}
	writeJSON(w, code, started)
	return nil
}

func (s *Server) apiCycle(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	provider, year, err := cycleOf(r)
	if err != nil {
		return err
	}
	p, err := s.svc.CycleProgress(r.Context(), a, provider, year)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) apiCancelCycle(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	provider, year, err := cycleOf(r)
	if err != nil {
		return err
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	sum, err := s.svc.CancelCycle(r.Context(), a, provider, year, in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sum)
	return nil
}

func (s *Server) apiRestartCycle(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	provider, year, err := cycleOf(r)
	if err != nil {
		return err
	}
	var in struct {
		Reason string         `json:"reason"`
		Config *review.Config `json:"config"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	started, err := s.svc.RestartCycle(r.Context(), a, service.RestartCycle{Provider: provider, Year: year, Reason: in.Reason, Config: in.Config})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, started)
	return nil
}

func (s *Server) apiCycleSummary(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	provider, year, err := cycleOf(r)
	if err != nil {
		return err
	}
	sum, err := s.svc.CycleSummary(r.Context(), a, provider, year)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sum)
	return nil
}

func (s *Server) apiReport(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	provider, year, err := cycleOf(r)
	if err != nil {
		return err
	}
	f, err := formatQuery(r)
	if err != nil {
		return err
	}
	tr, err := s.svc.Report(r.Context(), a, provider, year)
	if err != nil {
		return err
	}
	loc, err := s.svc.ProviderLocation(r.Context(), a, provider)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := render.Report(&buf, tr, f, render.Options{Now: s.svc.Now(), Location: loc}); err != nil {
		return err
	}
	writeDocument(w, f, fmt.Sprintf("report-%s-%d", provider, year), buf.Bytes())
	return nil
}

// apiIndicatorTrends answers a provider's indicator trends as JSON, or with
// ?format=csv as the CSV the command line writes.
func (s *Server) apiIndicatorTrends(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return invalidField("format", "format must be json or csv (got %q)", format)
	}
	provider := r.PathValue("provider")
	trends, err := s.svc.IndicatorTrends(r.Context(), a, provider)
	if err != nil {
		return err
	}
	if format != "csv" {
		writeJSON(w, http.StatusOK, trends)
		return nil
	}
	// Rendered whole first, so that a failure is answered as an error.
	var buf bytes.Buffer
	if err := render.TrendsCSV(&buf, trends); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "trends-"+provider+".csv"))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
	return nil
}

func (s *Server) apiWorkflows(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	provider, year, err := cycleOf(r)
	if err != nil {
		return err
	}
	wfs, err := s.svc.CycleWorkflows(r.Context(), a, provider, year, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wfs)
	return nil
}

func (s *Server) apiAuditExport(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	provider, year, err := cycleOf(r)
	if err != nil {
		return err
	}
	export, err := s.svc.AuditExport(r.Context(), a, provider, year)
	if err != nil {
		return err
	}
	// Rendered whole first, so that a failure is answered as an error,
	// not as half an export.
	var buf bytes.Buffer
	if _, err := render.AuditExport(&buf, export); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/jsonl; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", fmt.Sprintf("audit-%s-%d.jsonl", provider, year)))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
	return nil
}

func (s *Server) apiTasks(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	q := r.URL.Query()
	year, err := intQuery(r, "year")
	if err != nil {
		return err
	}
	tasks, err := s.svc.Tasks(r.Context(), a, store.TaskFilter{Provider: q.Get("provider"), Year: year,
		Assignee: q.Get("assignee"), Status: q.Get("status")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tasks)
	return nil
}

func (s *Server) apiInbox(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	tasks, err := s.svc.Inbox(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tasks)
	return nil
}

func (s *Server) apiTask(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	t, err := s.svc.Task(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (s *Server) apiComplete(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	var in struct {
		Outcome json.RawMessage `json:"outcome"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Outcome) == 0 {
		return invalidField("outcome", "outcome is required: the task's result, as its kind asks")
	}
	res, err := s.svc.CompleteTask(r.Context(), a, r.PathValue("id"), in.Outcome)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// apiChange serves one of the task operations.
func (s *Server) apiChange(op review.TaskOp) apiFunc {
	return func(w http.ResponseWriter, r *http.Request, a service.Actor) error {
		var in struct {
			To     string `json:"to"`
			DueAt  string `json:"due_at"`
			By     string `json:"by"`
			Reason string `json:"reason"`
		}
		if err := optionalBody(r, &in); err != nil {
			return err
		}
		req := service.ChangeTask{TaskID: r.PathValue("id"), Op: op, To: in.To, Reason: in.Reason}
		if in.DueAt != "" {
			// Read here rather than by time.Time's decoder, whose refusal
			// neither names the field nor reads as a sentence.
			due, err := time.Parse(time.RFC3339Nano, in.DueAt)
			if err != nil {
				return invalidField("due_at", "due_at %s is not a time such as \"2027-03-31T16:00:00Z\" (RFC 3339)", check.Quote(in.DueAt))
			}
			req.DueAt = due
		}
		if in.By != "" {
			by, err := time.ParseDuration(in.By)
			if err != nil {
				return invalidField("by", "by %s is not a duration such as \"72h\"", check.Quote(in.By))
			}
			req.By = by
		}
		res, err := s.svc.ChangeTask(r.Context(), a, req)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, res)
		return nil
	}
}

func (s *Server) apiSchedule(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	sched, err := s.svc.Schedule(r.Context(), a, r.PathValue("provider"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sched)
	return nil
}

func (s *Server) apiSetSchedule(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	in := struct {
		Month  int           `json:"month"`
		Day    int           `json:"day"`
		Hour   *int          `json:"hour"`
		Config review.Config `json:"config"`
	}{}
	if err := decode(r, &in); err != nil {
		return err
	}
	req := service.SetSchedule{Provider: r.PathValue("provider"), YearlyDate: service.YearlyDate{Month: in.Month, Day: in.Day, Hour: 6}, Config: in.Config}
	if in.Hour != nil {
		req.Hour = *in.Hour
	}
	set, err := s.svc.SetSchedule(r.Context(), a, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, set)
	return nil
}

func (s *Server) apiDeleteSchedule(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	if err := s.svc.DeleteSchedule(r.Context(), a, r.PathValue("provider")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiPlan(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	version, err := intQuery(r, "version")
	if err != nil {
		return err
	}
	doc, err := s.svc.Plan(r.Context(), a, r.PathValue("provider"), version)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

func (s *Server) apiPlanDiff(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	from, err := intQuery(r, "from")
	if err != nil {
		return err
	}
	to, err := intQuery(r, "to")
	if err != nil {
		return err
	}
	diff, err := s.svc.ComparePlans(r.Context(), a, r.PathValue("provider"), from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, diff)
	return nil
}

func (s *Server) apiHandbook(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	version, err := intQuery(r, "version")
	if err != nil {
		return err
	}
	f, err := formatQuery(r)
	if err != nil {
		return err
	}
	doc, err := s.svc.Plan(r.Context(), a, r.PathValue("provider"), version)
	if err != nil {
		return err
	}
	loc, err := s.svc.ProviderLocation(r.Context(), a, doc.Provider)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := render.Handbook(&buf, doc, f, render.Options{Now: s.svc.Now(), Location: loc}); err != nil {
		return err
	}
	writeDocument(w, f, fmt.Sprintf("plan-%s-v%d", doc.Provider, doc.Version), buf.Bytes())
	return nil
}

// apiImportPlan records the provider's current plan, sent as Markdown, as
// its next version: 201 with the version, or 200 when the latest version
// already has exactly this text.
func (s *Server) apiImportPlan(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	var in struct {
		Markdown      string `json:"markdown"`
		AddSections   bool   `json:"add_sections"`
		EffectiveFrom string `json:"effective_from"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := s.svc.ImportPlan(r.Context(), a, service.ImportPlan{
		Provider: r.PathValue("provider"), Markdown: in.Markdown, AddSections: in.AddSections, EffectiveFrom: in.EffectiveFrom,
	})
	if err != nil {
		return err
	}
	code := http.StatusCreated
	if res.Unchanged {
		code = http.StatusOK
	}
	writeJSON(w, code, res)
	return nil
}

func (s *Server) apiAuditLog(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	q := r.URL.Query()
	year, err := intQuery(r, "year")
	if err != nil {
		return err
	}
	f := service.AuditFilter{Provider: q.Get("provider"), Year: year, Actor: q.Get("actor")}
	if v := q.Get("since"); v != "" {
		since, err := time.Parse(time.RFC3339, v)
		if err != nil {
			d, derr := time.ParseInLocation(time.DateOnly, v, s.svc.Location())
			if derr != nil {
				return invalidField("since", "since %q is not a date (2027-03-01) or a time (2027-03-01T09:00:00+02:00)", v)
			}
			since = d
		}
		f.Since = since
	}
	events, err := s.svc.AuditLog(r.Context(), a, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, events)
	return nil
}

func (s *Server) apiAuditVerify(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	v, err := s.svc.VerifyAudit(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) apiImportOrg(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	raw, err := readBody(r)
	if err != nil {
		return err
	}
	org, err := service.DecodeOrg(raw, "the organisation")
	if err != nil {
		return err
	}
	res, err := s.svc.ImportOrg(r.Context(), a, org)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) apiInvite(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	inv, err := s.svc.InvitePerson(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, inv)
	return nil
}

func (s *Server) apiDisable(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.svc.DisablePerson(r.Context(), a, r.PathValue("id"), in.Reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
