package service

import (
	"context"

	"go.temporal.io/sdk/client"
)

// ReadyCheck is one of what a server needs to serve: its name, and what is
// wrong with it ("" when it is ready).
type ReadyCheck struct {
	Name    string `json:"name"`
	Ready   bool   `json:"ready"`
	Problem string `json:"problem,omitempty"`
}

// Ready checks what the service needs to work: the database answering with
// every migration applied, and the Temporal server answering. A load
// balancer sends requests only to a server whose checks all pass.
func (s *Service) Ready(ctx context.Context) []ReadyCheck {
	checks := []ReadyCheck{{Name: "database", Ready: true}, {Name: "temporal", Ready: true}}
	if err := s.store.Ready(ctx); err != nil {
		checks[0] = ReadyCheck{Name: "database", Problem: err.Error()}
	}
	// One check, not client's patient one: a load balancer asks often and
	// wants an answer now.
	c, err := s.dial(ctx)
	if err == nil {
		_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
	}
	if err != nil {
		checks[1] = ReadyCheck{Name: "temporal", Problem: err.Error()}
	}
	return checks
}
