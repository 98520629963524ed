package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// inboxPage is what the inbox shows: the person's open tasks, soonest due
// first, and those of their roles' pools they may claim; and a refused
// claim, give-back or delegation, in the service's words.
type inboxPage struct {
	Mine, Claimable []store.InboxTask
	Notice          string
	Refused         string
	RefusedTask     string
	Delegate        string // the person ID typed for the refused delegation
}

func (s *Server) pageInbox(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	var p inboxPage
	if done := r.URL.Query().Get("done"); done != "" {
		p.Notice = wordsFor(readerLang(r, a.Person.Language)).T("inbox.done", "Task", done)
	}
	s.inbox(w, r, a, http.StatusOK, p)
}

// inbox shows the inbox with its status.
func (s *Server) inbox(w http.ResponseWriter, r *http.Request, a *service.Actor, code int, p inboxPage) {
	tasks, err := s.svc.Inbox(r.Context(), *a)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	v := s.page(r, a, "inbox.title", "inbox")
	for _, t := range tasks {
		if t.Claimable {
			p.Claimable = append(p.Claimable, t)
		} else {
			p.Mine = append(p.Mine, t)
		}
	}
	v.Data = p
	s.render(w, r, code, "inbox.html", v)
}

// pageTaskChange claims, gives back or delegates a task from the inbox and
// goes back to it; a refusal shows the inbox with the service's words.
func (s *Server) pageTaskChange(op review.TaskOp) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := s.personal(w, r)
		if !ok {
			return
		}
		if err := r.ParseForm(); err != nil {
			s.pageError(w, r, a, errorOf(service.ErrInvalid, "the form could not be read"))
			return
		}
		id, to := r.PathValue("id"), strings.TrimSpace(r.PostForm.Get("to"))
		if _, err := s.svc.ChangeTask(r.Context(), *a, service.ChangeTask{TaskID: id, Op: op, To: to}); err != nil {
			if code := statusOf(err); code >= 500 {
				s.pageError(w, r, a, err)
				return
			}
			s.inbox(w, r, a, statusOf(err), inboxPage{Refused: err.Error(), RefusedTask: id, Delegate: to})
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}

// fieldErr is a refusal shown next to the form field it concerns. Lang is
// "en" for the service's words, which are English, so that a Finnish page
// marks them as English for screen readers.
type fieldErr struct {
	ID   string // the field's HTML id
	Text string
	Lang string
}

// problem is a line of the error summary above a form, linked to its field
// when it has one.
type problem struct {
	Field string
	Text  string
	Lang  string
}

// taskPage is what a task's page shows: the task, and its form while it is
// open and the person may complete it.
type taskPage struct {
	Task     store.Task
	Overdue  bool
	Notice   string
	Problems []problem
	Evaluate *evalForm
	Consult  *consultForm
	Draft    *draftForm
	// Signing is the sign-off's or approval's page (signoffpages.go).
	Signing *signingForm
}

