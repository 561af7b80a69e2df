package headless

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/cachewarm/cachewarm/warmup"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// Final implements Printer. What it leaves on screen fits one: the
// per-loader table (stdout), then on Err what each loader left undone,
// the causes grouped across loaders (count, loaders, one example), what
// Redis did, the outcome, and last the command that retries the
// failures. Each rejected item is in the report, not here. On a terminal
// of known height (Rows) the whole fits in it: see fit.
func (p *Plain) Final(rep *warmup.Report) {
	notes := loaderNotes(rep)
	causes := causeLines(rep, maxCauseLines)
	misc := linesOf(func(w io.Writer) {
		printTTLSpread(w, rep)
		printAdaptive(w, rep)
		if n := rep.Evicted; n != nil && *n > 0 {
			fmt.Fprintf(w, "cachewarm: Redis evicted %d keys during the run (maxmemory-policy %s): warmed keys among them are cold again; --verify finds which\n", *n, rep.EvictionPolicy)
		}
		printVerify(w, rep)
		printRestarts(w, rep.Restarts)
		printOutages(w, rep)
	})
	end := linesOf(func(w io.Writer) { p.outcome(w, rep) })
	rows := len(rep.Loaders)
	if p.Rows > 0 {
		// A table row as wide as the widest takes this many rows.
		per := height([]string{strings.Repeat(" ", width(tableLines(rep, rows)))}, p.Cols)
		notes, causes, rows = fit(p.Rows, p.Cols, per, rep, notes, causes, height(misc, p.Cols)+height(end, p.Cols))
	}
	for _, l := range tableLines(rep, rows) {
		fmt.Fprintln(p.out, l)
	}
	for _, n := range notes {
		fmt.Fprintln(p.Err, n.line)
	}
	for _, group := range [][]string{causes, misc, end} {
		for _, l := range group {
			fmt.Fprintln(p.Err, l)
		}
	}
}

// summaryMargin is the rows of a terminal Final leaves to the shell: its
// prompt after the run, the command line before, a line that wraps.
const summaryMargin = 4

// maxFitCauses bounds the cause lines on a terminal Final fits, the
// "… more causes" line among them.
const maxFitCauses = 5

// fit shortens what Final prints to rows-summaryMargin lines where it
// can: at most maxFitCauses cause lines, the loaders' "not started"
// notes in one line, and the table's rows (beyond its head and TOTAL)
// cut to what is left, the rest folded into one. The outcome, what Redis
// did and the retry command (fixed lines) are never cut: they are the
// next step.
func fit(rows, cols, per int, rep *warmup.Report, notes []note, causes []string, fixed int) ([]note, []string, int) {
	budget := rows - summaryMargin
	if len(causes) > maxFitCauses {
		causes = causeLines(rep, maxFitCauses-1)
	}
	loaders := len(rep.Loaders)
	used := func() int {
		n := per*(2+loaders) + height(causes, cols) + fixed
		if loaders < len(rep.Loaders) {
			n += per // the row of the loaders folded
		}
		for _, x := range notes {
			n += height([]string{x.line}, cols)
		}
		return n
	}
	if used() > budget {
		notes = foldNotes(notes)
	}
	if over := used() - budget; over > 0 {
		// One row says what was folded.
		loaders = max(1, loaders-(over+per-1)/per-1)
	}
	// Long lines on a narrow terminal: fewer causes, down to the most
	// frequent one and the line that counts the rest.
	for limit := len(causes) - 2; used() > budget && limit >= 1; limit-- {
		causes = causeLines(rep, limit)
	}
	return notes, causes, loaders
}

// note is one line of what a loader left undone; unstarted says it only
// names where the loader stopped (a retry reads on from there), which
// may be folded with the others.
type note struct {
	line      string
	loader    string
	unstarted bool
}

// loaderNotes says, per loader, what it left undone: a source that
// stopped early, items not started, items rejected at the source.
func loaderNotes(rep *warmup.Report) []note {
	var out []note
	add := func(l warmup.LoaderReport, unstarted bool, format string, args ...any) {
		out = append(out, note{line: fmt.Sprintf(format, args...), loader: l.Name, unstarted: unstarted})
	}
	for _, l := range rep.Loaders {
		switch {
		case l.Error != "" && l.Resume != nil && l.Resume.Kind == source.KindStream:
			add(l, false, "%s: the input stopped early at line %d: %s: fix it and feed it again; --retry-from cannot read a stream again", l.Name, l.Resume.Line, l.Error)
		case l.Error != "" && l.Resume != nil && l.Resume.Kind == source.KindSQL:
			add(l, false, "%s: the query stopped early: %s: --retry-from runs it again from row %d", l.Name, l.Error, l.Resume.Next+1)
		case l.Error != "":
			add(l, false, "%s: source stopped early: %s: if the file is damaged, fix it and run this loader again; --retry-from would stop at the same place", l.Name, l.Error)
		case l.Resume != nil:
			add(l, l.Resume.Kind != source.KindStream, "%s: not started: %s", l.Name, describeResume(l))
		}
		if l.RejectedAtSource > 0 {
			add(l, false, "%s: %d rejected at the source (%s): a retry reads the same bytes; fix them, then run this loader again without --retry-from",
				l.Name, l.RejectedAtSource, whereAtSource(l.RejectedItems))
		}
	}
	return out
}

