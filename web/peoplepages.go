package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// The right of access (GDPR article 15): everyone logged in downloads
// everything OHO holds about them from /people; the provider's auditors and
// managers see its people there too, and download anyone's. The API gives
// the same document at /api/v1/people/{id}/export.

// peoplePage is what the page of personal data shows: the reader's own
// download, and, for those who may export anyone's, the provider's people.
type peoplePage struct {
	Mine     string
	Provider string
	Listed   bool
	People   []personRow
}

// personRow is a person in the list of the provider's people.
type personRow struct {
	store.PersonSummary
	Roles  string
	Export string
}

// personExportPath is where a person's data is downloaded.
func personExportPath(id string) string {
	return "/people/" + url.PathEscape(id) + "/export"
}

func (s *Server) pagePeople(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	p := peoplePage{Mine: personExportPath(a.Person.ID), Provider: a.Person.Provider}
	// Whether the list is shown is the service's decision: it refuses
	// everyone but the provider's auditors and managers.
	people, err := s.svc.People(r.Context(), *a, a.Person.Provider)
	switch {
	case err == nil:
		p.Listed = true
		for _, person := range people {
			p.People = append(p.People, personRow{PersonSummary: person, Roles: strings.Join(person.Roles, ", "), Export: personExportPath(person.ID)})
		}
	case !errors.Is(err, service.ErrForbidden):
		s.pageError(w, r, a, err)
		return
	}
	v := s.page(r, a, "people.title", "people")
	v.Data = p
	s.render(w, r, http.StatusOK, "people.html", v)
}

// pagePersonExport downloads a person's data as the command line writes it
// (starter person export).
func (s *Server) pagePersonExport(w http.ResponseWriter, r *http.Request) {
	a, ok := s.personal(w, r)
	if !ok {
		return
	}
	b, err := s.personExport(r, *a)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	download(w, "application/json; charset=utf-8", "oho-person-"+r.PathValue("id")+".json", b)
}

func (s *Server) apiPersonExport(w http.ResponseWriter, r *http.Request, a service.Actor) error {
	b, err := s.personExport(r, a)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
	return nil
}

// personExport gathers and renders the export of the person the path
// names, whole, so that a refusal or a failure is answered as such, never
// as half a document.
func (s *Server) personExport(r *http.Request, a service.Actor) ([]byte, error) {
	export, err := s.svc.ExportPerson(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := render.PersonExportJSON(&buf, export); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
