package warmup

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// Report is the JSON record of a run: totals, every rejected item with
// its reason, and where each stopped source would go on, ready for
// --retry-from.
type Report struct {
	ReportTotals
	Loaders []LoaderReport `json:"loaders"`
	// views are where an engine's report reads every rejection from,
	// one per loader; nil for a report read from a file.
	views []storeView
}

// ReportTotals are a report's fields before its loaders.
type ReportTotals struct {
	Fulfilled int64 `json:"fulfilled"`
	// Warm counts the fulfilled items whose key was there already and
	// was left alone (mode "missing" or "expiring"); a report written
	// before modes existed reads as 0.
	Warm     int64 `json:"warm"`
	Rejected int64 `json:"rejected"`
	// RejectedAtSource counts the rejected items that no retry can get
	// in (a malformed line): the file must be fixed.
	RejectedAtSource int64 `json:"rejected_at_source"`
	// NotStarted counts items never read, where known; a loader whose
	// not_started is -1 has more (the rest of a file) on top.
	NotStarted  int64 `json:"not_started"`
	Interrupted bool  `json:"interrupted"`
	// Stopped says why the run stopped by itself ("Redis unavailable for
	// 30s: connection refused").
	Stopped string `json:"stopped,omitempty"`
	// FulfilledBefore counts the items earlier runs of a --retry-from
	// chain fulfilled.
	FulfilledBefore int64 `json:"fulfilled_before,omitempty"`
	// Shard is the share of the items this run owned (--shard), when it
	// was one of several.
	Shard *Shard `json:"shard,omitempty"`
	// Merged lists the shards a merged report combines (cachewarm merge).
	Merged *Merged `json:"merged,omitempty"`
	// Verify is what --verify found, nil when the run did not verify.
	Verify *VerifyReport `json:"verify,omitempty"`
	// Restarts is what the run saw of Redis restarts and failovers, and
	// the keys it re-checked and wrote again, nil when it saw none.
	Restarts *RestartCheck `json:"redis_restarts,omitempty"`
	// RedisProcesses are the Redis processes ("addr run_id") that
	// acknowledged the run's writes, and KeysInDoubt says a restart put
	// some of them in doubt that the run did not prove there: a
	// --retry-from run that finds other processes, or keys in doubt,
	// re-checks the earlier runs' keys and writes the lost ones again.
	RedisProcesses []string `json:"redis_processes,omitempty"`
	KeysInDoubt    bool     `json:"keys_in_doubt,omitempty"`
	// Evicted counts the keys Redis evicted during the run, under the
	// evicting maxmemory policy EvictionPolicy (allkeys-lru…): warmed
	// keys among them are cold again. Absent when Redis does not evict.
	Evicted        *int64 `json:"evicted,omitempty"`
	EvictionPolicy string `json:"eviction_policy,omitempty"`
	Redis          string `json:"redis"`
	// Topology is the target's shape when it is more than one server
	// ("cluster · 3 masters").
	Topology string    `json:"redis_topology,omitempty"`
	Config   string    `json:"config"`
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
}

// LoaderReport is one loader's part of a report.
type LoaderReport struct {
	LoaderTotals
	// RejectedItems are the loader's rejected items: all of those of a
	// report read from a file; of Engine.Report, the latest (at most
	// 1,000), while EncodeReport and WriteReport stream them all from
	// the run's journal.
	RejectedItems []Rejection `json:"rejected_items"`
}

