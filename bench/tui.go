//go:build linux

// Target 3, tui: the bulk run in the monitor, on a pseudo-terminal,
// against the same run headless.

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tuiTarget is target 3.
func (b *bench) tuiTarget(ctx context.Context) error {
	n := b.largestBulkOK()
	if n == 0 {
		b.notes = append(b.notes, "TUI: skipped (no successful bulk size ≤ 1,000,000).")
		return nil
	}
	res := b.bulk[n]
	var headless, tui []time.Duration
	var rss int64
	var badExit error
	for r := 1; r <= b.opt.runs; r++ {
		h, err := b.bulkRun(ctx, n, res.config, fmt.Sprintf("tui-headless-%d-%d", n, r), uint64(100+r))
		if err != nil {
			return err
		}
		if err := b.flush(ctx); err != nil {
			return err
		}
		t, err := b.tuiRun(ctx, res.config, fmt.Sprintf("tui-%d-%d", n, r))
		if err != nil {
			return err
		}
		if err := b.verifyBulk(ctx, n, uint64(200+r)); err != nil {
			return fmt.Errorf("after the TUI run: %w (%s)", err, t.describe())
		}
		// Every item is in: the run is timed, but its exit code must be 0.
		if t.code != 0 && badExit == nil {
			badExit = fmt.Errorf("cachewarm (TUI, --exit-when-done) loaded every item but exited %d, want 0; %s", t.code, t.describe())
		}
		headless = append(headless, h.wall)
		tui = append(tui, t.wall)
		rss = max(rss, t.rssKB)
		b.logf("tui %d run %d/%d: headless %.3fs, TUI %.3fs, peak RSS %.1f MB", n, r, b.opt.runs, h.wall.Seconds(), t.wall.Seconds(), mb(t.rssKB))
	}
	h, t := best(headless), best(tui)
	ratio := t.Seconds() / h.Seconds()
	ok := okOrMissed(ratio <= tuiGoal)
	if badExit != nil {
		ok = "FAIL (exit)"
		b.failures = append(b.failures, "tui: "+badExit.Error())
		b.logf("FAIL tui: %v", badExit)
	}
	b.rows = append(b.rows, row{
		target: "tui (pty)", items: n, baseline: h, cachewarm: t, rssKB: rss,
		ratio: ratio, goal: fmt.Sprintf("≤ %.2f× headless", tuiGoal), ok: ok,
	})
	if b.opt.runs > 1 {
		b.notes = append(b.notes, fmt.Sprintf("tui: medians of %d runs: headless %.3fs, TUI %.3fs.", b.opt.runs, median(headless).Seconds(), median(tui).Seconds()))
	}
	return b.tuiIdleTarget(ctx, res.config)
}

// tuiRun runs cachewarm with its monitor on a pseudo-terminal of
// tuiCols×tuiRows (TERM=xterm-256color, COLUMNS and LINES set) until
// --exit-when-done ends it. The harness opens the terminal itself rather
// than going through script(1) or tmux: a wrapper's own start-up and exit
// (about 80 ms for script here) would be timed too and swamp a 5% goal.
// What the monitor draws is drained into label.out as it comes.
func (b *bench) tuiRun(ctx context.Context, config, label string) (procResult, error) {
	res := procResult{outPath: filepath.Join(b.dir, label+".out")}
	out, err := os.Create(res.outPath)
	if err != nil {
		return res, err
	}
	defer out.Close()
	master, slave, err := openPTY(tuiCols, tuiRows)
	if err != nil {
		return res, fmt.Errorf("pseudo-terminal: %w", err)
	}
	defer master.Close()
	defer slave.Close()
	drained := make(chan struct{})
	go func() {
		io.Copy(out, master) // ends with EIO once the monitor's side is closed
		close(drained)
	}()
	cmd := exec.CommandContext(ctx, b.bin, "--config", config, "--exit-when-done")
	cmd.Dir = b.dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "COLUMNS="+strconv.Itoa(tuiCols), "LINES="+strconv.Itoa(tuiRows))
	// A session of its own with the terminal as its controlling terminal,
	// as a shell would start it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = timeCmd(ctx, cmd, label, &res, func() { slave.Close() })
	select {
	case <-drained:
	case <-time.After(5 * time.Second):
	}
	return res, err
}

// openPTY opens a pseudo-terminal pair whose window is cols×rows.
func openPTY(cols, rows int) (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	var num int
	err = control(master, func(fd int) (err error) {
		if err = unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return err
		}
		num, err = unix.IoctlGetInt(fd, unix.TIOCGPTN)
		return err
	})
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(num), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	if err := control(slave, func(fd int) error {
		return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)})
	}); err != nil {
		master.Close()
		slave.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// control runs do with f's descriptor, without f.Fd()'s switch of the
// descriptor to blocking mode.
func control(f *os.File, do func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var doErr error
	if err := rc.Control(func(fd uintptr) { doErr = do(int(fd)) }); err != nil {
		return err
	}
	return doErr
}
