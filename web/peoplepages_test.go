package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/store"
)

// TestPeoplePages: everyone downloads their own data from /people, and the
// provider's auditors see its people there and download anyone's; the same
// document comes from the API. A colleague and another provider's auditor
// are refused, as a page and as JSON.
func TestPeoplePages(t *testing.T) {
	ts, db, login := auditFixture(t)
	nurse := login("acme.nurse.north")

	mine := fetch(t, nurse, ts.URL, "/people")
	mine.says(t, "the nurse's page of personal data", "<h1>Henkilötiedot</h1>", `<a href="/people" aria-current="page">Henkilötiedot</a>`,
		`<a href="/people/acme.nurse.north/export" download>Lataa omat tietoni (JSON)</a>`)
	if mine.code != http.StatusOK || strings.Contains(mine.body, "acme.nurse.south") || strings.Contains(mine.body, "<table") {
		t.Errorf("the nurse's page (%d) lists the provider's people:\n%s", mine.code, mine.body)
	}

	file := fetch(t, nurse, ts.URL, "/people/acme.nurse.north/export")
	if file.code != http.StatusOK || file.header.Get("Content-Disposition") != `attachment; filename="oho-person-acme.nurse.north.json"` ||
		file.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the nurse's download: %d %v", file.code, file.header)
	}
	var export render.PersonExport
	if err := json.Unmarshal([]byte(file.body), &export); err != nil {
		t.Fatal(err)
	}
	if export.Type != "person_export" || export.FormatVersion != 1 || export.ExportedBy != "acme.nurse.north" || export.Person.ID != "acme.nurse.north" ||
		len(export.Sessions) != 1 || !strings.HasPrefix(export.Sessions[0].Ref, "s_") ||
		!strings.Contains(file.body, "Supervision <gaps> in NORTH") || strings.Contains(file.body, "Supervision <gaps> in SOUTH") {
		t.Errorf("the nurse's download is not their data, with their live session and their finding but not SOUTH's:\n%s", file.body)
	}

	refused := fetch(t, nurse, ts.URL, "/people/acme.nurse.south/export")
	refused.says(t, "the nurse downloading a colleague's data", "may not export the personal data of acme.nurse.south")
	if refused.code != http.StatusForbidden || strings.Contains(refused.header.Get("Content-Type"), "json") {
		t.Errorf("the nurse downloading a colleague's data: got %d %s, want a page refusing it", refused.code, refused.header.Get("Content-Type"))
	}
	api := fetch(t, nurse, ts.URL, "/api/v1/people/acme.nurse.north/export")
	if api.code != http.StatusOK || !strings.HasPrefix(api.header.Get("Content-Type"), "application/json") || !strings.Contains(api.body, `"exported_by": "acme.nurse.north"`) {
		t.Errorf("the API gives the nurse %d %s", api.code, api.body)
	}
	if r := fetch(t, nurse, ts.URL, "/api/v1/people/acme.nurse.south/export"); r.code != http.StatusForbidden || !strings.Contains(r.body, `"error"`) {
		t.Errorf("the API gives the nurse a colleague's data: %d %s", r.code, r.body)
	}

	auditor := login("acme.auditor")
	list := fetch(t, auditor, ts.URL, "/people")
	list.says(t, "the auditor's page of personal data", "<h2>Järjestäjän henkilöt</h2>", "<caption id=\"people-caption\">Järjestäjän ACME henkilöt</caption>",
		`<a href="/people/acme.nurse.south/export" download>Lataa (JSON)<span class="visually-hidden"> Nurse of SOUTH (acme.nurse.south)</span></a>`,
		"<code>welfare_staff@SOUTH</code>")
	if strings.Contains(list.body, "beta.") {
		t.Errorf("the auditor's list shows BETA's people")
	}
	if r := fetch(t, auditor, ts.URL, "/people/acme.nurse.south/export"); r.code != http.StatusOK || !strings.Contains(r.body, `"exported_by": "acme.auditor"`) {
		t.Errorf("the auditor downloading the nurse of SOUTH's data: %d", r.code)
	}
	if r := fetch(t, login("beta.auditor"), ts.URL, "/people/acme.nurse.north/export"); r.code != http.StatusForbidden {
		t.Errorf("BETA's auditor downloading ACME's nurse's data: got %d, want 403", r.code)
	}
	// A person who left and was pseudonymised shows as such, nameless. (Her
	// roles go first: ACME's cycle runs.)
	st := store.New(db)
	if _, err := db.Exec(`DELETE FROM person_roles WHERE person_id = 'acme.head.south'`); err != nil {
		t.Fatal(err)
	}
	if err := st.Disable(context.Background(), "acme.manager", "acme.head.south", "Left."); err != nil {
		t.Fatal(err)
	}
	gone, err := st.Pseudonymise(context.Background(), "acme.manager", "acme.head.south")
	if err != nil {
		t.Fatal(err)
	}
	fetch(t, auditor, ts.URL, "/people").says(t, "the auditor's list after a pseudonymisation",
		"<code>"+gone.Pseudonym+"</code>", "lähtenyt, pseudonymisoitu")
	req, _ := http.NewRequest("GET", ts.URL+"/people", nil)
	req.Header.Set("Accept-Language", "en")
	resp, err := auditor.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	htmlPage{resp.StatusCode, resp.Header, string(b)}.says(t, "the auditor's page in English", `<html lang="en">`, "<h1>Personal data</h1>",
		"Download my data (JSON)", "<h2>The provider&#39;s people</h2>", "Download (JSON)", "left, pseudonymised")
}