// foldNotes puts the loaders' "not started" notes in one line, when
// there are more than one; the others stay whole.
func foldNotes(notes []note) []note {
	var names []string
	for _, n := range notes {
		if n.unstarted {
			names = append(names, n.loader)
		}
	}
	if len(names) < 2 {
		return notes
	}
	out := make([]note, 0, len(notes)-len(names)+1)
	folded := false
	for _, n := range notes {
		if !n.unstarted {
			out = append(out, n)
			continue
		}
		if !folded {
			folded = true
			out = append(out, note{line: fmt.Sprintf("%s: not all started: --retry-from reads on from where each stopped (the report says where)", strings.Join(names, ", "))})
		}
	}
	return out
}

// causeLines are the causes grouped across loaders, at most limit of
// them and then one line for the rest.
func causeLines(rep *warmup.Report, limit int) []string {
	groups := GroupCauses(rep)
	var out []string
	for i, c := range groups {
		if i == limit {
			var n int64
			for _, c := range groups[i:] {
				n += c.Count
			}
			out = append(out, fmt.Sprintf("cachewarm: … %d more causes, %d items (the report lists every item)", len(groups)-i, n))
			break
		}
		out = append(out, fmt.Sprintf("%s: %d × %s (e.g. %s)", strings.Join(c.Loaders, ", "), c.Count, c.Cause, c.Example))
	}
	return out
}

// outcome writes the run's outcome, where its report is, and last the
// command that retries its failures.
func (p *Plain) outcome(w io.Writer, rep *warmup.Report) {
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
	line := fmt.Sprintf("cachewarm: %s in %.1fs: %d fulfilled%s, %d rejected, %s not started", state, rep.Seconds, rep.Fulfilled, WarmNote(rep.Warm), rep.Rejected, notStarted(TotalNotStarted(rep)))
	if rep.RetryFrom != "" {
		line += fmt.Sprintf("; retry of %s: %d fulfilled before", rep.RetryFrom, rep.FulfilledBefore)
	}
	fmt.Fprintln(w, line)
	if rep.RejectedAtSource > 0 {
		fmt.Fprintf(w, "cachewarm: %d rejected at the source need a fixed file: --retry-from carries them over, and exits 1, until then\n", rep.RejectedAtSource)
	}
	if p.Report != "" {
		fmt.Fprintf(w, "cachewarm: report written to %s\n", p.Report)
	}
	if !retryCanHelp(rep) {
		return
	}
	if p.Retry == "" {
		fmt.Fprintf(w, "cachewarm: no report was written: --retry-from has nothing to run from\n")
		return
	}
	for _, l := range rep.Loaders {
		if l.Resume != nil && l.Resume.Kind == source.KindStream {
			fmt.Fprintf(w, "cachewarm: --retry-from runs the rejected items and the rest of each file, not the rest of a stream\n")
			break
		}
	}
	if p.Cols > 0 && len([]rune("retry: "+p.Retry)) > p.Cols {
		// Too long for a line: the command starts one of its own, so
		// that it wraps (if it must) at the terminal's edge only.
		fmt.Fprintf(w, "retry:\n%s\n", p.Retry)
		return
	}
	fmt.Fprintf(w, "retry: %s\n", p.Retry)
}

// height is the terminal rows lines take at cols columns (0: unknown,
// one each).
func height(lines []string, cols int) int {
	n := 0
	for _, l := range lines {
		w := len([]rune(l))
		if cols <= 0 || w <= cols {
			n++
			continue
		}
		n += (w + cols - 1) / cols
	}
	return n
}

// shownLoaders says which of ls the table lists in rows rows: all when
// they fit, else those with something to tell (rejected or not started
// items, a source error) first, in their order.
func shownLoaders(ls []warmup.LoaderReport, rows int) []bool {
	shown := make([]bool, len(ls))
	left := rows
	for pass := 0; pass < 2; pass++ {
		for i, l := range ls {
			tells := l.Rejected > 0 || l.NotStarted != 0 || l.Error != ""
			if left > 0 && !shown[i] && (pass == 1 || tells) {
				shown[i] = true
				left--
			}
		}
	}
	return shown
}

// tableLines is the table with at most rows loader rows, as lines,
// without the padding after their last column (it would wrap a line
// that fits).
func tableLines(rep *warmup.Report, rows int) []string {
	lines := linesOf(func(w io.Writer) { table(w, rep, rows) })
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return lines
}

// width is the widest of lines, in runes.
func width(lines []string) int {
	w := 0
	for _, l := range lines {
		w = max(w, len([]rune(l)))
	}
	return w
}

// linesOf is what write writes, as lines.
func linesOf(write func(io.Writer)) []string {
	var b bytes.Buffer
	write(&b)
	s := strings.TrimSuffix(b.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
