// Package headless prints a run's progress and outcome for runbooks, CI
// and cron: plain text (--plain) or NDJSON events (--json).
package headless

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/cachewarm/cachewarm/warmup"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// Printer receives a run's events and prints them.
type Printer interface {
	// Hooks returns the engine callbacks the printer needs.
	Hooks() warmup.Options
	// Progress runs until ctx ends, printing progress from snapshots.
	Progress(ctx context.Context, snap func() warmup.Snapshot)
	// Final prints the outcome once every item has settled.
	Final(rep *warmup.Report)
	// OutputErr is the first error writing to Out, if any: from then on
	// nothing more was written there.
	OutputErr() error
}

// Output guards a stdout: a printer's Out, or --dry-run's. The first
// write error is kept and said once on stderr, and later writes are
// dropped: a closed pipe or a full disk must neither stop the run nor go
// unnoticed.
type Output struct {
	mu     sync.Mutex
	w, err io.Writer
	failed error
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failed != nil {
		return 0, o.failed
	}
	n, err := o.w.Write(p)
	if err != nil {
		o.failed = err
		o.warn(err)
	}
	return n, err
}

func (o *Output) warn(err error) {
	if o.err == nil {
		return
	}
	if errors.Is(err, syscall.EPIPE) {
		fmt.Fprintf(o.err, "cachewarm: stdout was closed; the run goes on without printing (--report keeps every outcome)\n")
		return
	}
	fmt.Fprintf(o.err, "cachewarm: writing stdout: %v; the rest of the output is lost and the exit code will be at least 1 (--report keeps every outcome)\n", unwrapPath(err))
}

// unwrapPath drops "write /dev/stdout: " from an *os.PathError: the
// message already says which output failed.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Err is the first write error, if any: from then on nothing more was
// written.
func (o *Output) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.failed
}

// NewOutput guards w; its first write error is said on errw.
func NewOutput(w, errw io.Writer) *Output { return &Output{w: w, err: errw} }

// OutputLost says whether err, a Printer's OutputErr, lost output the
// user asked for: a reader that closed the pipe (`| head`) chose to
// stop reading, a full disk did not.
func OutputLost(err error) bool {
	return err != nil && !errors.Is(err, syscall.EPIPE)
}

// Plain prints progress lines on Err and a per-loader table on Out.
type Plain struct {
	out *Output
	Err io.Writer
	// Every is the interval between progress lines while the run's state
	// stays the same; a new state (an outage, Redis back, a stop, a
	// verify pass) is printed at once.
	Every time.Duration
}

// NewPlain returns a Plain printer writing its table to out and its
// progress to errw: a line a second on a terminal, one every 30 seconds
// elsewhere, since a cron job's mail or a CI log keeps every line.
func NewPlain(out, errw io.Writer) *Plain {
	p := &Plain{out: NewOutput(out, errw), Err: errw, Every: quietEvery}
	if f, ok := errw.(interface{ Fd() uintptr }); ok && term.IsTerminal(f.Fd()) {
		p.Every = progressEvery
	}
	return p
}

// OutputErr implements Printer.
func (p *Plain) OutputErr() error { return p.out.Err() }

// progressEvery is how often the progress is looked at, and the
// interval between its lines on a terminal; quietEvery the interval
// elsewhere.
const (
	progressEvery = time.Second
	quietEvery    = 30 * time.Second
)

// maxReasons bounds the rejected items listed per loader.
const maxReasons = 10

// Hooks implements Printer: a Redis restart is said at once.
func (p *Plain) Hooks() warmup.Options {
	return warmup.Options{OnRedisRestart: func(r warmup.RedisRestart) {
		fmt.Fprintf(p.Err, "cachewarm: %s: the keys it held are re-checked, and the missing ones written again, when the run settles\n", r)
	}}
}

// Progress implements Printer.
func (p *Plain) Progress(ctx context.Context, snap func() warmup.Snapshot) {
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	p.progress(ctx, snap, t.C)
}

