package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// gcBallast is the size of a never-touched allocation that raises the
// collector's heap goal by that much without costing resident memory (its
// pages are never written, so the kernel never backs them).
//
// A bulk load allocates about 380 bytes per item (the line, go-redis's
// command and its arguments) while its live heap stays a few MB, so the
// default heap goal (twice the live heap) has the collector run every few
// thousand items: 15% of the CPU of a 1M-item load, taken from the core
// Redis needs. With 16 MiB of ballast it runs about a fifth as often: in
// paired runs the load's CPU went from 1.7 s to 1.15 s and its wall time
// down in every pair, for 16 MB more RSS (27 → 43 MB). GOGC=400 saved as
// much CPU, but it multiplies: a run holding many rejections or large
// fetched bodies would keep five times what it holds. The ballast adds a
// constant, so such a run still collects at twice what it holds.
const gcBallast = 16 << 20

// tuneGC allocates the ballast unless GOGC or GOMEMLIMIT is set (then the
// environment's choice stands). Keep the returned value alive for the
// life of the process (runtime.KeepAlive).
func tuneGC(getenv func(string) string) []byte {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return nil
	}
	return make([]byte, gcBallast)
}

// startProfiles starts the --cpuprofile and arms the --memprofile; the
// returned function writes and closes them.
func startProfiles(cpu, mem string) (func(), error) {
	var cpuFile *os.File
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		cpuFile = f
	}
	return func() {
		if cpuFile != nil {
			pprof.StopCPUProfile()
			cpuFile.Close()
		}
		if mem != "" {
			f, err := os.Create(mem)
			if err != nil {
				fmt.Fprintf(os.Stderr, "cachewarm: --memprofile: %v\n", err)
				return
			}
			defer f.Close()
			runtime.GC()
			if err := pprof.WriteHeapProfile(f); err != nil {
				fmt.Fprintf(os.Stderr, "cachewarm: --memprofile: %v\n", err)
			}
		}
	}, nil
}
