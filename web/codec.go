package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/service"
)

// The codec server: Temporal's remote codec protocol, which the Temporal Web
// UI and CLI speak to show payloads that OHO's programs encrypted (package
// payloadcrypt). POST /codec/decode takes {"payloads": [...]} in Temporal's
// protobuf JSON and answers the same shape, decoded; the optional
// X-Namespace header names the namespace the payloads came from. The Web UI
// calls it from the browser, from its own origin, so the server answers the
// CORS preflight for the origins it is configured with (CodecOrigins) and
// lets them send credentials: the session cookie ("Include cross-origin
// credentials" in the UI's codec settings) when the UI and OHO are on the
// same site, or an API token as a bearer token (the CLI's --codec-auth).
//
// Who gets plain text is the service's decision (Service.DecodePayloads):
// each payload names the provider it belongs to, and only that provider's
// auditors and managers may read it. /codec/encode is refused: OHO's
// workflows are changed through OHO, never from the Web UI or the CLI.

// codecPath is where the Web UI and the CLI are pointed ("Codec Server
// endpoint"); they add /decode and /encode.
const codecPath = "/codec"

// DevCodecOrigins are the origins whose requests the codec server accepts by
// default when OHO runs on this machine: the Temporal dev server's Web UI,
// by either name of this machine.
var DevCodecOrigins = []string{"http://localhost:8233", "http://127.0.0.1:8233"}

// ParseCodecOrigins reads a list of origins separated by commas (such as
// "https://temporal.college.example"): each a scheme, a host and perhaps a
// port, nothing more. A wildcard is refused: the codec server lets the
// origins it names send credentials, which CORS allows only for origins
// named exactly.
func ParseCodecOrigins(raw string) ([]string, error) {
	var out []string
	for o := range strings.SplitSeq(raw, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.Contains(o, "*") {
			return nil, fmt.Errorf("%s is not an origin such as https://temporal.college.example (a scheme and a host, perhaps a port; no path, no wildcard)", check.Quote(o))
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out, nil
}

// codecOrigin returns the request's Origin header and whether the codec
// server answers it: no Origin (the CLI, a script), OHO's own, or one of the
// configured origins.
func (s *Server) codecOrigin(r *http.Request) (string, bool) {
	origin := r.Header.Get("Origin")
	return origin, origin == "" || origin == s.base.Scheme+"://"+s.base.Host || slices.Contains(s.codecOrigins, origin)
}

// allowOrigin sets the CORS headers that let the origin read the answer
// and send credentials. Vary tells caches the answer depends on it.
func allowOrigin(w http.ResponseWriter, origin string) {
	h := w.Header()
	h.Add("Vary", "Origin")
	if origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// refuseOrigin answers a request from an origin the codec server does not
// serve.
func (s *Server) refuseOrigin(w http.ResponseWriter, r *http.Request, origin string) {
	s.fail(w, r, errorOf(service.ErrForbidden, "refused: the codec server does not answer pages of %s (OHO_CODEC_CORS_ORIGIN lists the origins of the Temporal Web UI it answers)", check.Quote(origin)))
}

// codecPreflight answers the browser's CORS preflight of a decode request:
// which methods and headers the Web UI may send from its origin.
func (s *Server) codecPreflight(w http.ResponseWriter, r *http.Request) {
	origin, ok := s.codecOrigin(r)
	if !ok {
		s.refuseOrigin(w, r, origin)
		return
	}
	allowOrigin(w, origin)
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// codecDecode decodes payloads for the person logged in (session or API
// token): POST /codec/decode.
func (s *Server) codecDecode(w http.ResponseWriter, r *http.Request) {
	origin, ok := s.codecOrigin(r)
	if !ok {
		s.refuseOrigin(w, r, origin)
		return
	}
	allowOrigin(w, origin)
	if err := s.decodeFor(w, r); err != nil {
		s.fail(w, r, err)
	}
}

func (s *Server) decodeFor(w http.ResponseWriter, r *http.Request) error {
	a, err := s.actor(r)
	if err != nil {
		return err
	}
	if err := checkQuery(r); err != nil {
		return err
	}
	b, err := readBody(r)
	if err != nil {
		return err
	}
	var in commonpb.Payloads
	if err := protojson.Unmarshal(b, &in); err != nil {
		return invalidField("body", "the body must be {\"payloads\": [...]}, payloads in Temporal's JSON (metadata and data in base64): %s", cut(err.Error()))
	}
	out, err := s.svc.DecodePayloads(r.Context(), a, strings.TrimSpace(r.Header.Get("X-Namespace")), in.GetPayloads())
	if err != nil {
		return err
	}
	body := []byte(`{"payloads":[]}`)
	if len(out) > 0 {
		if body, err = protojson.Marshal(&commonpb.Payloads{Payloads: out}); err != nil {
			return err
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
	return nil
}

// codecEncode refuses to encode: OHO's workflows are changed through OHO,
// not from the Web UI, whose write actions stay off (docs/deploy.md).
func (s *Server) codecEncode(w http.ResponseWriter, r *http.Request) {
	origin, ok := s.codecOrigin(r)
	if !ok {
		s.refuseOrigin(w, r, origin)
		return
	}
	allowOrigin(w, origin)
	s.fail(w, r, errorOf(service.ErrForbidden, "refused: OHO's codec server only decodes; OHO's workflows are changed through OHO, not from the Temporal Web UI or CLI"))
}
