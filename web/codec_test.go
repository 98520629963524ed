package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/payloadcrypt"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// codecFixture serves providers ACME and BETA with a payload codec of two
// keys, k2 current and k1 from before, without Temporal: the codec server
// only decodes. It returns the server, the codec, a codec of k1 alone (a
// program before the rotation to k2), and a login for a person.
func codecFixture(t *testing.T, origins ...string) (*httptest.Server, *payloadcrypt.Codec, *payloadcrypt.Codec, func(person string) *http.Client, *sqlx.DB) {
	t.Helper()
	ctx := context.Background()
	db, _ := dbtest.New(t)
	st := store.New(db)
	for _, p := range []string{"ACME", "BETA"} {
		if _, err := st.ImportOrg(ctx, store.ActorOperator, dbtest.Org(p)); err != nil {
			t.Fatal(err)
		}
	}
	line := map[string]string{}
	for _, id := range []string{"k2", "k1"} {
		b := make([]byte, payloadcrypt.KeySize)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		line[id] = id + " " + base64.StdEncoding.EncodeToString(b) + "\n"
	}
	codecOf := func(text string) *payloadcrypt.Codec {
		keys, err := payloadcrypt.ParseKeys(text, "test keys")
		if err != nil {
			t.Fatal(err)
		}
		return payloadcrypt.New(keys, nil)
	}
	codec := codecOf(line["k2"] + line["k1"])
	svc := service.New(service.Config{Store: st, Payloads: codec})
	s, err := New(Config{Service: svc, DB: db.DB, BaseURL: "http://127.0.0.1:8080", CodecOrigins: origins})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, codec, codecOf(line["k1"]), func(person string) *http.Client { return loggedIn(t, ts, db, svc, person) }, db
}

// sealed returns the text as a JSON payload encrypted for the provider
// ("" for none), as a worker writes it into a workflow's history.
func sealed(t *testing.T, codec *payloadcrypt.Codec, provider, text string) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"text": text})
	if err != nil {
		t.Fatal(err)
	}
	out, err := codec.ForProvider(provider).Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