// LoaderTotals are a loader's report fields before its rejected items.
type LoaderTotals struct {
	Name      string `json:"name"`
	Source    string `json:"source"`
	Fulfilled int64  `json:"fulfilled"`
	// Warm counts the fulfilled items left alone, their key warm.
	Warm     int64 `json:"warm"`
	Rejected int64 `json:"rejected"`
	// RejectedAtSource counts the rejected items that no retry can get
	// in (a malformed line): the file must be fixed.
	RejectedAtSource int64 `json:"rejected_at_source"`
	// NotStarted counts the items the source holds that were never read,
	// -1 when only reading them would tell (the rest of a file).
	NotStarted int64 `json:"not_started"`
	// Resume is where the source stopped, when it was not read to its
	// end: --retry-from reads on from there.
	Resume          *source.Resume `json:"resume,omitempty"`
	FulfilledBefore int64          `json:"fulfilled_before,omitempty"`
	P50ms           float64        `json:"p50_ms"`
	P95ms           float64        `json:"p95_ms"`
	// Error is a source error that ended the loader's stream early.
	Error string `json:"error,omitempty"`
	// Resumes are where each shard's source stopped, in a merged report:
	// --retry-from reads on from them shard by shard.
	Resumes []ShardResume `json:"resumes,omitempty"`
	// Causes are the most frequent causes of the rejected items (at
	// most 10), each with a count and an example.
	Causes []CauseCount `json:"causes,omitempty"`
	// Verify is what --verify found for the loader's keys.
	Verify *VerifyCounts `json:"verify,omitempty"`
	// TTL is the range of the TTLs its keys were written with (ttl ±
	// ttl_jitter); absent when they never expire.
	TTL *TTLRange `json:"ttl,omitempty"`
}

// VerifyReport is a report's account of --verify: the keys checked, those
// found wrong (each a rejected item of stage verify), whether every
// fulfilled key was checked, and the keys Redis evicted during the run.
type VerifyReport struct {
	Checked  int64 `json:"checked"`
	Failed   int64 `json:"failed"`
	Complete bool  `json:"complete"`
	// Evicted is the rise of Redis's evicted_keys from the run's start to
	// the end of the verify pass; absent when unknown.
	Evicted *int64 `json:"evicted,omitempty"`
	// Seconds is how long the last verify pass took, a part of the
	// run's seconds.
	Seconds float64 `json:"seconds"`
}

