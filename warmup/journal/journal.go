// Package journal is a run's ledger on disk: an append-only file of
// JSON lines, one record each, that a run writes as its items settle and
// that outlives the process (kill -9, the OOM killer, a preempted node).
//
// A journal opens with a header (the config's path and hash, the shard,
// when the run started) and then holds, interleaved:
//
//   - reject records: one rejected item of a loader (its read sequence
//     number and the rejection as the engine encodes it), in a generation:
//     a retry moves a loader's rejections to a new generation, so the
//     loader's rejected items are always the records of its current one;
//   - mark records: per loader, at least once a second, the source's
//     resume point below which every item is settled, and the loader's
//     counts for those items;
//   - an end record, when the run ended and its report was written.
//
// Records are buffered and flushed at least once a second and whenever
// they are read back, so a kill loses at most the last second's. The
// journal is synced to disk at each flush that carries marks and at the
// end: a crash of the machine (not only of the process) then loses at
// most a second, too. A record cut short by a kill is the file's last
// line; Replay stops before it.
//
// Reading back never holds more than one record at a time: the report,
// a retry and a verify pass stream the rejections from the file, which
// is how a million rejections stay out of memory.
package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Kinds of record.
const (
	KindHeader = "header"
	KindReject = "reject"
	KindMark   = "mark"
	KindEnd    = "end"
	// KindGen starts a loader's generation of rejections; From, when
	// set, is the generation a retry took its items from.
	KindGen = "gen"
	// KindRetried says every retry of a loader up to generation Gen has
	// settled.
	KindRetried = "retried"
)

// Header names the run a journal belongs to.
type Header struct {
	Config     string    `json:"config"`
	ConfigHash string    `json:"config_hash"`
	Shard      string    `json:"shard,omitempty"`
	Started    time.Time `json:"started"`
	Loaders    []string  `json:"loaders"`
	// RetryFrom is the report a --retry-from run started from.
	RetryFrom string `json:"retry_from,omitempty"`
}

// Mark is a loader's low-water mark: every item it read before Seq is
// settled, Fulfilled, Warm and Rejected of them, and its source reads on
// from At (the source's own resume point, as JSON).
type Mark struct {
	Seq       int64           `json:"seq"`
	At        json.RawMessage `json:"at"`
	Fulfilled int64           `json:"fulfilled"`
	Warm      int64           `json:"warm"`
	Rejected  int64           `json:"rejected"`
}

// Record is one line of a journal.
type Record struct {
	Kind   string `json:"t"`
	Loader int    `json:"l,omitempty"`
	// Gen is a reject record's generation (see the package doc).
	Gen int64 `json:"g,omitempty"`
	// Seq is the read sequence number of a rejected item of a first
	// pass, 1-based; 0 for an item that was not read from the source by
	// this journal's run (a retry of an earlier report's item).
	Seq int64 `json:"s,omitempty"`
	// Retry marks a rejection that a retry settled or put back: it was
	// in the generation the retry took from, too.
	Retry     bool            `json:"retry,omitempty"`
	From      int64           `json:"from,omitempty"`
	Rejection json.RawMessage `json:"r,omitempty"`
	Mark      *Mark           `json:"m,omitempty"`
	Header    *Header         `json:"h,omitempty"`
}

// Journal is an open journal being written. Its methods are safe for
// concurrent use.
type Journal struct {
	path string
	mu   sync.Mutex
	f    *os.File
	// pending are the records appended and not yet written, and written
	// the bytes the file holds: the file and then pending are the
	// journal. A write that fails (a full disk) leaves its records in
	// pending, where Scan still reads them, and err says why.
	pending []byte
	written int64
	// off is the offset the next record starts at, pending ones
	// included.
	off int64
	err error
	gen int64
}

// flushAt is how much of pending an Append lets gather before writing it.
const flushAt = 256 << 10

// ErrBusy is a journal another running cachewarm is writing.
var ErrBusy = errors.New("another cachewarm run is writing it (the same config and shard): wait for it to end, or stop it")