func payloadsBody(t *testing.T, ps ...*commonpb.Payload) string {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// post sends a decode request as the Web UI does, with extra headers.
func post(t *testing.T, c *http.Client, url, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestCodecServer decodes through HTTP with real sessions and an API token:
// ACME's payloads in plain text for ACME's auditor and manager, a refusal for
// ACME's staff, BETA's auditor and a visitor; a payload relabelled for BETA
// refused to BETA's auditor as altered; the Web UI's CORS preflight; and the
// bad requests, each with a one-line answer.
func TestCodecServer(t *testing.T) {
	const ui = "https://temporal.acme.example"
	ts, codec, before, login, db := codecFixture(t, ui)
	decode := ts.URL + "/codec/decode"
	secret := "Supervision gaps at North's breaks"
	plain, err := converter.GetDefaultDataConverter().ToPayload("written before encryption")
	if err != nil {
		t.Fatal(err)
	}
	old := sealed(t, before, "ACME", secret+" (old key)")
	body := payloadsBody(t, sealed(t, codec, "ACME", secret), plain, old)
	if strings.Contains(body, "Supervision") {
		t.Fatalf("the test's payloads are not encrypted: %s", body)
	}

	auditor := login("acme.auditor")
	for _, who := range []string{"acme.auditor", "acme.manager"} {
		c := auditor
		if who != "acme.auditor" {
			c = login(who)
		}
		resp, b := post(t, c, decode, body, "X-Namespace", "default", "Origin", ui)
		var out commonpb.Payloads
		if resp.StatusCode != 200 || protojson.Unmarshal(b, &out) != nil || len(out.Payloads) != 3 {
			t.Fatalf("%s decoding: got %d %s", who, resp.StatusCode, b)
		}
		var got map[string]string
		var gotOld map[string]string
		if err := converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &got); err != nil || got["text"] != secret {
			t.Errorf("%s: payload 0 decoded to %v (%v), want the text", who, got, err)
		}
		if !proto.Equal(out.Payloads[1], plain) {
			t.Errorf("%s: the plain payload came back as %v", who, out.Payloads[1])
		}
		if err := converter.GetDefaultDataConverter().FromPayload(out.Payloads[2], &gotOld); err != nil || !strings.HasSuffix(gotOld["text"], "(old key)") {
			t.Errorf("%s: the payload of the other key decoded to %v (%v)", who, gotOld, err)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != ui || resp.Header.Get("Access-Control-Allow-Credentials") != "true" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v", who, resp.Header)
		}
	}

	// The API token of the auditor, as the CLI sends it (--codec-auth).
	resp, b := post(t, auditor, ts.URL+"/api/v1/tokens", `{"name": "codec", "scope": "read", "expires_in_days": 1}`)
	var token struct{ Secret string }
	if resp.StatusCode != 201 || json.Unmarshal(b, &token) != nil || token.Secret == "" {
		t.Fatalf("creating a token: %d %s", resp.StatusCode, b)
	}
	if resp, b := post(t, http.DefaultClient, decode, body, "Authorization", "Bearer "+token.Secret); resp.StatusCode != 200 || !strings.Contains(string(b), `"payloads"`) {
		t.Errorf("decoding with the auditor's token: got %d %s", resp.StatusCode, b)
	}

	// Each reader's first decoding of ACME's payloads is recorded; the
	// auditor's second, within the hour, is not.
	decodings := func() map[string]int {
		t.Helper()
		var rows []struct {
			Actor string `db:"actor"`
			N     int    `db:"n"`
		}
		if err := db.Select(&rows, `SELECT actor, count(*) AS n FROM audit_events
WHERE action = 'payloads.decoded' AND subject = 'provider/ACME' AND payload ->> 'payloads' = '3' GROUP BY actor`); err != nil {
			t.Fatal(err)
		}
		m := map[string]int{}
		for _, r := range rows {
			m[r.Actor] = r.N
		}
		return m
	}
	if got := decodings(); len(got) != 2 || got["acme.auditor"] != 1 || got["acme.manager"] != 1 {
		t.Errorf("payloads.decoded events: got %v, want one for the auditor and one for the manager", got)
	}

	relabelled := proto.Clone(sealed(t, codec, "ACME", secret)).(*commonpb.Payload)
	relabelled.Metadata[payloadcrypt.MetadataProvider] = []byte("BETA")
	beta := login("beta.auditor")
	for _, tc := range []struct {
		name   string
		client *http.Client
		body   string
		header []string
		code   int
		says   string
	}{
		{"no login", http.DefaultClient, body, nil, 401, "log in first"},
		{"a token that is none", http.DefaultClient, body, []string{"Authorization", "Bearer nothing"}, 401, ""},
		{"staff of the provider", login("acme.nurse.north"), body, nil, 403, `"acme.nurse.north" may not audit workflow payloads: only the provider's auditors and managers may`},
		{"the auditor of another provider", beta, body, nil, 403, `"beta.auditor" may not audit the workflow payloads of ACME`},
		{"another provider's payload relabelled as theirs", beta, payloadsBody(t, relabelled), nil, 422, `payload 0: a payload encrypted with key "k2" does not decrypt: it was altered`},
		{"a payload bound to no provider", auditor, payloadsBody(t, sealed(t, codec, "", secret)), nil, 403, "payload 0 is encrypted without a provider"},
		{"another namespace", auditor, body, []string{"X-Namespace", "staging"}, 422, `the payloads are of Temporal namespace "staging"; this OHO decodes those of "default"`},
		{"not JSON", auditor, `{"payloads": [`, nil, 422, `the body must be {"payloads": [...]}`},
		{"an unknown field", auditor, `{"payloads": [], "workflow": "x"}`, nil, 422, `the body must be {"payloads": [...]}`},
		{"data not base64", auditor, `{"payloads": [{"metadata": {"encoding": "YmluYXJ5L2VuY3J5cHRlZA=="}, "data": "%%%"}]}`, nil, 422, `the body must be`},
		{"sent as a form", auditor, "payloads=1", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "must be JSON"},
		{"an origin not configured", auditor, body, []string{"Origin", "https://evil.example"}, 403, `does not answer pages of "https://evil.example"`},
		{"encoding", auditor, body, []string{"X-Path", "/codec/encode"}, 403, "only decodes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := decode
			header := tc.header
			if len(header) == 2 && header[0] == "X-Path" {
				url, header = ts.URL+header[1], nil
			}
			resp, b := post(t, tc.client, url, tc.body, header...)
			var e errorBody
			if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != tc.code || !strings.Contains(e.Error, tc.says) {
				t.Errorf("got %d %s, want %d saying %q", resp.StatusCode, b, tc.code, tc.says)
			}
			if strings.Contains(string(b), "Supervision") || strings.Contains(e.Error, "\n") || strings.Contains(string(b), "goroutine") {
				t.Errorf("the refusal says too much: %s", b)
			}
		})
	}

	if got := decodings(); len(got) != 2 {
		t.Errorf("the refusals recorded decodings: %v", got)
	}

	// The Web UI's preflight: its origin may post with credentials and the
	// headers it sends; another origin may not.
	for _, tc := range []struct {
		origin string
		code   int
	}{{ui, 204}, {"https://evil.example", 403}} {
		req, _ := http.NewRequest("OPTIONS", decode, nil)
		req.Header.Set("Origin", tc.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		allowed := h.Get("Access-Control-Allow-Origin") == tc.origin && h.Get("Access-Control-Allow-Credentials") == "true" &&
			h.Get("Access-Control-Allow-Methods") == "POST" && strings.Contains(h.Get("Access-Control-Allow-Headers"), "X-Namespace")
		if resp.StatusCode != tc.code || allowed != (tc.code == 204) {
			t.Errorf("preflight from %s: got %d %v, want %d", tc.origin, resp.StatusCode, h, tc.code)
		}
	}
}

func TestParseCodecOrigins(t *testing.T) {
	got, err := ParseCodecOrigins(" https://temporal.college.example, http://localhost:8233/ ,")
	if err != nil || strings.Join(got, " ") != "https://temporal.college.example http://localhost:8233" {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"*", "https://*.college.example", "temporal.college.example", "https://ui.example/path", "ftp://ui.example", "https://u:p@ui.example", "https://ui.example?x=1"} {
		if _, err := ParseCodecOrigins(bad); err == nil || !strings.Contains(err.Error(), "is not an origin") {
			t.Errorf("%q: got %v, want it refused", bad, err)
		}
	}
	// On this machine the dev server's UI is answered without a setting;
	// elsewhere only the origins configured.
	db, _ := dbtest.New(t)
	for base, want := range map[string]bool{"http://127.0.0.1:8080": true, "https://oho.college.example": false} {
		s, err := New(Config{Service: service.New(service.Config{Store: store.New(db)}), DB: db.DB, BaseURL: base})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if got := len(s.codecOrigins) > 0; got != want {
			t.Errorf("base %s: default origins %v", base, s.codecOrigins)
		}
	}
}
