package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/cachewarm/cachewarm/headless"
	"github.com/cachewarm/cachewarm/warmup"
)

// runMerge is `cachewarm merge SHARD.json… [--report PATH]`: the reports
// of a run's shards as one. Exit 0 merged, 1 merged with shards missing,
// 2 bad input (nothing written).
func runMerge(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("cachewarm merge", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	report := fs.String("report", "", "write the merged JSON report to `PATH`")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "cachewarm merge combines the reports of a run's shards (--shard k/n) into one:\ncounts summed per loader, every rejected item, each shard's resume point.\n\n")
		fmt.Fprintf(stderr, "Usage: cachewarm merge SHARD.json… [--report PATH]\n\nFlags:\n%s\n", fs.FlagUsages())
		fmt.Fprintf(stderr, "Exit codes: 0 every shard given and every item fulfilled, 1 merged but shards are missing or items\nrejected or not started, 2 bad input (nothing written).\n")
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "cachewarm: %v\n", err)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		return fail(err)
	}
	if fs.NArg() == 0 {
		return fail(errors.New("merge: no reports given: cachewarm merge SHARD.json… [--report PATH]"))
	}
	if *report != "" {
		if err := warmup.CheckReportPath(*report, fs.Args()...); err != nil {
			return fail(err)
		}
	}
	m, err := warmup.MergeReports(fs.Args())
	if err != nil {
		return fail(err)
	}
	if *report != "" {
		if err := m.Write(*report); err != nil {
			return fail(err)
		}
	}
	rep := m.Report
	headless.Table(stdout, rep)
	fmt.Fprintf(stderr, "cachewarm: merged shards %s of %d: %d fulfilled%s, %d rejected, %s not started\n",
		joinInts(rep.Merged.Shards), rep.Merged.N, rep.Fulfilled, headless.WarmNote(rep.Warm), rep.Rejected, notStartedText(rep))
	if miss := rep.Merged.Missing; len(miss) > 0 {
		fmt.Fprintf(stderr, "cachewarm: missing shards of %d: %s (no report given): their items are in no count\n", rep.Merged.N, joinInts(miss))
		return 1
	}
	// As a run's: 0 only when every item of every shard was fulfilled,
	// so that an alert on the merge's exit code fires when a shard's did.
	if rep.Rejected > 0 || rep.Interrupted || headless.TotalNotStarted(rep) != 0 {
		return 1
	}
	return exitOK
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// notStartedText is the merged not-started count, or "more" when some is
// unknown.
func notStartedText(rep *warmup.Report) string {
	for _, l := range rep.Loaders {
		if l.NotStarted < 0 {
			return fmt.Sprintf("%d and more", rep.NotStarted)
		}
	}
	return fmt.Sprint(rep.NotStarted)
}
