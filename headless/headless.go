// Package headless prints a run's progress and outcome for runbooks, CI
// and cron: plain text (--plain) or NDJSON events (--json).
package headless

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/cachewarm/cachewarm/warmup"
)

// Printer receives a run's events and prints them.
type Printer interface {
	// Hooks returns the engine callbacks the printer needs.
	Hooks() warmup.Options
	// Progress runs until ctx ends, printing progress from snapshots.
	Progress(ctx context.Context, snap func() warmup.Snapshot)
	// Final prints the outcome once every item has settled.
	Final(rep *warmup.Report)
}

// Plain prints progress lines on Err and a per-loader table on Out.
type Plain struct {
	Out, Err io.Writer
	// Every is the interval between progress lines (default 1s).
	Every time.Duration
	// MaxReasons bounds the rejected items listed per loader (default 10).
	MaxReasons int
}

// Hooks implements Printer.
func (p *Plain) Hooks() warmup.Options { return warmup.Options{} }

// Progress implements Printer.
func (p *Plain) Progress(ctx context.Context, snap func() warmup.Snapshot) {
	every := p.Every
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s := snap()
			fmt.Fprintf(p.Err, "cachewarm: %5.1fs %-8s %d fulfilled, %d rejected, %d pending, %.0f items/s\n",
				s.Elapsed.Seconds(), s.State, s.Fulfilled, s.Rejected, s.Pending, s.Rate)
		}
	}
}

// Final implements Printer.
func (p *Plain) Final(rep *warmup.Report) {
	tw := tabwriter.NewWriter(p.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LOADER\tSOURCE\tFULFILLED\tREJECTED\tP50\tP95\t")
	for _, l := range rep.Loaders {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t\n", l.Name, l.Source, l.Fulfilled, l.Rejected, fmtMS(l.P50ms), fmtMS(l.P95ms))
	}
	fmt.Fprintf(tw, "TOTAL\t\t%d\t%d\t\t\t\n", rep.Fulfilled, rep.Rejected)
	tw.Flush()
	max := p.MaxReasons
	if max <= 0 {
		max = 10
	}
	for _, l := range rep.Loaders {
		if l.Error != "" {
			fmt.Fprintf(p.Err, "%s: source stopped early: %s\n", l.Name, l.Error)
		}
		for i, r := range l.RejectedItems {
			if i == max {
				fmt.Fprintf(p.Err, "%s: … %d more rejected (write them with --report)\n", l.Name, len(l.RejectedItems)-max)
				break
			}
			fmt.Fprintf(p.Err, "%s: rejected %s: %s\n", l.Name, describe(r), r.Reason)
		}
	}
	state := "done"
	if rep.Interrupted {
		state = "interrupted"
	}
	fmt.Fprintf(p.Err, "cachewarm: %s in %.1fs: %d fulfilled, %d rejected\n", state, rep.Seconds, rep.Fulfilled, rep.Rejected)
}

func describe(r warmup.Rejection) string {
	if r.Key != "" {
		return r.Key
	}
	s := string(r.Item)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

func fmtMS(ms float64) string {
	switch {
	case ms == 0:
		return "-"
	case ms < 1:
		return fmt.Sprintf("%.0fµs", ms*1000)
	case ms < 1000:
		return fmt.Sprintf("%.0fms", ms)
	default:
		return fmt.Sprintf("%.1fs", ms/1000)
	}
}

// JSON prints NDJSON events on Out: one "rejected" per rejected item, one
// "loader_done" per loader, and a final "summary".
type JSON struct {
	Out io.Writer

	mu  sync.Mutex
	enc *json.Encoder
}

type rejectedEvent struct {
	Event  string `json:"event"`
	Loader string `json:"loader"`
	warmup.Rejection
}

type loaderEvent struct {
	Event     string  `json:"event"`
	Loader    string  `json:"loader"`
	Fulfilled int64   `json:"fulfilled"`
	Rejected  int64   `json:"rejected"`
	P50ms     float64 `json:"p50_ms"`
	P95ms     float64 `json:"p95_ms"`
}

type summaryEvent struct {
	Event       string  `json:"event"`
	Fulfilled   int64   `json:"fulfilled"`
	Rejected    int64   `json:"rejected"`
	Interrupted bool    `json:"interrupted"`
	Seconds     float64 `json:"seconds"`
}

func (j *JSON) emit(v any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.enc == nil {
		j.enc = json.NewEncoder(j.Out)
	}
	_ = j.enc.Encode(v)
}

// Hooks implements Printer.
func (j *JSON) Hooks() warmup.Options {
	return warmup.Options{
		OnReject: func(loader string, r warmup.Rejection) {
			j.emit(rejectedEvent{Event: "rejected", Loader: loader, Rejection: r})
		},
		OnLoaderDone: func(l warmup.LoaderSnapshot) {
			j.emit(loaderEvent{Event: "loader_done", Loader: l.Name, Fulfilled: l.Fulfilled, Rejected: l.Rejected,
				P50ms: float64(l.P50.Microseconds()) / 1000, P95ms: float64(l.P95.Microseconds()) / 1000})
		},
	}
}

// Progress implements Printer: JSON mode prints events only.
func (j *JSON) Progress(ctx context.Context, _ func() warmup.Snapshot) { <-ctx.Done() }

// Final implements Printer.
func (j *JSON) Final(rep *warmup.Report) {
	j.emit(summaryEvent{Event: "summary", Fulfilled: rep.Fulfilled, Rejected: rep.Rejected, Interrupted: rep.Interrupted, Seconds: rep.Seconds})
}
