//go:build linux

// Running cachewarm and the baselines as processes: wall time, CPU time,
// peak RSS, output kept in files.

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// procResult is how one child process went.
type procResult struct {
	wall time.Duration
	// cpu is the CPU time (user + system) the process used.
	cpu   time.Duration
	rssKB int64
	// floorKB is the harness's own RSS when the process started: see
	// resetPeakRSS.
	floorKB int64
	code    int
	outPath string
	errPath string
}

// describe is the exit code and the tail of the process's output, for
// error messages.
func (p procResult) describe() string {
	out, _ := os.ReadFile(p.outPath)
	errOut, _ := os.ReadFile(p.errPath)
	return fmt.Sprintf("exit %d\n--- stdout (tail)\n%s\n--- stderr (tail)\n%s", p.code, tail(out, 1500), tail(errOut, 1500))
}

// tail is the last n bytes of data as text, without terminal escape
// sequences (the monitor's output is full of them) and carriage returns.
func tail(data []byte, n int) string {
	text := strings.ReplaceAll(ansi.Strip(string(data)), "\r", "")
	if len(text) > n {
		text = text[len(text)-n:]
	}
	return strings.TrimSpace(strings.ToValidUTF8(text, ""))
}

// runProc runs name with args in the temporary directory, stdout and
// stderr going to files named after label, and measures its wall time and
// peak RSS. A non-zero exit is not an error; failing to start, or ctx
// ending, is.
func (b *bench) runProc(ctx context.Context, label string, stdin *os.File, env []string, name string, args ...string) (procResult, error) {
	cmd, res, done, err := b.command(ctx, label, stdin, env, name, args...)
	if err != nil {
		return res, err
	}
	defer done()
	return res, timeCmd(ctx, cmd, label, &res, nil)
}

// runCapped is runProc for cachewarm runs whose memory is the point: while
// the process runs, its resident set is read from /proc every 10 ms and
// the process is killed once it passes capKB, so a run that holds far
// more than it should cannot take the machine with it. killed says
// whether that happened; res.rssKB is then the peak at the kill.
func (b *bench) runCapped(ctx context.Context, label string, capKB int64, args ...string) (res procResult, killed bool, err error) {
	cmd, res, done, err := b.command(ctx, label, nil, nil, b.bin, args...)
	if err != nil {
		return res, false, err
	}
	defer done()
	stop := make(chan struct{})
	watched := make(chan bool, 1)
	err = timeCmd(ctx, cmd, label, &res, func() {
		go func() { watched <- watchRSS(cmd.Process, capKB, stop) }()
	})
	close(stop)
	if cmd.Process != nil {
		killed = <-watched
	}
	return res, killed, err
}

// watchRSS polls p's VmRSS until stop is closed or p passes capKB, when
// it kills p and returns true.
func watchRSS(p *os.Process, capKB int64, stop <-chan struct{}) bool {
	status := "/proc/" + strconv.Itoa(p.Pid) + "/status"
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return false
		case <-tick.C:
		}
		if kb, ok := vmRSS(status); ok && kb > capKB {
			p.Kill()
			return true
		}
	}
}

// vmRSS reads the VmRSS line (KiB) of a /proc/PID/status file.
func vmRSS(status string) (int64, bool) {
	data, err := os.ReadFile(status)
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}

// command prepares name with args to run in the temporary directory,
// stdout and stderr going to files named after label; done closes them.
func (b *bench) command(ctx context.Context, label string, stdin *os.File, env []string, name string, args ...string) (*exec.Cmd, procResult, func(), error) {
	res := procResult{
		outPath: filepath.Join(b.dir, label+".out"),
		errPath: filepath.Join(b.dir, label+".err"),
	}
	outF, err := os.Create(res.outPath)
	if err != nil {
		return nil, res, nil, err
	}
	errF, err := os.Create(res.errPath)
	if err != nil {
		outF.Close()
		return nil, res, nil, err
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = b.dir
	if stdin != nil {
		cmd.Stdin = stdin
	}
	cmd.Stdout, cmd.Stderr = outF, errF
	// Journals go to the harness's folder: written as in any run, and
	// gone with it, so that no run is left unfinished for the next
	// harness run to find.
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(b.dir, "state"))
	cmd.Env = append(cmd.Env, env...)
	return cmd, res, func() { outF.Close(); errF.Close() }, nil
}

// timeCmd starts cmd, calls afterStart (when not nil), waits for cmd and
// fills res with its wall time, exit code and peak RSS. A non-zero exit
// is not an error; failing to start, or ctx ending, is.
func timeCmd(ctx context.Context, cmd *exec.Cmd, label string, res *procResult, afterStart func()) error {
	res.floorKB = resetPeakRSS()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	if afterStart != nil {
		afterStart()
	}
	err := cmd.Wait()
	res.wall = time.Since(start)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return fmt.Errorf("%s: %w", label, err)
	}
	res.code = cmd.ProcessState.ExitCode()
	res.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.rssKB = ru.Maxrss // KiB on Linux
	}
	return nil
}

// resetPeakRSS lowers the harness's own peak RSS to what it holds now,
// after giving back what it can, and returns that (KiB).
//
// A child's rusage peak is never below its parent's peak: Go starts
// children with vfork (CLONE_VM), and when the child execs, Linux carries
// the peak of the memory it leaves, the parent's, into the child's
// ru_maxrss. A harness that once decoded a large report or served
// thousands of connections would otherwise lend its own peak to every
// later run. Writing 5 to /proc/self/clear_refs (Linux ≥ 4.0) resets the
// peak to the current RSS, so a child's reading is at least the returned
// floor and otherwise its own.
func resetPeakRSS() int64 {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil && !peakResetFailed.Swap(true) {
		fmt.Fprintf(os.Stderr, "bench: cannot reset the harness's peak RSS (%v): children's peak RSS may be the harness's\n", err)
	}
	kb, _ := vmRSS("/proc/self/status")
	return kb
}

// peakResetFailed is set once resetPeakRSS has said it cannot reset.
var peakResetFailed atomic.Bool