// Report builds the report of the run so far.
func (e *Engine) Report() *Report {
	s := e.Snapshot()
	rep := &Report{ReportTotals: ReportTotals{
		Fulfilled:   s.Fulfilled,
		Warm:        s.Warm,
		Rejected:    s.Rejected,
		NotStarted:  s.NotStarted,
		Interrupted: e.Interrupted(),
		Stopped:     s.StopReason,
		Redis:       s.Redis,
		Topology:    s.Topology,
		Restarts:    s.Restarts,
		KeysInDoubt: e.restartUnproven(),
		Config:      e.cfg.Path,
		Started:     s.Started.UTC().Truncate(time.Millisecond),
		// The processes that acknowledged this run's writes, and the
		// earlier runs' when this one saw no other.
		RedisProcesses: e.restart.processes(),
		Seconds:        float64(s.Elapsed.Milliseconds()) / 1000,
	}, Loaders: make([]LoaderReport, 0, len(s.Loaders))}
	if sh := e.opts.Shard; sh.Set() {
		rep.Shard = &sh
	}
	if n, policy := e.EvictedDuringRun(); n >= 0 {
		rep.Evicted, rep.EvictionPolicy = &n, policy
	}
	if v := s.Verify; v != nil {
		rep.Verify = &VerifyReport{Checked: v.Checked, Failed: v.Failed, Complete: v.Complete,
			Seconds: float64(v.Took.Milliseconds()) / 1000}
		if v.Evicted >= 0 {
			n := v.Evicted
			rep.Verify.Evicted = &n
		}
	}
	for i, l := range s.Loaders {
		lr := e.loaders[i]
		lr.mu.Lock()
		// The latest rejections only: EncodeReport streams them all from
		// the journal, as they stand now.
		items := append([]Rejection{}, lr.store.recent...)
		rep.views = append(rep.views, lr.store.view())
		atSource := lr.atSource
		var resume *source.Resume
		if lr.resume != nil && !lr.resume.Done {
			at := *lr.resume
			resume = &at
		}
		before := lr.fulfilledBefore
		lr.mu.Unlock()
		rep.FulfilledBefore += before
		rep.RejectedAtSource += atSource
		rep.Loaders = append(rep.Loaders, LoaderReport{LoaderTotals: LoaderTotals{
			Name: l.Name, Source: l.Source, Fulfilled: l.Fulfilled, Warm: l.Warm, Rejected: l.Rejected, RejectedAtSource: atSource,
			NotStarted: l.NotStarted, Resume: resume, FulfilledBefore: before,
			P50ms: ms(l.P50), P95ms: ms(l.P95), Error: l.SourceError, Causes: l.Causes, Verify: l.Verify,
			TTL: ttlRange(lr.cfg),
		}, RejectedItems: items})
	}
	return rep
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// CheckReportPath finds out before any work whether a report can be
// written at path (and atomically replaced): the folder exists and takes
// new files, and path is not a folder, a device, a pipe, or one of the
// files in keep (the config, the inputs), which the rename would destroy.
//
// A symbolic link at path is replaced by the report, never followed: a
// link planted at the report's path must not make the run overwrite the
// file it points to.
func CheckReportPath(path string, keep ...string) error {
	return CheckOutputPath("--report", path, keep...)
}

// CheckOutputPath is CheckReportPath for a file another flag names
// (--junit), in whose name its errors are.
func CheckOutputPath(flag, path string, keep ...string) error {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSymlink == 0 {
		if st.IsDir() {
			return fmt.Errorf("%s %s: is a folder", flag, path)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s %s: is not a regular file (a device or a pipe), which writing the report would replace", flag, path)
		}
		for _, k := range keep {
			if kst, err := os.Stat(k); err == nil && os.SameFile(st, kst) {
				return fmt.Errorf("%s %s: is an input of this run; choose another path", flag, path)
			}
		}
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s %s: folder %s does not exist", flag, path, dir)
	}
	tmp, err := os.CreateTemp(dir, ".cachewarm-report-*")
	if err != nil {
		reason := "cannot create files there"
		if errors.Is(err, os.ErrPermission) {
			reason = "permission denied"
		}
		return fmt.Errorf("%s %s: folder %s: %s", flag, path, dir, reason)
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}

// WriteReport writes rep to path atomically (a temporary file renamed).
// It streams: one rejected item at a time, so a report of many rejections
// needs no second copy of them in memory.
func WriteReport(path string, rep *Report) error {
	return writeAtomic(path, func(w io.Writer) error { return EncodeReport(w, rep) })
}

// writeAtomic writes a report to path through encode: to a temporary
// file in the same folder renamed over path (over a link at path, not
// the file it points to), so that no reader sees half a report.
func writeAtomic(path string, encode func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cachewarm-report-*")
	if err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 64<<10)
	if err := encode(w); err != nil {
		tmp.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}

// EncodeReport writes rep as indented JSON, the rejected items one by one,
// each on a line of its own.
func EncodeReport(w io.Writer, rep *Report) error {
	return encodeReport(w, rep, func(i int, yield func(Rejection) error) error {
		if i < len(rep.views) {
			var err error
			for r := range rep.views[i].all(&err) {
				if err := yield(r); err != nil {
					return err
				}
			}
			if err != nil {
				return fmt.Errorf("loader %s: reading its rejections back from the journal: %w", rep.Loaders[i].Name, err)
			}
			return nil
		}
		for _, r := range rep.Loaders[i].RejectedItems {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// encodeReport writes rep's totals and loaders, and as each loader's
// rejected items what items(i, …) yields for loader i, whatever rep holds.
func encodeReport(w io.Writer, rep *Report, items func(i int, yield func(Rejection) error) error) error {
	// open marshals v indented at depth and drops its closing brace, so
	// more fields can follow.
	open := func(v any, depth string) ([]byte, error) {
		b, err := json.MarshalIndent(v, depth, "  ")
		if err != nil {
			return nil, err
		}
		return bytes.TrimRight(bytes.TrimSuffix(b, []byte("}")), "\n "), nil
	}
	head, err := open(rep.ReportTotals, "")
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "%s,\n  \"loaders\": [", head); err != nil {
		return err
	}
	for i, l := range rep.Loaders {
		lh, err := open(l.LoaderTotals, "    ")
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "%s\n    %s,\n      \"rejected_items\": [", sep(i), lh); err != nil {
			return err
		}
		j := 0
		err = items(i, func(r Rejection) error {
			rb, err := json.Marshal(r)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(w, "%s\n        %s", sep(j), rb)
			j++
			return err
		})
		if err != nil {
			return err
		}
		closing := "]\n    }"
		if j > 0 {
			closing = "\n      " + closing
		}
		if _, err := io.WriteString(w, closing); err != nil {
			return err
		}
	}
	closing := "]\n}\n"
	if len(rep.Loaders) > 0 {
		closing = "\n  " + closing
	}
	_, err = io.WriteString(w, closing)
	return err
}

func sep(i int) string {
	if i == 0 {
		return ""
	}
	return ","
}

// ReadReport reads a whole report, rejected items included: for tools
// and tests. --retry-from streams it instead (OpenReport).
func ReadReport(path string) (*Report, error) {
	rf, err := OpenReport(path)
	if err != nil {
		return nil, err
	}
	rep := rf.Report
	rep.Loaders = slices.Clone(rep.Loaders)
	for i := range rep.Loaders {
		rep.Loaders[i].RejectedItems = []Rejection{}
	}
	err = rf.walk(-1, func(i int, r Rejection) bool {
		rep.Loaders[i].RejectedItems = append(rep.Loaders[i].RejectedItems, r)
		return true
	}, false)
	return rep, err
}

// ReportFile is a report opened for --retry-from: its totals, read and
// checked at once, and its rejected items, streamed when the run reaches
// them, so that retrying a report of any size holds only what is in
// flight.
type ReportFile struct {
	// Path is the report's file, read again for each loader's items.
	Path string
	// Report holds the totals; its loaders' RejectedItems are nil.
	Report *Report
}

// OpenReport reads and checks a report without keeping its rejected
// items.
func OpenReport(path string) (*ReportFile, error) {
	rf := &ReportFile{Path: path, Report: &Report{Loaders: []LoaderReport{}}}
	err := rf.walk(-1, func(i int, r Rejection) bool { return true }, true)
	if err != nil {
		return nil, err
	}
	for i, l := range rf.Report.Loaders {
		if l.Name == "" {
			return nil, fmt.Errorf("read report %s: loaders[%d] has no name", path, i)
		}
	}
	return rf, nil
}

// rejected streams loader i's rejected items from the file; a read
// error ends the stream and is left in *errp.
func (rf *ReportFile) rejected(i int, errp *error) iter.Seq[Rejection] {
	return func(yield func(Rejection) bool) {
		*errp = rf.walk(i, func(_ int, r Rejection) bool { return yield(r) }, false)
	}
}

// errStopWalk ends a walk early.
var errStopWalk = errors.New("walk stopped")

// walk reads the report token by token: with totals, its totals and
// loader fields into rf.Report; each rejected item of loader only (of
// every loader when only is -1) to onItem, checked. Other loaders' items
// are skipped undecoded. Nothing is held beyond one rejected item.
func (rf *ReportFile) walk(only int, onItem func(loader int, r Rejection) bool, totals bool) error {
	f, err := os.Open(rf.Path)
	if err != nil {
		return fmt.Errorf("read report: %s", source.FileErr(err))
	}
	defer f.Close()
	w := &reportWalker{dec: json.NewDecoder(bufio.NewReaderSize(f, 64<<10)), only: only, onItem: onItem}
	if totals {
		w.rep = rf.Report
	}
	w.dec.UseNumber()
	err = w.document()
	if errors.Is(err, errStopWalk) {
		return nil
	}
	if err == nil && w.dec.More() {
		// Two reports run together (cat a.json b.json): reading the first
		// alone would drop what the second says.
		err = errors.New("more follows the report: one report a file")
	}
	if err != nil {
		return fmt.Errorf("read report %s: %w", rf.Path, err)
	}
	return nil
}

type reportWalker struct {
	dec *json.Decoder
	// rep receives the totals, when they are wanted.
	rep    *Report
	only   int
	onItem func(int, Rejection) bool
}

func (w *reportWalker) document() error {
	fields := map[string]json.RawMessage{}
	sawLoaders := false
	err := w.object(func(key string) error {
		if key == "loaders" {
			sawLoaders = true
			return w.array(func(i int) error { return w.loader(i) })
		}
		var raw json.RawMessage
		if err := w.dec.Decode(&raw); err != nil {
			return jsonErr(err)
		}
		fields[key] = raw
		return nil
	})
	if err != nil {
		return err
	}
	if !sawLoaders {
		return errors.New("not a cachewarm report: it has no \"loaders\"")
	}
	if w.rep != nil {
		return remarshal(fields, &w.rep.ReportTotals)
	}
	return nil
}

func (w *reportWalker) loader(i int) error {
	fields := map[string]json.RawMessage{}
	err := w.object(func(key string) error {
		if key == "rejected_items" {
			return w.array(func(j int) error { return w.rejection(i, j) })
		}
		var raw json.RawMessage
		if err := w.dec.Decode(&raw); err != nil {
			return jsonErr(err)
		}
		fields[key] = raw
		return nil
	})
	if err != nil || w.rep == nil {
		return err
	}
	var l LoaderReport
	if err := remarshal(fields, &l.LoaderTotals); err != nil {
		return fmt.Errorf("loaders[%d]: %w", i, err)
	}
	w.rep.Loaders = append(w.rep.Loaders, l)
	return nil
}

func (w *reportWalker) rejection(i, j int) error {
	if w.only >= 0 && i != w.only {
		var skip json.RawMessage
		if err := w.dec.Decode(&skip); err != nil {
			return fmt.Errorf("loaders[%d].rejected_items[%d]: %w", i, j, jsonErr(err))
		}
		return nil
	}
	var r Rejection
	if err := w.dec.Decode(&r); err != nil {
		return fmt.Errorf("loaders[%d].rejected_items[%d]: %w", i, j, jsonErr(err))
	}
	if len(r.Item) == 0 || !json.Valid(r.Item) {
		return fmt.Errorf("loaders[%d].rejected_items[%d].item is not a JSON value", i, j)
	}
	r.Item = compactJSON(r.Item)
	if r.Cause == "" {
		r.Cause = deriveCause(r)
	}
	if !w.onItem(i, r) {
		return errStopWalk
	}
	return nil
}

// object reads a JSON object, calling field for each key with the
// decoder at its value.
func (w *reportWalker) object(field func(key string) error) error {
	if err := w.delim('{'); err != nil {
		return err
	}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return jsonErr(err)
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("invalid JSON: object key %v", tok)
		}
		if err := field(key); err != nil {
			return err
		}
	}
	return w.delim('}')
}

// array reads a JSON array, calling elem for each element.
func (w *reportWalker) array(elem func(i int) error) error {
	if err := w.delim('['); err != nil {
		return err
	}
	for i := 0; w.dec.More(); i++ {
		if err := elem(i); err != nil {
			return err
		}
	}
	return w.delim(']')
}

func (w *reportWalker) delim(want json.Delim) error {
	tok, err := w.dec.Token()
	if err != nil {
		return jsonErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("invalid JSON: expected %q, found %v", want, tok)
	}
	return nil
}

func remarshal(fields map[string]json.RawMessage, into any) error {
	b, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, into); err != nil {
		return jsonErr(err)
	}
	return nil
}

func jsonErr(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &te):
		return fmt.Errorf("%s: expected %s, found %s", te.Field, te.Type, te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errors.New("invalid JSON: unexpected end of file")
	}
	return err
}