func (s *Server) pageTask(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	t, err := s.svc.Task(r.Context(), *a, r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	if isSigning(t.Kind) {
		s.pageSigning(w, r, a, t.ID)
		return
	}
	p := taskPage{Task: t, Overdue: t.OverdueAt != nil && t.Status == review.TaskOpen}
	if t.Status == review.TaskOpen {
		if err := p.blankForm(); err != nil {
			s.pageError(w, r, a, err)
			return
		}
	}
	v := s.page(r, a, string("kind."+t.Kind), "inbox")
	v.Data = p
	s.render(w, r, http.StatusOK, "task.html", v)
}

// blankForm sets up the empty form of an open task of a kind that has one.
func (p *taskPage) blankForm() error {
	switch p.Task.Kind {
	case review.KindEvaluate:
		in, err := inputOf[review.EvaluateInput](p.Task)
		if err != nil {
			return err
		}
		p.Evaluate = newEvalForm(in, 3)
	case review.KindConsult:
		in, err := inputOf[review.ConsultInput](p.Task)
		if err != nil {
			return err
		}
		p.Consult = newConsultForm(in, 2)
	case review.KindDraft:
		in, err := inputOf[review.DraftInput](p.Task)
		if err != nil {
			return err
		}
		p.Draft = newDraftForm(in, p.Task.Previous)
	}
	return nil
}

// inputOf decodes what a task shows its assignee.
func inputOf[T any](t store.Task) (T, error) {
	var in T
	if err := json.Unmarshal(t.Input, &in); err != nil {
		return in, fmt.Errorf("reading the input of task %s: %w", t.ID, err)
	}
	return in, nil
}

// pageTaskPost completes a task with what its form holds. "Add a row"
// shows the form again with one more row and what was typed; a refusal
// shows the form again with what was typed, each problem next to its field
// and in a summary linking to them: the validation's in the reader's words,
// the rules' in the service's (outcomeProblems).
func (s *Server) pageTaskPost(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.pageError(w, r, a, errorOf(service.ErrInvalid, "the form could not be read"))
		return
	}
	t, err := s.svc.Task(r.Context(), *a, r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	if isSigning(t.Kind) {
		s.pageSigningPost(w, r, a, t.ID)
		return
	}
	p := taskPage{Task: t, Overdue: t.OverdueAt != nil && t.Status == review.TaskOpen}
	v := s.page(r, a, string("kind."+t.Kind), "inbox")
	var outcome any
	var mapField func(string) string
	var label func(words, string) string
	var formProblems []problem
	switch t.Kind {
	case review.KindEvaluate:
		in, err := inputOf[review.EvaluateInput](t)
		if err != nil {
			s.pageError(w, r, a, err)
			return
		}
		f := readEvalForm(in, r)
		p.Evaluate = f
		outcome, mapField, label, formProblems = f.outcome(), f.formField, f.label, f.check(v.W)
	case review.KindConsult:
		in, err := inputOf[review.ConsultInput](t)
		if err != nil {
			s.pageError(w, r, a, err)
			return
		}
		f := readConsultForm(in, r)
		p.Consult = f
		outcome, mapField, label, formProblems = f.outcome(), f.formField, f.label, f.check(v.W)
	case review.KindDraft:
		in, err := inputOf[review.DraftInput](t)
		if err != nil {
			s.pageError(w, r, a, err)
			return
		}
		f := readDraftForm(in, r)
		p.Draft = f
		outcome, mapField, label, formProblems = f.outcome(), f.formField, f.label, f.check(v.W)
	default:
		s.pageError(w, r, a, errorOf(service.ErrInvalid, "task %s has no form here yet: complete it with the command line or the API", t.ID))
		return
	}
	if action := r.PostForm.Get("action"); action == "more" || action == "check" {
		if action == "check" && len(formProblems) > 0 {
			s.refuseForm(w, r, v, p, formProblems)
			return
		}
		v.Data = p
		s.render(w, r, http.StatusOK, "task.html", v)
		return
	}
	if len(formProblems) > 0 {
		s.refuseForm(w, r, v, p, formProblems)
		return
	}
	s.completeForm(w, r, a, v, p, outcome, mapField, label)
}

// completeForm completes the page's task with the outcome its form holds
// and goes to the inbox; a refusal of the outcome shows the form again,
// each problem next to the field mapField names: a refused value in the
// reader's words, naming the field by its label, a rule's refusal in the
// service's (outcomeProblems).
func (s *Server) completeForm(w http.ResponseWriter, r *http.Request, a *service.Actor, v view, p taskPage, outcome any,
	mapField func(string) string, label func(words, string) string) {
	raw, err := json.Marshal(outcome)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	if _, err := s.svc.CompleteTask(r.Context(), *a, p.Task.ID, raw); err != nil {
		if !errors.Is(err, service.ErrInvalid) {
			s.pageError(w, r, a, err)
			return
		}
		s.refuseForm(w, r, v, p, outcomeProblems(v.W, err, mapField, label))
		return
	}
	http.Redirect(w, r, "/?done="+url.QueryEscape(p.Task.ID), http.StatusSeeOther)
}

// refuseForm shows a task's form again with what was typed, each problem
// next to its field and all of them in a summary above the form.
func (s *Server) refuseForm(w http.ResponseWriter, r *http.Request, v view, p taskPage, problems []problem) {
	errs := map[string]*fieldErr{}
	for _, pr := range problems {
		if pr.Field != "" && errs[pr.Field] == nil {
			errs[pr.Field] = &fieldErr{ID: pr.Field, Text: pr.Text, Lang: pr.Lang}
		}
	}
	p.Problems = problems
	name := "task.html"
	if p.Evaluate != nil {
		p.Evaluate.Errors = errs
	} else if p.Consult != nil {
		p.Consult.Errors = errs
	} else if p.Draft != nil {
		p.Draft.Errors = errs
	} else if p.Signing != nil {
		p.Signing.Errors = errs
		name = "signing.html"
	}
	v.Data = p
	s.render(w, r, http.StatusUnprocessableEntity, name, v)
}

// serviceLang is the language of the service's words: refusals and errors
// are written in English, as the command line and the API show them.
const serviceLang = "en"

// problemsOf splits a refusal into its problems, in the service's words:
// the rules list every problem of an outcome in one message, after the
// task it concerns ("outcome of task …: a; b").
func problemsOf(err error) []string {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "outcome of task ") {
		msg = rest
	}
	var out []string
	for _, part := range strings.Split(msg, "; ") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// pathInProblem reads the field a problem names at its start:
// "findings[2].section …" gives ("findings", 2, "section").
var pathInProblem = regexp.MustCompile(`^(?:outcome\.)?([a-z_]+)(?:\[(\d+)\])?(?:\.([a-z_]+))?`)

func problemPath(text string) (list string, index int, field string) {
	m := pathInProblem.FindStringSubmatch(text)
	if m == nil {
		return "", -1, ""
	}
	index = -1
	if m[2] != "" {
		index, _ = strconv.Atoi(m[2])
	}
	return m[1], index, m[3]
}