// Create starts a journal at path, replacing the file there (a link at
// path is replaced, never followed), and writes its header. The journal
// holds path's lock while open: a journal another run holds is ErrBusy,
// and left as it is.
func Create(path string, h Header) (*Journal, error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSymlink != 0 {
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("journal %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if ok, err := lock(f); !ok || err != nil {
		f.Close()
		if err == nil {
			err = ErrBusy
		}
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return start(f, path, h)
}

// Busy says whether another running cachewarm holds the journal at path.
func Busy(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	ok, err := lock(f)
	return !ok && err == nil
}

// CreateTemp starts a journal in an unlinked temporary file: a run
// without a journal still keeps its rejections out of memory, and
// nothing is left behind.
func CreateTemp(h Header) (*Journal, error) {
	f, err := os.CreateTemp("", "cachewarm-ledger-*")
	if err != nil {
		return nil, fmt.Errorf("temporary ledger: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("temporary ledger: %w", err)
	}
	return start(f, "", h)
}

func start(f *os.File, path string, h Header) (*Journal, error) {
	j := &Journal{path: path, f: f}
	if err := j.Append(Record{Kind: KindHeader, Header: &h}); err != nil {
		f.Close()
		return nil, err
	}
	if err := j.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// NewGen returns a generation number not used before in this journal.
func (j *Journal) NewGen() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.gen++
	return j.gen
}

// SetGen makes the next NewGen return more than g (a resumed journal's
// generations continue).
func (j *Journal) SetGen(g int64) {
	j.mu.Lock()
	j.gen = max(j.gen, g)
	j.mu.Unlock()
}

// Append adds r to the journal (buffered). A write error does not lose
// r: once the file cannot be written, records stay in memory, Scan reads
// them there, and Err says why.
func (j *Journal) Append(r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal record: %w", err)
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errClosed
	}
	j.pending = append(j.pending, b...)
	j.off += int64(len(b))
	if len(j.pending) >= flushAt {
		_ = j.flushLocked()
	}
	return nil
}

// Offset is where the next record will start: records appended before a
// call lie before it.
func (j *Journal) Offset() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.off
}

// Err is the first write error, or nil.
func (j *Journal) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

func (j *Journal) flushLocked() error {
	if j.f == nil {
		return errClosed
	}
	if j.err != nil || len(j.pending) == 0 {
		return j.err
	}
	n, err := j.f.Write(j.pending)
	j.written += int64(n)
	if err != nil {
		j.pending = j.pending[n:]
		j.err = fmt.Errorf("journal %s: %w", j.path, err)
		return j.err
	}
	j.pending = j.pending[:0]
	return nil
}

// Sync flushes and then syncs the file to disk (a no-op for a temporary
// journal, which no later run reads).
func (j *Journal) Sync() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.flushLocked(); err != nil || j.path == "" {
		return err
	}
	if err := j.f.Sync(); err != nil {
		j.err = fmt.Errorf("journal %s: %w", j.path, err)
	}
	return j.err
}

// errClosed is what a closed journal answers.
var errClosed = errors.New("journal closed")

// Scan calls fn for each record between the offsets from and to (from
// Offset), in order, until fn returns false. It reads the file, one
// record at a time, while more may be appended.
//
// Records a write error left in memory are read there.
func (j *Journal) Scan(from, to int64, fn func(Record) bool) error {
	j.mu.Lock()
	if j.f == nil {
		j.mu.Unlock()
		return errClosed
	}
	_ = j.flushLocked()
	f, written := j.f, j.written
	var mem []byte
	if to > written {
		mem = bytes.Clone(j.pending[max(from, written)-written : to-written])
	}
	j.mu.Unlock()
	var parts []io.Reader
	if from < written {
		parts = append(parts, io.NewSectionReader(f, from, min(to, written)-from))
	}
	parts = append(parts, bytes.NewReader(mem))
	_, err := scan(io.MultiReader(parts...), fn)
	return err
}

// End appends the end record, syncs, and closes the file. A journal that
// ends this way is finished: no run resumes it.
func (j *Journal) End() error {
	err := j.Append(Record{Kind: KindEnd})
	return errors.Join(err, j.Close())
}

// Close syncs and closes the file without ending the journal: it stays
// resumable. Closing a closed journal does nothing.
func (j *Journal) Close() error {
	j.mu.Lock()
	closed := j.f == nil
	j.mu.Unlock()
	if closed {
		return nil
	}
	err := j.Sync()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return err
	}
	cerr := j.f.Close()
	j.f = nil
	if err == nil && cerr != nil {
		err = fmt.Errorf("journal %s: %w", j.path, cerr)
	}
	return err
}

// scan decodes the records of r in order, until fn returns false or a
// record is cut short (the last line a kill left): it returns the offset
// after the last whole record.
func scan(r io.Reader, fn func(Record) bool) (int64, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	var off int64
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var rec Record
			if jerr := json.Unmarshal(bytes.TrimSpace(line), &rec); jerr != nil {
				return off, fmt.Errorf("journal record at byte %d: %w", off, jerr)
			}
			off += int64(len(line))
			if !fn(rec) {
				return off, nil
			}
			continue
		}
		if err == io.EOF || err == nil {
			// A line without its newline is a record cut short.
			return off, nil
		}
		return off, err
	}
}