// progress prints a line at the first tick, at every tick that finds the
// run in a new state, and otherwise once p.Every has passed.
func (p *Plain) progress(ctx context.Context, snap func() warmup.Snapshot, ticks <-chan time.Time) {
	var last time.Time
	var lastState warmup.State
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticks:
			s := snap()
			if s.State == lastState && now.Sub(last) < p.Every {
				continue
			}
			last, lastState = now, s.State
			p.printProgress(s)
		}
	}
}

// printProgress prints one progress line for s.
func (p *Plain) printProgress(s warmup.Snapshot) {
	state := string(s.State)
	if s.RedisDown > 0 {
		state = fmt.Sprintf("waiting for Redis %s (%s)", s.RedisDown.Round(time.Second), s.RedisCause)
	}
	if r := s.Restarts; r != nil && r.Running {
		fmt.Fprintf(p.Err, "cachewarm: %5.1fs %-8s %d keys checked, %d lost; %d fulfilled, %d rejected\n",
			s.Elapsed.Seconds(), state, r.Checked, r.Lost, s.Fulfilled, s.Rejected)
		return
	}
	if v := s.Verify; v != nil && v.Running {
		fmt.Fprintf(p.Err, "cachewarm: %5.1fs %-8s %d of %d keys checked, %d wrong; %d fulfilled, %d rejected\n",
			s.Elapsed.Seconds(), state, v.Checked, v.Total, v.Failed, s.Fulfilled, s.Rejected)
		return
	}
	fmt.Fprintf(p.Err, "cachewarm: %5.1fs %-8s %d fulfilled%s, %d rejected, %d pending, %.0f items/s\n",
		s.Elapsed.Seconds(), state, s.Fulfilled, WarmNote(s.Warm), s.Rejected, s.Pending, s.Rate)
}

// Final implements Printer.
func (p *Plain) Final(rep *warmup.Report) {
	Table(p.out, rep)
	for _, l := range rep.Loaders {
		switch {
		case l.Error != "" && l.Resume != nil && l.Resume.Kind == source.KindStream:
			fmt.Fprintf(p.Err, "%s: the input stopped early at line %d: %s: fix it and feed it again; --retry-from cannot read a stream again\n", l.Name, l.Resume.Line, l.Error)
		case l.Error != "" && l.Resume != nil && l.Resume.Kind == source.KindSQL:
			fmt.Fprintf(p.Err, "%s: the query stopped early: %s: --retry-from runs it again from row %d\n", l.Name, l.Error, l.Resume.Next+1)
		case l.Error != "":
			fmt.Fprintf(p.Err, "%s: source stopped early: %s: if the file is damaged, fix it and run this loader again; --retry-from would stop at the same place\n", l.Name, l.Error)
		case l.Resume != nil:
			fmt.Fprintf(p.Err, "%s: not started: %s\n", l.Name, describeResume(l))
		}
		if l.RejectedAtSource > 0 {
			fmt.Fprintf(p.Err, "%s: %d rejected at the source (%s): a retry reads the same bytes; fix them, then run this loader again without --retry-from\n",
				l.Name, l.RejectedAtSource, whereAtSource(l.RejectedItems))
		}
		for i, r := range l.RejectedItems {
			if i == maxReasons {
				fmt.Fprintf(p.Err, "%s: … %d more rejected (a --report lists every one)\n", l.Name, len(l.RejectedItems)-maxReasons)
				break
			}
			fmt.Fprintf(p.Err, "%s: rejected %s: %s\n", l.Name, describe(r), r.Reason)
		}
	}
	for _, l := range rep.Loaders {
		for _, c := range l.Causes {
			fmt.Fprintf(p.Err, "%s: %d × %s (e.g. %s)\n", l.Name, c.Count, c.Cause, c.Example)
		}
	}
	printTTLSpread(p.Err, rep)
	printAdaptive(p.Err, rep)
	if n := rep.Evicted; n != nil && *n > 0 {
		fmt.Fprintf(p.Err, "cachewarm: Redis evicted %d keys during the run (maxmemory-policy %s): warmed keys among them are cold again; --verify finds which\n", *n, rep.EvictionPolicy)
	}
	printVerify(p.Err, rep)
	printRestarts(p.Err, rep.Restarts)
	state := "done"
	switch {
	case rep.Interrupted:
		state = "interrupted"
	case rep.Stopped != "":
		state = "stopped (" + rep.Stopped + ")"
	}
	if rep.Shard != nil {
		state = "shard " + rep.Shard.String() + " " + state
	}
	fmt.Fprintf(p.Err, "cachewarm: %s in %.1fs: %d fulfilled%s, %d rejected, %s not started\n", state, rep.Seconds, rep.Fulfilled, WarmNote(rep.Warm), rep.Rejected, notStarted(TotalNotStarted(rep)))
	if retryCanHelp(rep) {
		what := "the rejected and not-started items"
		for _, l := range rep.Loaders {
			if l.Resume != nil && l.Resume.Kind == source.KindStream {
				what = "the rejected items and the rest of each file, not the rest of a stream"
				break
			}
		}
		fmt.Fprintf(p.Err, "cachewarm: --retry-from the report (--report PATH) runs %s\n", what)
	}
	if rep.RejectedAtSource > 0 {
		fmt.Fprintf(p.Err, "cachewarm: %d rejected at the source need a fixed file: --retry-from carries them over, and exits 1, until then\n", rep.RejectedAtSource)
	}
}