func compactJSON(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil || b.Len() == 0 {
		return []byte(raw)
	}
	return b.Bytes()
}

// rejectedStream pulls one loader's rejected items from a report.
type rejectedStream struct {
	pull   func() (Rejection, bool)
	stop   func()
	failed error
}

func (rf *ReportFile) stream(i int) *rejectedStream {
	s := &rejectedStream{}
	s.pull, s.stop = iter.Pull(rf.rejected(i, &s.failed))
	return s
}

func (s *rejectedStream) next() (Rejection, bool) { return s.pull() }

// err is the error that ended the stream early, once it has ended.
func (s *rejectedStream) err() error { return s.failed }
func (s *rejectedStream) close()     { s.stop() }

// streamNote tells the operator that the rest of loader l's stream, which
// an earlier run stopped reading, is not read by this one, and how to feed
// it again.
func streamNote(l *config.Loader, at source.Resume) string {
	feed := fmt.Sprintf("tail -n +%d ITEMS", at.Line)
	if l.Items.Format == source.FormatCSV || (l.Items.Format == "" && source.FormatOf(l.Items.File) == source.FormatCSV) {
		// The rest alone would lack the header that names its fields.
		feed = fmt.Sprintf("(head -n 1 ITEMS; tail -n +%d ITEMS)", at.Line)
	}
	how := feed + " | cachewarm --only " + l.Name
	if !l.Items.ReadsStdin() {
		how = feed + " > " + l.Items.File + " while cachewarm --only " + l.Name + " runs"
	}
	return fmt.Sprintf("loader %s read %s, a stream, which cannot be read again: this run retries the report's rejected items only. "+
		"Lines %d on were never read and stay not started: feed them again in a run of their own, e.g. %s",
		l.Name, l.Items.Describe(), at.Line, how)
}

