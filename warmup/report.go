package warmup

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Report is the JSON record of a run: totals, and every rejected item
// with its reason, ready for --retry-from.
type Report struct {
	ReportTotals
	Loaders []LoaderReport `json:"loaders"`
}

// ReportTotals are a report's fields before its loaders.
type ReportTotals struct {
	Fulfilled   int64     `json:"fulfilled"`
	Rejected    int64     `json:"rejected"`
	Interrupted bool      `json:"interrupted"`
	Redis       string    `json:"redis"`
	Config      string    `json:"config"`
	Started     time.Time `json:"started"`
	Seconds     float64   `json:"seconds"`
}

// LoaderReport is one loader's part of a report.
type LoaderReport struct {
	LoaderTotals
	RejectedItems []Rejection `json:"rejected_items"`
}

// LoaderTotals are a loader's report fields before its rejected items.
type LoaderTotals struct {
	Name      string  `json:"name"`
	Source    string  `json:"source"`
	Fulfilled int64   `json:"fulfilled"`
	Rejected  int64   `json:"rejected"`
	P50ms     float64 `json:"p50_ms"`
	P95ms     float64 `json:"p95_ms"`
	// Error is a source error that ended the loader's stream early.
	Error string `json:"error,omitempty"`
}

// Report builds the report of the run so far.
func (e *Engine) Report() *Report {
	s := e.Snapshot()
	rep := &Report{ReportTotals: ReportTotals{
		Fulfilled:   s.Fulfilled,
		Rejected:    s.Rejected,
		Interrupted: e.Interrupted(),
		Redis:       s.Redis,
		Config:      e.cfg.Path,
		Started:     s.Started.UTC().Truncate(time.Millisecond),
		Seconds:     float64(s.Elapsed.Milliseconds()) / 1000,
	}, Loaders: make([]LoaderReport, 0, len(s.Loaders))}
	for i, l := range s.Loaders {
		lr := e.loaders[i]
		lr.mu.Lock()
		// Rejections are only ever appended to (or the slice replaced), so
		// the report can share them instead of copying.
		n := len(lr.rejections)
		items := lr.rejections[:n:n]
		if items == nil {
			items = []Rejection{}
		}
		srcErr := lr.srcErr
		lr.mu.Unlock()
		rep.Loaders = append(rep.Loaders, LoaderReport{LoaderTotals: LoaderTotals{
			Name: l.Name, Source: l.Source, Fulfilled: l.Fulfilled, Rejected: l.Rejected,
			P50ms: ms(l.P50), P95ms: ms(l.P95), Error: srcErr,
		}, RejectedItems: items})
	}
	return rep
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// WriteReport writes rep to path atomically (a temporary file renamed).
// It streams: one rejected item at a time, so a report of many rejections
// needs no second copy of them in memory.
func WriteReport(path string, rep *Report) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cachewarm-report-*")
	if err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 64<<10)
	if err := encodeReport(w, rep); err != nil {
		tmp.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
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

// encodeReport writes rep as indented JSON, the rejected items one by one,
// each on a line of its own.
func encodeReport(w io.Writer, rep *Report) error {
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
		for j, r := range l.RejectedItems {
			rb, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "%s\n        %s", sep(j), rb); err != nil {
				return err
			}
		}
		closing := "]\n    }"
		if len(l.RejectedItems) > 0 {
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

// ReadReport reads a report written by WriteReport, for --retry-from.
func ReadReport(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %s", describeFileErr(err))
	}
	var rep Report
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, jsonErr(err))
	}
	for i, l := range rep.Loaders {
		if l.Name == "" {
			return nil, fmt.Errorf("read report %s: loaders[%d] has no name", path, i)
		}
		for j, r := range l.RejectedItems {
			if len(r.Item) == 0 || !json.Valid(r.Item) {
				return nil, fmt.Errorf("read report %s: loaders[%d].rejected_items[%d].item is not a JSON value", path, i, j)
			}
		}
	}
	return &rep, nil
}