// printAdaptive says, for each loader whose concurrency adapted to its
// origin (fetch.adaptive), where the limit ended and how often the
// origin pushed back.
func printAdaptive(w io.Writer, rep *warmup.Report) {
	for _, l := range rep.Loaders {
		if c := l.Concurrency; c != nil {
			fmt.Fprintf(w, "%s: concurrency adapted to the origin: limit %d/%d at the end, %d backoffs (fetch.adaptive)\n", l.Name, c.Limit, c.Max, c.Cuts)
		}
	}
}

// printTTLSpread says, for each loader with a ttl_jitter, over what
// window the keys it wrote will expire.
func printTTLSpread(w io.Writer, rep *warmup.Report) {
	for _, l := range rep.Loaders {
		if r := l.TTL; r != nil && r.MinMs != r.MaxMs && l.Fulfilled > 0 {
			fmt.Fprintf(w, "%s: ttl %s: the keys written expire over %s, not all at once\n",
				l.Name, r, time.Duration(r.MaxMs-r.MinMs)*time.Millisecond)
		}
	}
}

// WarmNote says how many of the fulfilled items were already warm, when
// any were: " (12 already warm)", to follow "N fulfilled".
func WarmNote(n int64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d already warm)", n)
}

// printVerify says what --verify found: per loader what it could not
// check, then the keys checked and found wrong, and Redis's evictions.
func printVerify(w io.Writer, rep *warmup.Report) {
	v := rep.Verify
	if v == nil {
		return
	}
	for _, l := range rep.Loaders {
		if l.Verify != nil && l.Verify.Note != "" {
			fmt.Fprintf(w, "%s: verify: %s\n", l.Name, l.Verify.Note)
		}
	}
	line := fmt.Sprintf("cachewarm: verify: %d keys checked, %d not as written (now rejected)", v.Checked, v.Failed)
	if !v.Complete {
		line += ", not every key checked"
	}
	if v.Evicted != nil {
		line += fmt.Sprintf("; Redis evicted %d keys since the run started", *v.Evicted)
	}
	fmt.Fprintln(w, line)
}

// printRestarts says which Redis restarts the run saw and what it did
// about them.
func printRestarts(w io.Writer, rc *warmup.RestartCheck) {
	if rc == nil {
		return
	}
	for _, r := range rc.Events {
		fmt.Fprintf(w, "cachewarm: %s\n", r)
	}
	if more := rc.Restarts - len(rc.Events); more > 0 {
		fmt.Fprintf(w, "cachewarm: … and %d more Redis restarts\n", more)
	}
	line := fmt.Sprintf("cachewarm: after the restart: %d keys re-checked in %.1fs, %d lost and written again", rc.Checked, rc.Seconds, rc.Lost)
	if rc.Unverified > 0 {
		line += fmt.Sprintf("; %d could not be checked (%s): they are not proven in Redis", rc.Unverified, rc.Note)
	}
	fmt.Fprintln(w, line)
}

