package warmup

import (
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

// JUnit XML: the report as CI test reporters (GitLab's, Jenkins's JUnit
// plugin, GitHub actions that publish test results) show it, one test
// case per loader, failed when any of its items was rejected or never
// started. Its shape is the one those reporters document, and
// testdata/junit.xsd states it.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes rep to path as JUnit XML, atomically like a report.
// retry is the command that runs the rejected and not-started items
// again ("" when no report was written for --retry-from to read).
func WriteJUnit(path string, rep *Report, retry string) error {
	return writeAtomic(path, func(w io.Writer) error { return EncodeJUnit(w, rep, retry) })
}

// EncodeJUnit writes rep as JUnit XML to w; see WriteJUnit.
func EncodeJUnit(w io.Writer, rep *Report, retry string) error {
	suite := junitSuite{
		Name:      "cachewarm " + filepath.Base(rep.Config),
		Tests:     len(rep.Loaders),
		Time:      junitSeconds(rep.Seconds),
		Timestamp: rep.Started.UTC().Format("2006-01-02T15:04:05"),
	}
	suite.Properties = junitProperties(rep, retry)
	class := "cachewarm." + strings.TrimSuffix(filepath.Base(rep.Config), filepath.Ext(rep.Config))
	for _, l := range rep.Loaders {
		c := junitCase{Name: l.Name, Classname: class, SystemOut: loaderSummary(l)}
		if f := loaderFailure(l, rep, retry); f != nil {
			c.Failure = f
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{Name: "cachewarm", Tests: suite.Tests, Failures: suite.Failures, Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitSeconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }

// junitProperties are the run's counts, as a CI page lists them.
func junitProperties(rep *Report, retry string) []junitProperty {
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	ps := []junitProperty{
		{"fulfilled", n(rep.Fulfilled)},
		{"warm", n(rep.Warm)},
		{"rejected", n(rep.Rejected)},
		{"rejected_at_source", n(rep.RejectedAtSource)},
		{"not_started", notStartedText(rep)},
		{"redis", rep.Redis},
		{"config", rep.Config},
	}
	if rep.Stopped != "" {
		ps = append(ps, junitProperty{"stopped", rep.Stopped})
	}
	if rep.Interrupted {
		ps = append(ps, junitProperty{"interrupted", "true"})
	}
	if v := rep.Verify; v != nil {
		ps = append(ps, junitProperty{"verify_checked", n(v.Checked)}, junitProperty{"verify_failed", n(v.Failed)})
	}
	if rep.Evicted != nil {
		ps = append(ps, junitProperty{"evicted", n(*rep.Evicted)}, junitProperty{"eviction_policy", rep.EvictionPolicy})
	} else if v := rep.Verify; v != nil && v.Evicted != nil {
		ps = append(ps, junitProperty{"evicted", n(*v.Evicted)})
	}
	if needsRetry(rep) {
		ps = append(ps, junitProperty{"retry_command", retryText(retry)})
	}
	return ps
}

// notStartedText is the run's not-started count, with a "+" when a
// stopped file's rest is not counted.
func notStartedText(rep *Report) string {
	s := strconv.FormatInt(rep.NotStarted, 10)
	for _, l := range rep.Loaders {
		if l.NotStarted < 0 {
			return s + "+"
		}
	}
	return s
}

func needsRetry(rep *Report) bool {
	for _, l := range rep.Loaders {
		if l.Rejected > 0 || l.NotStarted != 0 {
			return true
		}
	}
	return false
}

func retryText(retry string) string {
	if retry == "" {
		return "none: run with --report PATH to keep what --retry-from needs"
	}
	return retry
}

// loaderSummary is a loader's counts in one line, for its system-out.
func loaderSummary(l LoaderReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d fulfilled", l.Source, l.Fulfilled)
	if l.Warm > 0 {
		fmt.Fprintf(&b, " (%d already warm)", l.Warm)
	}
	fmt.Fprintf(&b, ", %d rejected", l.Rejected)
	if l.TTL != nil {
		fmt.Fprintf(&b, ", ttl %s", l.TTL)
	}
	fmt.Fprintf(&b, ", p50 %.0fms, p95 %.0fms", l.P50ms, l.P95ms)
	if l.Verify != nil {
		fmt.Fprintf(&b, ", %d keys verified", l.Verify.Checked)
	}
	return b.String()
}

// loaderFailure is the failure of a loader whose items were not all
// fulfilled, nil when they were: its message counts them, its type is the
// most frequent cause, and its text lists the grouped causes with their
// counts and an example each, then how to run them again.
func loaderFailure(l LoaderReport, rep *Report, retry string) *junitFailure {
	if l.Rejected == 0 && l.NotStarted == 0 && l.Error == "" {
		return nil
	}
	var msg []string
	if l.Rejected > 0 {
		msg = append(msg, fmt.Sprintf("%d rejected", l.Rejected))
	}
	switch {
	case l.NotStarted > 0:
		msg = append(msg, fmt.Sprintf("%d not started", l.NotStarted))
	case l.NotStarted < 0:
		msg = append(msg, "the rest of the source not started")
	}
	f := &junitFailure{Message: strings.Join(msg, ", ") + fmt.Sprintf(" (%d fulfilled)", l.Fulfilled), Type: "not started"}
	var b strings.Builder
	var listed int64
	for i, c := range l.Causes {
		if i == 0 {
			f.Type = c.Cause
		}
		listed += c.Count
		fmt.Fprintf(&b, "%d × %s (%s)", c.Count, c.Cause, c.Stage)
		if c.Example != "" {
			fmt.Fprintf(&b, ", e.g. %s", c.Example)
		}
		b.WriteByte('\n')
	}
	if more := l.Rejected - listed; more > 0 && len(l.Causes) > 0 {
		fmt.Fprintf(&b, "… %d more rejected with other causes (the report lists every one)\n", more)
	}
	if l.Error != "" {
		fmt.Fprintf(&b, "source stopped early: %s\n", l.Error)
		if l.Rejected == 0 && l.NotStarted == 0 {
			f.Type = "source error"
		}
	}
	switch {
	case rep.Interrupted:
		b.WriteString("the run was interrupted\n")
	case rep.Stopped != "":
		fmt.Fprintf(&b, "the run stopped: %s\n", rep.Stopped)
	}
	fmt.Fprintf(&b, "retry: %s\n", retryText(retry))
	f.Text = b.String()
	return f
}
