package web

import (
	"context"
	"net/http"
	"time"
)

// healthz answers that the process is alive: it serves requests. It reads
// nothing, so a database or Temporal outage does not make a supervisor
// restart a server that would only come back to the same outage.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz answers whether the server can do its work — the database with
// every migration, and Temporal — as JSON, 200 when every check passes and
// 503 naming what does not, for a load balancer to route by.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	checks := s.svc.Ready(ctx)
	code, ready := http.StatusOK, true
	for _, c := range checks {
		if !c.Ready {
			code, ready = http.StatusServiceUnavailable, false
		}
	}
	writeJSON(w, code, map[string]any{"ready": ready, "checks": checks})
}
