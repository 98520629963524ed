package web

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes holds the hand-written OpenAPI document to the
// routes the server answers: every API route is documented, every
// documented operation is served, and each documents exactly the path
// parameters its path has.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Summary    string `json:"summary"`
			Parameters []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi.json is OpenAPI %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]bool{}
	wildcard := regexp.MustCompile(`\{([a-z_]+)\}`)
	for path, ops := range doc.Paths {
		var want []string
		for _, m := range wildcard.FindAllStringSubmatch(path, -1) {
			want = append(want, m[1])
		}
		for method, op := range ops {
			key := strings.ToUpper(method) + " " + path
			documented[key] = true
			var got []string
			for _, p := range op.Parameters {
				if p.In == "path" {
					got = append(got, p.Name)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s documents the path parameters %v, its path has %v", key, got, want)
			}
			if op.Summary == "" || len(op.Responses) == 0 {
				t.Errorf("%s has no summary or no responses", key)
			}
		}
	}
	served := map[string]bool{}
	for _, r := range (&Server{}).routeTable() {
		if !r.api {
			if strings.HasPrefix(r.path, "/api/") {
				t.Errorf("%s %s is under /api/ but not marked as an API route", r.method, r.path)
			}
			continue
		}
		key := r.method + " " + r.path
		served[key] = true
		if !documented[key] {
			t.Errorf("%s is served but not in openapi.json", key)
		}
	}
	for key := range documented {
		if !served[key] {
			t.Errorf("openapi.json documents %s, which the server does not serve", key)
		}
	}
	if len(served) < 30 {
		t.Errorf("only %d API routes found; the route table was not read", len(served))
	}
}
