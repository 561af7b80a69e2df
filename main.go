// Command cachewarm warms Redis caches: it runs every loader of a config
// at once, writes each item into Redis, and reports every item as either
// fulfilled or rejected with a reason, the way Promise.allSettled does.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"

	"github.com/charmbracelet/x/term"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/pflag"

	"github.com/cachewarm/cachewarm/demo"
	"github.com/cachewarm/cachewarm/headless"
	"github.com/cachewarm/cachewarm/warmup"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes decided here; the run's own (0 all fulfilled, 1 some
// rejected, 130 interrupted) come from warmup.Engine.ExitCode.
const (
	exitOK    = 0
	exitUsage = 2
)

// redisURLEnv names the environment variable that overrides [redis].url:
// the way to pass a password that ps and /proc must not show.
const redisURLEnv = "CACHEWARM_REDIS_URL"

// redisPoolSize covers the writer's pipelines in flight and the prober.
const redisPoolSize = 8

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// buildVersion is version, or the module version of a go install build.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version // go install …@vX.Y.Z
	}
	return version
}

type flags struct {
	config, redis, report, retryFrom string
	only                             []string
	plain, json, dryRun, version     bool
	exitWhenDone                     bool
	cpuProfile, memProfile           string
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := pflag.NewFlagSet("cachewarm", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", "config.toml", "config file `PATH`")
	fs.StringVar(&f.redis, "redis", "", "Redis `URL`, overriding [redis].url and $"+redisURLEnv+" (redis://, rediss:// or embedded);\na URL with a password belongs in $"+redisURLEnv+": other users can read a command line")
	fs.StringSliceVar(&f.only, "only", nil, "run only these loaders (comma-separated `names`)")
	fs.BoolVar(&f.plain, "plain", false, "headless: progress lines on stderr, a per-loader table on stdout")
	fs.BoolVar(&f.json, "json", false, "headless: NDJSON events on stdout")
	fs.StringVar(&f.report, "report", "", "write the JSON report to `PATH` at the end")
	fs.StringVar(&f.retryFrom, "retry-from", "", "run the rejected and not-started items recorded in `REPORT`")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the keys, URLs and values the first items would give; write nothing")
	fs.BoolVar(&f.exitWhenDone, "exit-when-done", false, "quit the monitor by itself once every item has settled")
	fs.BoolVar(&f.version, "version", false, "print the version and exit")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile to `PATH` (go tool pprof)")
	fs.StringVar(&f.memProfile, "memprofile", "", "write a heap profile to `PATH` at the end")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "cachewarm warms Redis caches and reports every item as fulfilled or rejected.\n\n")
		fmt.Fprintf(stderr, "Usage: cachewarm [flags]\n\nFlags:\n%s\n", fs.FlagUsages())
		fmt.Fprintf(stderr, "Exit codes: 0 every item fulfilled, 1 some rejected or not started, 2 config/usage/start-up error\n(nothing written), 130 interrupted (the report records where to go on: --retry-from).\n")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	if f.plain && f.json {
		return nil, errors.New("--plain and --json are exclusive")
	}
	return f, nil
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	redis.SetLogger(quietLogger{})
	f, err := parseFlags(args, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "cachewarm: %v\n", err)
		return exitUsage
	}
	if f.version {
		fmt.Fprintf(stdout, "cachewarm %s\n", buildVersion())
		return exitOK
	}
	sigs := catchSignals()
	defer sigs.stop()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "cachewarm: %v\n", err)
		return exitUsage
	}
	stopProfiles, err := startProfiles(f.cpuProfile, f.memProfile)
	if err != nil {
		return fail(err)
	}
	defer stopProfiles()

	// The demo's [origin] table and {{origin}} function are the demo's
	// own; the engine's config knows only its extension point.
	ext := demo.NewExtension()
	cfgOpts := ext.Options()
	cfgOpts.Stdin = stdin
	cfg, err := config.LoadConfig(f.config, cfgOpts)
	if err != nil {
		return fail(err)
	}
	secrets := cfg.Secrets()
	fail = func(err error) int {
		fmt.Fprintf(stderr, "cachewarm: %s\n", secrets.Redact(err.Error()))
		return exitUsage
	}
	if err := overrideRedisURL(cfg, f.redis, os.Getenv(redisURLEnv), stderr); err != nil {
		return fail(err)
	}
	if err := cfg.Select(f.only); err != nil {
		return fail(err)
	}
	if f.report != "" {
		// Find out now, not after an hour of warming, that the report
		// cannot be written.
		if err := warmup.CheckReportPath(f.report); err != nil {
			return fail(err)
		}
	}
	var prior *warmup.ReportFile
	if f.retryFrom != "" {
		if prior, err = warmup.OpenReport(f.retryFrom); err != nil {
			return fail(err)
		}
	}

	services, err := startServices(cfg, ext)
	if err != nil {
		return fail(err)
	}
	defer services.Close()

	if f.dryRun {
		if err := warmup.DryRun(cfg, stdout, 3); err != nil {
			return fail(err)
		}
		return exitOK
	}

	ctx := context.Background()
	rdb, err := rediswrite.Connect(ctx, cfg.Redis, redisPoolSize, cfg.Run.Timeout)
	if err != nil {
		return fail(err)
	}
	defer rdb.Close()
	if w := rediswrite.EvictionWarning(ctx, rdb); w != "" {
		fmt.Fprintf(stderr, "cachewarm: %s\n", w)
	}

	// The monitor reads keys from standard input: not when items come from it.
	useTUI := !f.plain && !f.json && !cfg.ReadsStdin() && isTerminal(stdin) && isTerminal(stdout)
	var printer headless.Printer
	if !useTUI {
		if f.json {
			printer = headless.NewJSON(stdout, stderr)
		} else {
			printer = headless.NewPlain(stdout, stderr)
		}
	}
	var opts warmup.Options
	if printer != nil {
		opts = printer.Hooks()
	}
	opts.UserAgent = "cachewarm/" + buildVersion()
	eng := warmup.New(cfg, rdb, opts)
	defer eng.Close()

	if prior != nil {
		if err := eng.StartFrom(prior); err != nil {
			return fail(err)
		}
		for _, n := range eng.Notes() {
			fmt.Fprintf(stderr, "cachewarm: %s\n", secrets.Redact(n))
		}
	} else {
		eng.Start()
	}

	sigs.route(eng, cfg.Run.Timeout)

	if useTUI {
		if err := runTUI(ctx, eng, stdin, stdout, monitorOptions{exitWhenDone: f.exitWhenDone, demo: services.demo()}); err != nil {
			eng.Kill()
			eng.Wait()
			fmt.Fprintf(stderr, "cachewarm: %v\n", secrets.Redact(err.Error()))
		}
		eng.Stop()
		if n := eng.InFlight(); n > 0 {
			fmt.Fprintf(stderr, "cachewarm: stopping: waiting up to %s for %d in-flight items (ctrl+c cuts them short)\n", cfg.Run.Timeout, n)
		}
		eng.Wait()
		// The monitor's screen is gone with it: what --plain prints at
		// the end stays on the terminal as the record of the run.
		printer = headless.NewPlain(stdout, stderr)
	} else {
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { printer.Progress(pctx, eng.Snapshot); close(done) }()
		eng.Wait()
		cancel()
		<-done
	}

	rep := eng.Report()
	code := eng.ExitCode()
	if printer != nil {
		printer.Final(rep)
		if headless.OutputLost(printer.OutputErr()) {
			code = max(code, 1)
		}
	}
	if f.report != "" {
		if err := warmup.WriteReport(f.report, rep); err != nil {
			// Work was done: the exit code must not say "nothing was
			// written", and the report must not be lost.
			fmt.Fprintf(stderr, "cachewarm: %v; the report follows on stderr\n", secrets.Redact(err.Error()))
			_ = warmup.EncodeReport(stderr, rep)
			return max(code, 1)
		}
		if !f.json {
			fmt.Fprintf(stderr, "cachewarm: report written to %s\n", f.report)
		}
	}
	return code
}

