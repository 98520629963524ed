package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// stats are the figures of a run of operations.
type stats struct {
	N       int     `json:"n"`
	Errors  int     `json:"errors"`
	P50     float64 `json:"p50_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
	PerSec  float64 `json:"per_second"`
	Seconds float64 `json:"seconds"`
}

// summarize computes the figures of the latencies of a run that took
// elapsed.
func summarize(lat []time.Duration, errors int, elapsed time.Duration) stats {
	s := stats{N: len(lat), Errors: errors, Seconds: elapsed.Seconds()}
	if len(lat) == 0 {
		return s
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	s.P50 = ms(quantile(lat, 0.50))
	s.P99 = ms(quantile(lat, 0.99))
	s.Max = ms(lat[len(lat)-1])
	if elapsed > 0 {
		s.PerSec = float64(len(lat)) / elapsed.Seconds()
	}
	return s
}

// quantile is the nearest-rank quantile q of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// sample is the raw result of runs of operations.
type sample struct {
	lat     []time.Duration
	errors  int
	elapsed time.Duration
	first   error
}

// add takes in another run's result.
func (s *sample) add(o sample) {
	s.lat = append(s.lat, o.lat...)
	s.errors += o.errors
	s.elapsed += o.elapsed
	if s.first == nil {
		s.first = o.first
	}
}

// stats summarizes the sample.
func (s sample) stats() stats { return summarize(s.lat, s.errors, s.elapsed) }

// drive runs n operations with the given number of concurrent clients, each
// client taking the next operation as soon as its last one is answered, and
// times each. op gets the client's number and the operation's, from first.
func drive(ctx context.Context, clients, first, n int, op func(ctx context.Context, client, i int) error) sample {
	var (
		next atomic.Int64
		mu   sync.Mutex
		s    sample
		wg   sync.WaitGroup
		t0   = time.Now()
	)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				start := time.Now()
				err := op(ctx, c, first+i)
				d := time.Since(start)
				mu.Lock()
				if err != nil {
					s.errors++
					if s.first == nil {
						s.first = err
					}
				} else {
					s.lat = append(s.lat, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	s.elapsed = time.Since(t0)
	return s
}
