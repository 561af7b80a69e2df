package warmup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Report is the JSON record of a run: totals, and every rejected item
// with its reason, ready for --retry-from.
type Report struct {
	Fulfilled   int64          `json:"fulfilled"`
	Rejected    int64          `json:"rejected"`
	Interrupted bool           `json:"interrupted"`
	Redis       string         `json:"redis"`
	Config      string         `json:"config"`
	Started     time.Time      `json:"started"`
	Seconds     float64        `json:"seconds"`
	Loaders     []LoaderReport `json:"loaders"`
}

// LoaderReport is one loader's part of a report.
type LoaderReport struct {
	Name      string  `json:"name"`
	Source    string  `json:"source"`
	Fulfilled int64   `json:"fulfilled"`
	Rejected  int64   `json:"rejected"`
	P50ms     float64 `json:"p50_ms"`
	P95ms     float64 `json:"p95_ms"`
	// Error is a source error that ended the loader's stream early.
	Error         string      `json:"error,omitempty"`
	RejectedItems []Rejection `json:"rejected_items"`
}

// Report builds the report of the run so far.
func (e *Engine) Report() *Report {
	s := e.Snapshot()
	rep := &Report{
		Fulfilled:   s.Fulfilled,
		Rejected:    s.Rejected,
		Interrupted: e.Interrupted(),
		Redis:       s.Redis,
		Config:      e.cfg.Path,
		Started:     s.Started.UTC().Truncate(time.Millisecond),
		Seconds:     float64(s.Elapsed.Milliseconds()) / 1000,
		Loaders:     make([]LoaderReport, 0, len(s.Loaders)),
	}
	for i, l := range s.Loaders {
		lr := e.loaders[i]
		lr.mu.Lock()
		items := append(make([]Rejection, 0, len(lr.rejections)), lr.rejections...)
		srcErr := lr.srcErr
		lr.mu.Unlock()
		rep.Loaders = append(rep.Loaders, LoaderReport{
			Name: l.Name, Source: l.Source, Fulfilled: l.Fulfilled, Rejected: l.Rejected,
			P50ms: ms(l.P50), P95ms: ms(l.P95), Error: srcErr, RejectedItems: items,
		})
	}
	return rep
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// WriteReport writes rep to path atomically (a temporary file renamed).
func WriteReport(path string, rep *Report) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	data = append(data, '\n')
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cachewarm-report-*")
	if err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
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