// retryCanHelp says whether --retry-from of rep can get more items in:
// rejections a retry may fix, or a source it can read on from where it
// stopped (a stream cannot be read again, a source that failed would
// fail again).
func retryCanHelp(rep *warmup.Report) bool {
	if rep.Rejected > rep.RejectedAtSource {
		return true
	}
	for _, l := range rep.Loaders {
		if l.Resume != nil && l.Resume.Kind != source.KindStream && l.Error == "" {
			return true
		}
	}
	return false
}

// Table prints the per-loader table of a report, as --plain ends with.
func Table(w io.Writer, rep *warmup.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// A --retry-from chain's earlier runs fulfilled items this one did
	// not: without them a loader looks short of items.
	before := rep.FulfilledBefore > 0
	for _, l := range rep.Loaders {
		before = before || l.FulfilledBefore > 0
	}
	// Items left alone because their key was warm are fulfilled too; the
	// column says how many, when a run left any.
	warm := rep.Warm > 0
	col := func(show bool, n int64) string {
		if !show {
			return ""
		}
		return fmt.Sprintf("%d\t", n)
	}
	head := "LOADER\tSOURCE\tFULFILLED\t"
	if warm {
		head += "WARM\t"
	}
	if before {
		head += "BEFORE\t"
	}
	fmt.Fprintln(tw, head+"REJECTED\tNOT STARTED\tP50\tP95\t")
	for _, l := range rep.Loaders {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s%s%d\t%s\t%s\t%s\t\n", l.Name, l.Source, l.Fulfilled, col(warm, l.Warm), col(before, l.FulfilledBefore), l.Rejected, notStarted(l.NotStarted), fmtMS(l.P50ms), fmtMS(l.P95ms))
	}
	fmt.Fprintf(tw, "TOTAL\t\t%d\t%s%s%d\t%s\t\t\t\n", rep.Fulfilled, col(warm, rep.Warm), col(before, rep.FulfilledBefore), rep.Rejected, notStarted(TotalNotStarted(rep)))
	tw.Flush()
}

// maxWhere bounds the source positions listed for a loader's items
// rejected at the source.
const maxWhere = 3

// whereAtSource lists where the first items rejected at the source are
// ("items.jsonl:3, items.jsonl:9, …").
func whereAtSource(rs []warmup.Rejection) string {
	var at []string
	for _, r := range rs {
		if r.Stage != warmup.StageSource {
			continue
		}
		if len(at) == maxWhere {
			at = append(at, "…")
			break
		}
		if r.Where == "" {
			at = append(at, describe(r))
		} else {
			at = append(at, r.Where)
		}
	}
	return strings.Join(at, ", ")
}

// TotalNotStarted is -1 when some loader's count is unknown (the rest of
// a file), else the sum.
func TotalNotStarted(rep *warmup.Report) int64 {
	var n int64
	for _, l := range rep.Loaders {
		if l.NotStarted < 0 {
			return -1
		}
		n += l.NotStarted
	}
	return n
}

func notStarted(n int64) string {
	if n < 0 {
		return "rest"
	}
	return fmt.Sprint(n)
}

func describeResume(l warmup.LoaderReport) string {
	r := l.Resume
	switch {
	case r.Kind == source.KindStream:
		return fmt.Sprintf("lines %d on of a stream, which --retry-from cannot read again: feed them again", r.Line)
	case r.Kind == source.KindGzip:
		return fmt.Sprintf("the rest of the file from line %d (byte %d decompressed)", r.Line, r.Offset)
	case r.Kind == source.KindSQL:
		return fmt.Sprintf("the rows of the query from row %d (--retry-from runs it again with OFFSET %d)", r.Next+1, r.Next)
	case r.Offset > 0 || r.Line > 0:
		return fmt.Sprintf("the rest of the file from line %d (byte %d)", r.Line, r.Offset)
	case r.Remaining >= 0 && strings.HasPrefix(l.Source, "range "):
		return fmt.Sprintf("%d items from %d", r.Remaining, r.Next)
	case r.Remaining >= 0:
		return fmt.Sprintf("%d items from item %d", r.Remaining, r.Next+1)
	default:
		return "the whole source"
	}
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
	out *Output
	mu  sync.Mutex
	enc *json.Encoder
}

