package web

import (
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/render"
)

func catalog(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := fs.ReadFile(localeFiles, "locales/"+lang+".toml")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	if err := toml.Unmarshal(b, &m); err != nil {
		t.Fatalf("locales/%s.toml: %v", lang, err)
	}
	return m
}

// TestCatalogsHaveEveryKey checks that Finnish and English have the same
// keys, that every message ID the templates and the Go code ask for is in
// both, and that a message's placeholders are the same in both languages.
func TestCatalogsHaveEveryKey(t *testing.T) {
	fi, en := catalog(t, "fi"), catalog(t, "en")
	for k := range fi {
		if _, ok := en[k]; !ok {
			t.Errorf("%q is in fi.toml but not in en.toml", k)
		}
	}
	for k := range en {
		if _, ok := fi[k]; !ok {
			t.Errorf("%q is in en.toml but not in fi.toml", k)
		}
	}
	placeholder := regexp.MustCompile(`\{\{\.(\w+)\}\}`)
	names := func(s string) []string {
		var out []string
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		slices.Sort(out)
		return out
	}
	for k, v := range fi {
		if e, ok := en[k]; ok && !slices.Equal(names(v), names(e)) {
			t.Errorf("%q has placeholders %v in Finnish but %v in English", k, names(v), names(e))
		}
	}

	// Every literal message ID used: .T "key" in templates, T("key") and
	// page titles in Go.
	used := map[string]string{}
	inTemplates := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	inGo := regexp.MustCompile(`(?:\.T\(|s\.page\(r, [a-z&]+, )"([a-z0-9_.]+)"`)
	files, err := filepath.Glob("templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	goFiles, _ := filepath.Glob("*.go")
	for _, f := range append(files, goFiles...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		re := inTemplates
		if strings.HasSuffix(f, ".go") {
			re = inGo
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = f
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d message IDs in use: the patterns no longer match the code", len(used))
	}
	for k, f := range used {
		if _, ok := fi[k]; !ok {
			t.Errorf("%s uses %q, which fi.toml lacks", f, k)
		}
		if _, ok := en[k]; !ok {
			t.Errorf("%s uses %q, which en.toml lacks", f, k)
		}
	}
	// Keys made at run time: task kinds, statuses, severities, ratings,
	// methods.
	for _, prefix := range []string{"kind.evaluate", "kind.consult", "kind.draft", "kind.signoff", "kind.approve",
		"status.open", "status.done", "status.superseded", "status.cancelled", "severity.major", "severity.minor",
		"severity.info", "rating.effective", "rating.partly", "rating.not_effective", "method.council", "method.survey",
		"method.workshop", "method.interview", "decision.addressed", "decision.deferred", "decision.rejected"} {
		if _, ok := fi[prefix]; !ok {
			t.Errorf("fi.toml lacks %q", prefix)
		}
	}
	// The validation's messages, chosen by a problem's tag (validwords.go).
	runtime := slices.Clone(validMessages)
	for _, k := range validKinds {
		runtime = append(runtime, "valid.kind."+k)
	}
	for _, k := range runtime {
		if _, ok := fi[k]; !ok {
			t.Errorf("fi.toml lacks %q", k)
		}
		if _, ok := en[k]; !ok {
			t.Errorf("en.toml lacks %q", k)
		}
	}
}

// TestEveryTagHasAMessage checks that every rule OHO's types are validated
// by, and every problem of input that does not decode, has a message in
// the catalogs (validKey), so that no page falls back to the service's
// English for one of them.
func TestEveryTagHasAMessage(t *testing.T) {
	tags := []string{check.TagJSON, check.TagUnknownField, check.TagType}
	validate := regexp.MustCompile(`validate:"([^"]*)"`)
	var files []string
	for _, pattern := range []string{"../review/*.go", "../store/*.go", "../service/*.go", "../workflows/*.go", "*.go"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range validate.FindAllStringSubmatch(string(b), -1) {
			for _, rule := range strings.Split(m[1], ",") {
				name, _, _ := strings.Cut(rule, "=")
				if name != "omitempty" && name != "dive" && !slices.Contains(tags, name) {
					tags = append(tags, name)
				}
			}
		}
	}
	if !slices.Contains(tags, "datetime") || !slices.Contains(tags, "person") {
		t.Fatalf("found the tags %v: the search no longer finds OHO's validate tags", tags)
	}
	for _, tag := range tags {
		p := check.Problem{Tag: tag}
		if tag == "datetime" {
			p.Param = time.DateOnly
		}
		if validKey(p) == "" {
			t.Errorf("the tag %q has no message", tag)
		}
	}
}

func TestReaderLang(t *testing.T) {
	for _, tt := range []struct {
		chosen, cookie, accept string
		want                   render.Lang
	}{
		{"", "", "", render.Finnish},
		{"", "", "en-GB,en;q=0.9", render.English},
		{"", "", "sv-FI,sv;q=0.9,en;q=0.5", render.English},
		{"", "", "de", render.Finnish},
		{"", "en", "fi", render.English},
		{"fi", "en", "en", render.Finnish},
		{"en", "", "fi", render.English},
		{"", "xx", "garbage;;", render.Finnish},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tt.accept != "" {
			r.Header.Set("Accept-Language", tt.accept)
		}
		if tt.cookie != "" {
			r.Header.Set("Cookie", LangCookie+"="+tt.cookie)
		}
		if got := readerLang(r, tt.chosen); got != tt.want {
			t.Errorf("chosen %q, cookie %q, Accept-Language %q: got %s, want %s", tt.chosen, tt.cookie, tt.accept, got, tt.want)
		}
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{"/tasks/x": "/tasks/x", "": "/", "https://evil.example/": "/", "//evil.example": "/", "/\\evil": "/"} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// inlineScriptOrStyle says whether a page has script or style the
// Content-Security-Policy would refuse: a <script> without src, a <style>
// element or a style attribute. Scripts from the site's own files are fine.
func inlineScriptOrStyle(body string) bool {
	if strings.Contains(body, "<style") || strings.Contains(body, "style=") {
		return true
	}
	for rest := body; ; {
		i := strings.Index(rest, "<script")
		if i < 0 {
			return false
		}
		tag, _, _ := strings.Cut(rest[i:], ">")
		if !strings.Contains(tag, " src=") {
			return true
		}
		rest = rest[i+len("<script"):]
	}
}

func TestInlineScriptOrStyle(t *testing.T) {
	for body, want := range map[string]bool{
		`<script src="/static/oho.js" defer></script>`:    false,
		`<script>alert(1)</script>`:                       true,
		`<p style="color: red">`:                          true,
		`<script src="/a.js"></script><script>x</script>`: true,
		`<p>no script</p>`:                                false,
	} {
		if got := inlineScriptOrStyle(body); got != want {
			t.Errorf("inlineScriptOrStyle(%q) = %v, want %v", body, got, want)
		}
	}
}
