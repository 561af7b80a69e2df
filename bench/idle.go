package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The idle monitor's goal (issue 26): a finished monitor left open does
// no work that nothing on screen needs.
const (
	idleWakeupsGoal = 5.0 // voluntary context switches a second, all threads
	idleCPUGoal     = 0.2 // percent of a core
	idleWindow      = 10 * time.Second
)

// tuiIdleTarget runs cachewarm's monitor on a pseudo-terminal until the
// run is done (the status line says "done in"), lets it settle, and then
// counts over idleWindow the voluntary context switches of all its threads
// (each is a thread that slept and was woken) and the CPU time they used
// (schedstat, in nanoseconds). It then quits the monitor with q.
func (b *bench) tuiIdleTarget(ctx context.Context, config string) error {
	master, slave, err := openPTY(tuiCols, tuiRows)
	if err != nil {
		return fmt.Errorf("pseudo-terminal: %w", err)
	}
	defer master.Close()
	defer slave.Close()
	var mu sync.Mutex
	var screen bytes.Buffer
	done := make(chan struct{})
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			if bytes.Contains(screen.Bytes(), []byte("done in")) {
				select {
				case <-done:
				default:
					close(done)
				}
				// Only the tail is needed from here on.
				screen.Reset()
			}
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	cmd := exec.CommandContext(ctx, b.bin, "--config", config)
	cmd.Dir = b.dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "COLUMNS="+strconv.Itoa(tuiCols), "LINES="+strconv.Itoa(tuiRows),
		"XDG_STATE_HOME="+filepath.Join(b.dir, "idle-state"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("tui idle: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	quit := func() {
		master.Write([]byte("q"))
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	select {
	case <-done:
	case err := <-exited:
		return fmt.Errorf("tui idle: the monitor ended before its run was done: %v", err)
	case <-time.After(5 * time.Minute):
		quit()
		return fmt.Errorf("tui idle: the run was not done after 5 minutes")
	}
	// The last frames, the final marks and the rates' last sample.
	time.Sleep(2 * time.Second)
	pid := cmd.Process.Pid
	sw0, cpu0 := threadCounters(pid)
	t0 := time.Now()
	time.Sleep(idleWindow)
	sw1, cpu1 := threadCounters(pid)
	secs := time.Since(t0).Seconds()
	quit()

	wakeups := float64(sw1-sw0) / secs
	cpu := 100 * float64(cpu1-cpu0) / 1e9 / secs
	ok := "MET"
	if wakeups > idleWakeupsGoal || cpu >= idleCPUGoal {
		ok = "MISSED"
	}
	b.logf("tui idle: %.1f wakeups/s, %.3f%% of a core over %.0fs", wakeups, cpu, secs)
	b.rows = append(b.rows, row{
		target: "tui idle (finished)",
		goal:   fmt.Sprintf("≤ %.0f wakeups/s: %.1f; < %.1f%% CPU: %.3f%%", idleWakeupsGoal, wakeups, idleCPUGoal, cpu),
		ok:     ok,
	})
	b.notes = append(b.notes, fmt.Sprintf("tui idle: a finished monitor (%d×%d) over %.0f s: %.1f voluntary context switches a second over all its threads, %.3f%% of a core. "+
		"Bubble Tea v2's renderer draws on a ticker at the program's frame rate (tea.WithFPS, at least 1) that no public API stops, and each of its ticks wakes a few threads.",
		tuiCols, tuiRows, secs, wakeups, cpu))
	return nil
}

// threadCounters sums, over the threads of process pid, the voluntary
// context switches and the time spent on a CPU (nanoseconds).
func threadCounters(pid int) (switches, cpuNS int64) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, t := range tasks {
		if st, err := os.ReadFile(filepath.Join(t, "status")); err == nil {
			for _, line := range strings.Split(string(st), "\n") {
				if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
					n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
					switches += n
				}
			}
		}
		if ss, err := os.ReadFile(filepath.Join(t, "schedstat")); err == nil {
			if f := strings.Fields(string(ss)); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				cpuNS += n
			}
		}
	}
	return switches, cpuNS
}