// Notes are what the operator must know about a --retry-from run before
// it goes on (StartFrom sets them): the rest of a stream it does not read.
func (e *Engine) Notes() []string { return e.notes }

// StartFrom runs, for every loader the report names, the rejected items
// it recorded (streamed from the file) and then the loader's source from
// where the report says it stopped. Items rejected at their source are
// carried over as they were. A loader of this config that the report
// does not name never ran: it runs from its start. An error (a loader not
// in this config, a file that changed since the report) means nothing
// was started.
func (e *Engine) StartFrom(rf *ReportFile) error {
	if err := checkRetryShard(rf.Report, e.opts.Shard); err != nil {
		return err
	}
	passes := map[*loaderRun]*resumePass{}
	for i, l := range rf.Report.Loaders {
		lr, ok := e.byName[l.Name]
		if !ok {
			return fmt.Errorf("report names loader %q, which is not in %s", l.Name, e.cfg.Path)
		}
		from := l.Resume
		if from == nil {
			from = &source.Resume{Done: true}
		}
		rest, err := source.OpenContext(e.stopCtx, lr.cfg.Items, from)
		if err != nil {
			for _, p := range passes {
				p.rest.Close()
				p.report.close()
			}
			return fmt.Errorf("loader %s: %w", l.Name, err)
		}
		passes[lr] = &resumePass{lr: lr, report: rf.stream(i), rest: rest}
		if at := rest.Resume(); at.Kind == source.KindStream && !at.Done {
			e.notes = append(e.notes, streamNote(lr.cfg, at))
		}
		lr.fulfilledBefore = l.Fulfilled + l.FulfilledBefore
		lr.readFrom = from
		lr.window.start(rest.Resume())
		lr.prior = func() *rejectedStream { return rf.stream(i) }
		if t := e.shareOf(rest.Total()); t >= 0 {
			lr.total.Store(l.Rejected + t)
		}
	}
	e.restart.after(rf.Report.RedisProcesses, rf.Report.KeysInDoubt)
	e.retryOf = rf.Path
	e.begin()
	for _, lr := range e.loaders {
		if p, ok := passes[lr]; ok {
			e.startFeed(lr, p, passResume)
			continue
		}
		e.startFirstPass(lr)
	}
	e.busyDone()
	return nil
}
