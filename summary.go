package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cachewarm/cachewarm/headless"
	"github.com/cachewarm/cachewarm/internal/redact"
	"github.com/cachewarm/cachewarm/warmup"
	"github.com/cachewarm/cachewarm/warmup/config"
)

// notices is where a run says what it must beside its outcome
// (warnings, waiting for Redis at start, a journal it cannot keep): stderr,
// or, with --json, "notice" events on stdout through the JSON printer it
// returns, so that a --json run that works leaves stderr empty.
func notices(f *flags, stdout, stderr io.Writer) (io.Writer, *headless.JSON) {
	if !f.json {
		return stderr, nil
	}
	j := headless.NewJSON(stdout, stderr)
	j.HoldDone = f.verify || f.retryFrom != "" || f.journal.resume
	return j.Notices(), j
}

// keptReport is where the run's report goes: --report, or, without it,
// beside the run's journal (PATH.report.json for the journal PATH.journal),
// so that every run keeps a record --retry-from can run from. A report,
// not the journal itself: the next run of the config replaces the journal
// at that path as it starts, which would destroy the very record a
// --retry-from is reading, while a report is replaced only at the end, by
// a rename (see warmup.WriteReport). "" when no place can take it, said on
// warn.
func keptReport(f *flags, cfg *config.Config, getenv func(string) string, warn io.Writer) string {
	if f.report != "" {
		return f.report
	}
	jpath := f.journal.path
	if jpath == "" {
		var err error
		if jpath, err = defaultJournal(cfg.Path, f.shard, getenv); err != nil {
			return ""
		}
	}
	path := strings.TrimSuffix(jpath, ".journal") + ".report.json"
	// Made as the journal's folder is; a run without a journal did not.
	_ = os.MkdirAll(filepath.Dir(path), 0o700)
	if err := warmup.CheckReportPath(path, cfg.Files()...); err != nil {
		fmt.Fprintf(warn, "cachewarm: no report will be kept: %v (--report PATH chooses a place)\n", err)
		return ""
	}
	return path
}

// retryCommand is the command line that retries the failures recorded in
// the report at path, to be run as printed: the same config and loaders,
// the same --verify; the shard comes from the report. A --redis URL is
// repeated only without a password in it (that one belongs in the
// environment).
func retryCommand(f *flags, path string) string {
	words := []string{"cachewarm", "--config", shellWord(f.config)}
	if len(f.only) > 0 {
		words = append(words, "--only", shellWord(strings.Join(f.only, ",")))
	}
	if f.redis != "" && len(redact.URLSecrets(f.redis)) == 0 {
		words = append(words, "--redis", shellWord(f.redis))
	}
	if f.verify {
		words = append(words, "--verify")
	}
	return strings.Join(append(words, "--retry-from", shellWord(path)), " ")
}

// finishRun writes what a run leaves, in this order: the report (and the
// JUnit file), the journal's end, the final metrics, and last the summary
// the printer prints (its last line the retry command), so that nothing
// follows it on the screen. It returns the exit code.
//
// stderr takes the report when it could not be written; warn what else
// goes wrong (see notices).
func finishRun(f *flags, eng *warmup.Engine, printer headless.Printer, report string, secrets *config.Redactor, obs *observer, stderr, warn io.Writer) int {
	rep := eng.Report()
	code := eng.ExitCode()
	code = max(code, writeJUnit(f, rep, report, secrets, warn))
	written := ""
	if report != "" {
		err := warmup.WriteReport(report, rep)
		switch {
		case err == nil:
			written = report
		case f.report != "":
			// Work was done: the exit code must not say "nothing was
			// written", and the report must not be lost. The journal is
			// left unfinished, the run's one other record.
			code = max(code, final(printer, rep, "", ""))
			fmt.Fprintf(stderr, "cachewarm: %v; the report follows on stderr\n", secrets.Redact(err.Error()))
			_ = warmup.EncodeReport(stderr, rep)
			obs.finish(eng, warn)
			return max(code, 1)
		default:
			fmt.Fprintf(warn, "cachewarm: the run's report could not be kept: %v (--report PATH chooses a place)\n", secrets.Redact(err.Error()))
		}
	}
	// The run ended and said so: nothing of it is left to resume. A
	// journal that failed on the way is said, never lost silently.
	jerr := eng.JournalErr()
	if jerr != nil {
		fmt.Fprintf(warn, "cachewarm: %v: rejections after it were kept in memory, and a crash would have lost them\n", jerr)
	}
	if err := eng.EndJournal(); err != nil && jerr == nil {
		fmt.Fprintf(warn, "cachewarm: %v\n", err)
	}
	// The report matters more than the push, if time runs out.
	obs.finish(eng, warn)
	retry := ""
	if written != "" {
		retry = retryCommand(f, written)
	}
	return max(code, final(printer, rep, written, retry))
}

// final has printer print rep's summary, naming the report written and
// the retry command ("" for none); 1 when output the user asked for was
// lost, else 0.
func final(printer headless.Printer, rep *warmup.Report, report, retry string) int {
	switch p := printer.(type) {
	case *headless.Plain:
		p.Report, p.Retry = report, retry
	case *headless.JSON:
		p.Report, p.Retry = report, retry
	}
	if printer == nil {
		return 0
	}
	printer.Final(rep)
	if headless.OutputLost(printer.OutputErr()) {
		return 1
	}
	return 0
}