// overrideRedisURL applies the Redis URL from the environment, then from
// the --redis flag, over the config's. A password in the flag is
// visible to every user of the machine, so it draws a warning.
func overrideRedisURL(cfg *config.Config, flag, env string, stderr io.Writer) error {
	if env != "" {
		if err := cfg.SetRedisURL(env); err != nil {
			return fmt.Errorf("%s: %w", redisURLEnv, err)
		}
	}
	if flag == "" {
		return nil
	}
	if err := cfg.SetRedisURL(flag); err != nil {
		return fmt.Errorf("--redis: %w", err)
	}
	if u, err := url.Parse(flag); err == nil {
		if _, ok := u.User.Password(); ok {
			fmt.Fprintf(stderr, "cachewarm: warning: the password in --redis can be read by any user of this machine (ps, /proc); set %s instead\n", redisURLEnv)
		}
	}
	return nil
}

// signals are caught from the start of a run: SIGINT, SIGTERM and
// SIGHUP (an ssh session dropping) that arrive before the engine runs
// stop it as soon as it does, instead of killing the process without a
// report. SIGPIPE is ignored: a closed stdout (`| head`) makes writes
// fail instead of killing the run, which then finishes and writes its
// report.
type signals struct {
	ch   chan os.Signal
	quit chan struct{}
}

func catchSignals() *signals {
	s := &signals{ch: make(chan os.Signal, 2), quit: make(chan struct{})}
	signal.Notify(s.ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	signal.Ignore(syscall.SIGPIPE)
	return s
}

// route turns the signals into a graceful stop of eng; a second signal,
// or the timeout passing after the first, ends in-flight attempts at
// once.
func (s *signals) route(eng *warmup.Engine, timeout time.Duration) {
	go func() {
		var deadline <-chan time.Time
		for {
			select {
			case <-s.ch:
				if eng.Stopped() {
					eng.Kill()
					continue
				}
				eng.Stop()
				t := time.NewTimer(timeout + time.Second)
				defer t.Stop()
				deadline = t.C
			case <-deadline:
				eng.Kill()
			case <-s.quit:
				return
			}
		}
	}()
}

func (s *signals) stop() {
	signal.Stop(s.ch)
	close(s.quit)
}

// isTerminal says whether f is a terminal the monitor can drive. A
// character device is not enough: cron's `>/dev/null` is one too.
func isTerminal(f any) bool {
	fd, ok := f.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(fd.Fd()) && !strings.EqualFold(os.Getenv("TERM"), "dumb")
}
