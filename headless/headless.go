// Package headless prints a run's progress and outcome for runbooks, CI
// and cron: plain text (--plain) or NDJSON events (--json).
package headless

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
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
	// Report is the report the run wrote, said by Final; Retry is the
	// command that retries its failures from it, Final's last line when
	// a retry can help. Both "" when no report was written.
	Report, Retry string
	// Every is the interval between progress lines while the run's state
	// stays the same; a new state (an outage, Redis back, a stop, a
	// verify pass) is printed at once.
	Every time.Duration
	// Rows and Cols are the terminal's size when Err is one, else 0:
	// Final then fits its summary in it (see fit).
	Rows, Cols int
}

// NewPlain returns a Plain printer writing its table to out and its
// progress to errw: a line a second on a terminal, one every 30 seconds
// elsewhere, since a cron job's mail or a CI log keeps every line.
func NewPlain(out, errw io.Writer) *Plain {
	p := &Plain{out: NewOutput(out, errw), Err: errw, Every: quietEvery}
	if f, ok := errw.(interface{ Fd() uintptr }); ok && term.IsTerminal(f.Fd()) {
		p.Every = progressEvery
		if w, h, err := term.GetSize(f.Fd()); err == nil {
			p.Cols, p.Rows = w, h
		}
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

// Hooks implements Printer: a Redis restart, and Redis answering again
// after an outage, are said at once.
func (p *Plain) Hooks() warmup.Options {
	return warmup.Options{
		OnRedisRestart: func(r warmup.RedisRestart) {
			fmt.Fprintf(p.Err, "cachewarm: %s: the keys it held are re-checked, and the missing ones written again, when the run settles\n", r)
		},
		OnRedisBack: func(o warmup.Outage) {
			fmt.Fprintf(p.Err, "cachewarm: Redis answers again after %.1fs (%s)\n", o.Seconds, o.Cause)
		},
	}
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

// maxCauseLines bounds the causes Final lists, so that its summary fits
// a screen whatever the failures.
const maxCauseLines = 8

// CauseGroup is one cause across the loaders whose items it rejected.
type CauseGroup struct {
	Cause   string
	Count   int64
	Loaders []string
	// Example is one item of the first loader listed.
	Example string
}

// GroupCauses groups rep's causes across loaders, the most frequent
// first: one 503 in four loaders is one line naming the four.
func GroupCauses(rep *warmup.Report) []CauseGroup {
	var out []CauseGroup
	at := map[string]int{}
	for _, l := range rep.Loaders {
		for _, c := range l.Causes {
			i, ok := at[c.Cause]
			if !ok {
				i = len(out)
				at[c.Cause] = i
				out = append(out, CauseGroup{Cause: c.Cause, Example: c.Example})
			}
			out[i].Count += c.Count
			out[i].Loaders = append(out[i].Loaders, l.Name)
		}
	}
	slices.SortStableFunc(out, func(a, b CauseGroup) int { return cmp.Compare(b.Count, a.Count) })
	return out
}

// printOutages says how often Redis did not answer, for how long in
// all, and the last outage's cause and end.
func printOutages(w io.Writer, rep *warmup.Report) {
	n := len(rep.Outages) + rep.OutagesMore
	if n == 0 {
		return
	}
	var total float64
	for _, o := range rep.Outages {
		total += o.Seconds
	}
	last := rep.Outages[len(rep.Outages)-1]
	times := "once"
	if n > 1 {
		times = fmt.Sprintf("%d times", n)
	}
	end := last.Outcome
	switch {
	case end == warmup.OutageBack:
		end = "it answered again"
	case end == warmup.OutageGaveUp && last.StillDown:
		end = "gave up (still down when the run stopped)"
	case end == warmup.OutageGaveUp && !last.GaveUpAt.IsZero():
		end = fmt.Sprintf("gave up after %.1fs; it answered again at %s", last.GaveUpAt.Sub(last.Start).Seconds(), last.End.Format("15:04:05"))
	}
	fmt.Fprintf(w, "cachewarm: Redis did not answer %s, %.1fs in all; the last time for %.1fs (%s), then %s\n", times, total, last.Seconds, last.Cause, end)
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
	line := fmt.Sprintf("cachewarm: re-check of the keys in doubt: %d checked in %.1fs, %d lost and written again", rc.Checked, rc.Seconds, rc.Lost)
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
func Table(w io.Writer, rep *warmup.Report) { table(w, rep, len(rep.Loaders)) }

// table is Table with at most rows loader rows: the loaders beyond fold
// into one row of their sums, those with nothing to tell (every item
// fulfilled) folded first.
func table(w io.Writer, rep *warmup.Report, rows int) {
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
	shown := shownLoaders(rep.Loaders, rows)
	var folded warmup.LoaderReport
	n := 0
	for i, l := range rep.Loaders {
		if !shown[i] {
			n++
			folded.Fulfilled += l.Fulfilled
			folded.Warm += l.Warm
			folded.FulfilledBefore += l.FulfilledBefore
			folded.Rejected += l.Rejected
			if l.NotStarted < 0 || folded.NotStarted < 0 {
				folded.NotStarted = -1
			} else {
				folded.NotStarted += l.NotStarted
			}
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s%s%d\t%s\t%s\t%s\t\n", l.Name, l.Source, l.Fulfilled, col(warm, l.Warm), col(before, l.FulfilledBefore), l.Rejected, notStarted(l.NotStarted), fmtMS(l.P50ms), fmtMS(l.P95ms))
	}
	if n > 0 {
		l := folded
		fmt.Fprintf(tw, "%s\t\t%d\t%s%s%d\t%s\t\t\t\n", fmt.Sprintf("… %d more", n), l.Fulfilled, col(warm, l.Warm), col(before, l.FulfilledBefore), l.Rejected, notStarted(l.NotStarted))
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

// JSON prints NDJSON events on Out: "rejected" per rejected item,
// "loader_done" per loader (after every other event of that loader),
// "redis_waiting" and "redis_back" per outage, "redis_restart",
// "progress" every few seconds, "stopped" when the run is stopped, and a
// final "summary". docs/operations.md's --json events list their fields.
type JSON struct {
	out *Output
	// Report is the report the run wrote, and Retry the command that
	// retries its failures, for the summary; "" when none was written.
	Report, Retry string
	// Every is the interval between "progress" events.
	Every time.Duration
	// HoldDone says a pass after the writes may change a loader's counts:
	// a verify pass (--verify), or the re-check of the keys earlier runs
	// wrote (--retry-from, --resume), which rewrites those Redis lost.
	// Each loader_done then waits for the summary and carries the counts
	// the run ends with, so that no event of a loader follows it. A Redis
	// restart seen during the run holds the loader_done events after it
	// for the same reason.
	HoldDone bool

	mu  sync.Mutex
	enc *json.Encoder
	// done are the loaders whose loader_done was printed: a progress
	// event leaves them out.
	done map[string]bool
	// held are the loaders whose loader_done HoldDone (or a restart)
	// keeps for the summary.
	held map[string]bool
}

// jsonProgressEvery is JSON's default Every.
const jsonProgressEvery = 5 * time.Second

// NewJSON returns a JSON printer writing events to out; a failure to
// write them is said once on errw.
func NewJSON(out, errw io.Writer) *JSON {
	o := NewOutput(out, errw)
	return &JSON{out: o, enc: json.NewEncoder(o), Every: jsonProgressEvery, done: map[string]bool{}}
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
	// FulfilledBefore and RetryFrom: a --retry-from run's earlier runs
	// fulfilled that many, recorded in that report.
	FulfilledBefore int64  `json:"fulfilled_before,omitempty"`
	RetryFrom       string `json:"retry_from,omitempty"`
	// Outages are the times Redis did not answer, as in the report.
	Outages []warmup.Outage `json:"outages,omitempty"`
	// Report is where the run's report was written; Retry the command
	// that retries its failures from it (absent when nothing failed).
	Report string `json:"report,omitempty"`
	Retry  string `json:"retry_command,omitempty"`
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

// waitingEvent is a "redis_waiting" event: Redis stopped answering at
// Since (its last good reply).
type waitingEvent struct {
	Event string    `json:"event"`
	Since time.Time `json:"since"`
	Cause string    `json:"cause"`
}

// backEvent is a "redis_back" event: the outage ended, Redis answers.
type backEvent struct {
	Event string `json:"event"`
	warmup.Outage
}

// stoppedEvent is a "stopped" event.
type stoppedEvent struct {
	Event string `json:"event"`
	warmup.Stop
}

// noticeEvent is a "notice" event: what a run says beside its outcome (a
// warning, waiting for Redis at start), which --plain says on stderr.
type noticeEvent struct {
	Event   string `json:"event"`
	Message string `json:"message"`
}

// Notices returns a writer whose every line becomes a "notice" event,
// without the "cachewarm: " that starts it on stderr.
func (j *JSON) Notices() io.Writer { return &noticeWriter{j: j} }

type noticeWriter struct {
	mu  sync.Mutex
	j   *JSON
	buf []byte
}

func (w *noticeWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := strings.TrimPrefix(string(w.buf[:i]), "cachewarm: ")
		w.buf = w.buf[i+1:]
		w.j.emit(noticeEvent{Event: "notice", Message: line})
	}
}

// progressEvent is a "progress" event: the counts so far, of the run
// and of each loader not done yet.
type progressEvent struct {
	Event     string  `json:"event"`
	State     string  `json:"state"`
	Seconds   float64 `json:"seconds"`
	Fulfilled int64   `json:"fulfilled"`
	Warm      int64   `json:"warm"`
	Rejected  int64   `json:"rejected"`
	Pending   int64   `json:"pending"`
	Rate      float64 `json:"rate"`
	// RedisDownSeconds is how long Redis has not answered, 0 while it
	// does.
	RedisDownSeconds float64          `json:"redis_down_seconds,omitempty"`
	Loaders          []progressLoader `json:"loaders"`
}

type progressLoader struct {
	Loader    string `json:"loader"`
	Read      int64  `json:"read"`
	Fulfilled int64  `json:"fulfilled"`
	Rejected  int64  `json:"rejected"`
	InFlight  int64  `json:"in_flight"`
	// OldestMs is how old the oldest item in flight is, in milliseconds:
	// a hung origin shows as an age that grows.
	OldestMs int64 `json:"oldest_ms"`
	// Waiting counts the items read that wait for the loader's rate
	// limit or a fetch slot, apart from those in flight.
	Waiting int64   `json:"waiting"`
	Total   int64   `json:"total"`
	Rate    float64 `json:"rate"`
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
			j.mu.Lock()
			j.HoldDone = true
			j.mu.Unlock()
			j.emit(restartEvent{Event: "redis_restart", Message: r.String(), RedisRestart: r})
		},
		OnRedisWaiting: func(o warmup.Outage) {
			j.emit(waitingEvent{Event: "redis_waiting", Since: o.Start, Cause: o.Cause})
		},
		OnRedisBack: func(o warmup.Outage) {
			j.emit(backEvent{Event: "redis_back", Outage: o})
		},
		OnStop: func(s warmup.Stop) {
			j.emit(stoppedEvent{Event: "stopped", Stop: s})
		},
		OnLoaderDone: func(l warmup.LoaderSnapshot) {
			j.mu.Lock()
			defer j.mu.Unlock()
			if j.HoldDone {
				if j.held == nil {
					j.held = map[string]bool{}
				}
				j.held[l.Name] = true
				return
			}
			j.done[l.Name] = true
			_ = j.enc.Encode(loaderEvent{Event: "loader_done", Loader: l.Name, Fulfilled: l.Fulfilled, Warm: l.Warm, Rejected: l.Rejected, NotStarted: l.NotStarted,
				P50ms: float64(l.P50.Microseconds()) / 1000, P95ms: float64(l.P95.Microseconds()) / 1000, Concurrency: l.Concurrency()})
		},
	}
}

// Progress implements Printer: a "progress" event every j.Every.
func (j *JSON) Progress(ctx context.Context, snap func() warmup.Snapshot) {
	if j.Every <= 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(j.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			j.progress(snap())
		}
	}
}

// progress prints s as a "progress" event. The loaders whose loader_done
// was printed are left out, under the lock that printed it: nothing of a
// loader follows its loader_done.
func (j *JSON) progress(s warmup.Snapshot) {
	ev := progressEvent{Event: "progress", State: string(s.State), Seconds: round3(s.Elapsed.Seconds()), Fulfilled: s.Fulfilled, Warm: s.Warm,
		Rejected: s.Rejected, Pending: s.Pending, Rate: round3(s.Rate), RedisDownSeconds: round3(s.RedisDown.Seconds()), Loaders: []progressLoader{}}
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, l := range s.Loaders {
		if j.done[l.Name] {
			continue
		}
		ev.Loaders = append(ev.Loaders, progressLoader{Loader: l.Name, Read: l.Read, Fulfilled: l.Fulfilled, Rejected: l.Rejected,
			InFlight: l.InFlight, OldestMs: l.OldestInFlight.Milliseconds(), Waiting: l.Queued, Total: l.Total, Rate: round3(l.Rate)})
	}
	_ = j.enc.Encode(ev)
}

// round3 keeps three decimals: a rate of 143.27472 items/s says no more
// than 143.275.
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// Final implements Printer.
func (j *JSON) Final(rep *warmup.Report) {
	j.mu.Lock()
	held := j.held
	j.held = nil
	j.mu.Unlock()
	for _, l := range rep.Loaders {
		if held[l.Name] {
			j.emit(loaderEvent{Event: "loader_done", Loader: l.Name, Fulfilled: l.Fulfilled, Warm: l.Warm, Rejected: l.Rejected, NotStarted: l.NotStarted,
				P50ms: l.P50ms, P95ms: l.P95ms, Concurrency: l.Concurrency})
		}
	}
	j.emit(summaryEvent{Event: "summary", Fulfilled: rep.Fulfilled, Warm: rep.Warm, Rejected: rep.Rejected, AtSource: rep.RejectedAtSource, NotStarted: TotalNotStarted(rep),
		Interrupted: rep.Interrupted, Stopped: rep.Stopped, Seconds: rep.Seconds, Shard: rep.Shard, FulfilledBefore: rep.FulfilledBefore, RetryFrom: rep.RetryFrom,
		Outages: rep.Outages, Report: j.Report, Retry: j.retry(rep), Verify: rep.Verify, Restarts: rep.Restarts})
}

// retry is the summary's retry command: only when a retry can help.
func (j *JSON) retry(rep *warmup.Report) string {
	if !retryCanHelp(rep) {
		return ""
	}
	return j.Retry
}