// NewJSON returns a JSON printer writing events to out; a failure to
// write them is said once on errw.
func NewJSON(out, errw io.Writer) *JSON {
	o := NewOutput(out, errw)
	return &JSON{out: o, enc: json.NewEncoder(o)}
}

// OutputErr implements Printer.
func (j *JSON) OutputErr() error { return j.out.Err() }

type rejectedEvent struct {
	Event  string `json:"event"`
	Loader string `json:"loader"`
	warmup.Rejection
}

type loaderEvent struct {
	Event      string  `json:"event"`
	Loader     string  `json:"loader"`
	Fulfilled  int64   `json:"fulfilled"`
	Warm       int64   `json:"warm"`
	Rejected   int64   `json:"rejected"`
	NotStarted int64   `json:"not_started"`
	P50ms      float64 `json:"p50_ms"`
	P95ms      float64 `json:"p95_ms"`
	// Concurrency is where an adaptive loader's limit ended.
	Concurrency *warmup.AdaptiveLimit `json:"concurrency,omitempty"`
}

type summaryEvent struct {
	Event       string        `json:"event"`
	Fulfilled   int64         `json:"fulfilled"`
	Warm        int64         `json:"warm"`
	Rejected    int64         `json:"rejected"`
	AtSource    int64         `json:"rejected_at_source"`
	NotStarted  int64         `json:"not_started"`
	Interrupted bool          `json:"interrupted"`
	Stopped     string        `json:"stopped,omitempty"`
	Seconds     float64       `json:"seconds"`
	Shard       *warmup.Shard `json:"shard,omitempty"`
	// Verify is what --verify found, absent without it.
	Verify *warmup.VerifyReport `json:"verify,omitempty"`
	// Restarts is what the run saw of Redis restarts, absent when none.
	Restarts *warmup.RestartCheck `json:"redis_restarts,omitempty"`
}

// restartEvent is a "redis_restart" event: a Redis process that had
// acknowledged writes was replaced.
type restartEvent struct {
	Event   string `json:"event"`
	Message string `json:"message"`
	warmup.RedisRestart
}

func (j *JSON) emit(v any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	_ = j.enc.Encode(v) // a failure is kept by j.out
}

// Hooks implements Printer.
func (j *JSON) Hooks() warmup.Options {
	return warmup.Options{
		OnReject: func(loader string, r warmup.Rejection) {
			j.emit(rejectedEvent{Event: "rejected", Loader: loader, Rejection: r})
		},
		OnRedisRestart: func(r warmup.RedisRestart) {
			j.emit(restartEvent{Event: "redis_restart", Message: r.String(), RedisRestart: r})
		},
		OnLoaderDone: func(l warmup.LoaderSnapshot) {
			j.emit(loaderEvent{Event: "loader_done", Loader: l.Name, Fulfilled: l.Fulfilled, Warm: l.Warm, Rejected: l.Rejected, NotStarted: l.NotStarted,
				P50ms: float64(l.P50.Microseconds()) / 1000, P95ms: float64(l.P95.Microseconds()) / 1000, Concurrency: l.Concurrency()})
		},
	}
}

// Progress implements Printer: JSON mode prints events only.
func (j *JSON) Progress(ctx context.Context, _ func() warmup.Snapshot) { <-ctx.Done() }

// Final implements Printer.
func (j *JSON) Final(rep *warmup.Report) {
	j.emit(summaryEvent{Event: "summary", Fulfilled: rep.Fulfilled, Warm: rep.Warm, Rejected: rep.Rejected, AtSource: rep.RejectedAtSource, NotStarted: TotalNotStarted(rep),
		Interrupted: rep.Interrupted, Stopped: rep.Stopped, Seconds: rep.Seconds, Shard: rep.Shard, Verify: rep.Verify, Restarts: rep.Restarts})
}
