package web

import "net/http"

// pageStudents is the students' view: every feedback item of the units the
// person represents and what was done with it, from the published plans.
func (s *Server) pageStudents(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	answers, err := s.svc.StudentFeedback(r.Context(), *a)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	v := s.page(r, a, "students.title", "students")
	v.Data = answers
	s.render(w, r, http.StatusOK, "students.html", v)
}
