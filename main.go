// Command cachewarm warms Redis caches: it runs every loader of a config
// at once, writes each item into Redis, and reports every item as either
// fulfilled or rejected with a reason, the way Promise.allSettled does.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
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
	"github.com/cachewarm/cachewarm/internal/metrics"
	"github.com/cachewarm/cachewarm/internal/redact"
	"github.com/cachewarm/cachewarm/warmup"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes decided here; the run's own (0 all fulfilled, 1 some
// rejected, 130 interrupted) come from warmup.Engine.ExitCode.
const (
	exitOK          = 0
	exitUsage       = 2
	exitInterrupted = 130
)

// redisURLEnv names the environment variable that overrides [redis].url:
// the way to pass a password that ps and /proc must not show.
const redisURLEnv = "CACHEWARM_REDIS_URL"

// shardEnv gives --shard from the environment; jobIndexEnv is the index
// Kubernetes gives each pod of an Indexed Job, the k of --shards n.
const (
	shardEnv    = "CACHEWARM_SHARD"
	jobIndexEnv = "JOB_COMPLETION_INDEX"
)

// redisPoolSize covers the writer's pipelines in flight and the prober.
const redisPoolSize = 8

func main() {
	// go-redis's logger is its package's: set once here, not by each run
	// (tests call run concurrently).
	redis.SetLogger(quietLogger{})
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr))
}

// lookupEnv is how run reads its environment: os.LookupEnv in main, each
// test's own variables in tests, which then need not share (and
// t.Setenv) the process's environment and can run in parallel.
type lookupEnv func(name string) (string, bool)

// get is the variable's value, "" when unset.
func (l lookupEnv) get(name string) string {
	v, _ := l(name)
	return v
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
	junit                            string
	only                             []string
	plain, json, dryRun, version     bool
	requireHeadroom                  bool
	verify                           bool
	exitWhenDone                     bool
	cpuProfile, memProfile           string
	metricsAddr, pushgateway         string
	shard                            warmup.Shard
	journal                          journalFlags
}

// shardFlags are --shard and --shards as given, before shardFrom reads
// them with the environment.
type shardFlags struct {
	shard  string
	shards int
}

// defineFlags defines the run's flags on fs, the root command's.
func defineFlags(fs *pflag.FlagSet, f *flags, sf *shardFlags) {
	shard, shards := &sf.shard, &sf.shards
	fs.StringVar(&f.config, "config", "config.toml", "config file `PATH`")
	fs.StringVar(&f.redis, "redis", "", "Redis `URL`, overriding [redis].url and $"+redisURLEnv+" (redis://, rediss:// or embedded);\na URL with a password belongs in $"+redisURLEnv+": other users can read a command line")
	fs.StringSliceVar(&f.only, "only", nil, "run only these loaders (comma-separated `names`)")
	fs.BoolVar(&f.plain, "plain", false, "headless: progress lines on stderr, a per-loader table on stdout")
	fs.BoolVar(&f.json, "json", false, "headless: NDJSON events on stdout")
	fs.StringVar(&f.report, "report", "", "write the JSON report to `PATH` at the end")
	fs.BoolVar(&f.requireHeadroom, "require-headroom", false, "refuse to start (exit 2) when the run is estimated to add more than Redis has free\nbelow maxmemory; without it, a warning")
	fs.StringVar(&f.junit, "junit", "", "write a JUnit XML report to `PATH` at the end: one test case per loader, failed with\nits grouped causes, for CI test reports (GitLab, Jenkins, GitHub)")
	fs.StringVar(&f.retryFrom, "retry-from", "", "run the rejected and not-started items recorded in `REPORT`")
	fs.StringVar(&f.journal.path, "journal", "", "keep the run's journal (its ledger, to --resume from after a crash) at `PATH`\n(default $XDG_STATE_HOME/cachewarm/CONFIG-HASH[-shard-K-of-N].journal)")
	fs.BoolVar(&f.journal.off, "no-journal", false, "keep no journal: a crash then leaves nothing to resume from")
	fs.BoolVar(&f.journal.resume, "resume", false, "go on with the run of this config (and shard) that did not end, from its journal")
	fs.BoolVar(&f.journal.new, "fresh", false, "start over, replacing the journal of a run that did not end")
	fs.BoolVar(&f.verify, "verify", false, "after the run (and after each retry), check that every fulfilled item's key is in Redis\nwith its type and a TTL; the ones that are not become rejected items, for --retry-from")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the keys, URLs and values the first items would give; write nothing")
	fs.BoolVar(&f.exitWhenDone, "exit-when-done", false, "quit the monitor by itself once every item has settled")
	fs.StringVar(shard, "shard", "", "run only the items whose key hashes to shard `k/n` (numbered from 0: 0/3, 1/3, 2/3);\nthe shards are disjoint and together the whole set (also $"+shardEnv+")")
	fs.IntVar(shards, "shards", 0, "run shard $"+jobIndexEnv+" of `n` (a Kubernetes Indexed Job)")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on `ADDR`/metrics while running (127.0.0.1:9464)")
	fs.StringVar(&f.pushgateway, "pushgateway", "", "push the final metrics to the Prometheus Pushgateway at `URL` at the end")
	fs.BoolVar(&f.version, "version", false, "print the version and exit")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile to `PATH` (go tool pprof)")
	fs.StringVar(&f.memProfile, "memprofile", "", "write a heap profile to `PATH` at the end")
}

// checkFlags checks the parsed flags together, and reads the shard.
func checkFlags(f *flags, fs *pflag.FlagSet, sf shardFlags, getenv func(string) string) error {
	shard, shards := sf.shard, sf.shards
	if f.plain && f.json {
		return errors.New("--plain and --json are exclusive")
	}
	if fs.Changed("only") && len(f.only) == 0 {
		return errors.New("--only: no loader names given")
	}
	if err := f.journal.check(f.retryFrom); err != nil {
		return err
	}
	if f.dryRun && f.retryFrom != "" {
		return errors.New("--dry-run previews the first items of each source; it does not read --retry-from")
	}
	var err error
	if fs.Changed("shard") && strings.TrimSpace(shard) == "" {
		// An unset $K in --shard "$K" would otherwise run every item in
		// every shard.
		return errors.New("--shard is empty: give k/n (0/3, 1/3, 2/3)")
	}
	f.shard, err = shardFrom(shard, fs.Changed("shards"), shards, getenv)
	return err
}

// shardFrom is this process's shard: --shard, else --shards with the
// Kubernetes job index, else $CACHEWARM_SHARD, else none.
func shardFrom(flag string, indexed bool, n int, getenv func(string) string) (warmup.Shard, error) {
	switch {
	case flag != "" && indexed:
		return warmup.Shard{}, errors.New("--shard and --shards are exclusive")
	case flag != "":
		s, err := warmup.ParseShard(flag)
		if err != nil {
			return s, fmt.Errorf("--shard %w", err)
		}
		return s, nil
	case indexed:
		idx := getenv(jobIndexEnv)
		if idx == "" {
			return warmup.Shard{}, fmt.Errorf("--shards %d takes the shard from $%s, which is not set: use --shard k/%d", n, jobIndexEnv, n)
		}
		k, err := strconv.Atoi(idx)
		if err != nil {
			return warmup.Shard{}, fmt.Errorf("$%s=%q is not a number", jobIndexEnv, idx)
		}
		s, err := warmup.NewShard(k, n)
		if err != nil {
			return s, fmt.Errorf("--shards %d with $%s=%d: %w", n, jobIndexEnv, k, err)
		}
		return s, nil
	}
	if env := getenv(shardEnv); env != "" {
		s, err := warmup.ParseShard(env)
		if err != nil {
			return s, fmt.Errorf("$%s=%w", shardEnv, err)
		}
		return s, nil
	}
	return warmup.Shard{}, nil
}

// run is the command with its arguments, its environment (env, for every
// variable it reads, ${VAR} in the config included) and its standard
// streams; it returns the exit status.
func run(args []string, env lookupEnv, stdin io.Reader, stdout, stderr io.Writer) int {
	getenv := env.get
	f, code := parseCommand(args, getenv, stdout, stderr)
	if f == nil {
		return code // a subcommand, help, or a usage error
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
	cfgOpts.Getenv = env
	cfgOpts.RedisURLReplaced = f.redis != "" || getenv(redisURLEnv) != ""
	// A SQL loader's query runs now, up to its first row.
	cfgOpts.Context = sigs.startup
	if err := checkConfigExists(f.config); err != nil {
		return fail(err)
	}
	cfg, err := config.LoadConfig(f.config, cfgOpts)
	if err != nil && sigs.startup.Err() != nil {
		fmt.Fprintf(stderr, "cachewarm: interrupted before any work\n")
		return exitInterrupted
	}
	if err != nil {
		return fail(err)
	}
	secrets := cfg.Secrets()
	fail = func(err error) int {
		fmt.Fprintf(stderr, "cachewarm: %s\n", secrets.Redact(err.Error()))
		return exitUsage
	}
	// What a run says beside its outcome: on stderr, or in --json as
	// notice events, so that stderr stays empty for a run that works.
	warn, jsonOut := notices(f, stdout, stderr)
	if err := overrideRedisURL(cfg, f.redis, getenv(redisURLEnv), warn); err != nil {
		return fail(err)
	}
	if err := cfg.Select(f.only); err != nil {
		return fail(err)
	}
	if f.report != "" {
		// Find out now, not after an hour of warming, that the report
		// cannot be written.
		if err := warmup.CheckReportPath(f.report, cfg.Files()...); err != nil {
			return fail(err)
		}
	}
	if err := checkJUnitPath(f, cfg.Files()); err != nil {
		return fail(err)
	}
	report := ""
	if !f.dryRun {
		report = keptReport(f, cfg, getenv, warn)
	}
	var prior *warmup.ReportFile
	if f.retryFrom != "" {
		if prior, err = warmup.OpenReport(f.retryFrom); err != nil {
			return fail(err)
		}
		if err := checkRetryTarget(cfg, prior.Report, cfgOpts.RedisURLReplaced); err != nil {
			return fail(fmt.Errorf("--retry-from %s: %w", f.retryFrom, err))
		}
		// A shard's report goes on as the same shard, named or not.
		if sh := prior.Report.Shard; sh != nil && !f.shard.Set() {
			f.shard = *sh
		}
	}

	var jnl *openedJournal
	started := false
	if !f.dryRun {
		f.journal.retryFrom = f.retryFrom
		if jnl, err = openJournal(f.journal, cfg, f.shard, getenv, warn); err != nil {
			return fail(err)
		}
		if jnl.j != nil {
			defer func() {
				if !started {
					jnl.discard()
				}
			}()
		}
	}

	services, err := startServices(cfg, ext)
	if err != nil {
		return fail(err)
	}
	defer services.Close()

	if f.dryRun {
		out := headless.NewOutput(stdout, stderr)
		if err := warmup.DryRun(cfg, out, 3); err != nil {
			return fail(err)
		}
		if headless.OutputLost(out.Err()) {
			return 1
		}
		return exitOK
	}

	obs, err := startObserver(sigs.startup, f, cfg.Path)
	if err != nil {
		return fail(err)
	}
	defer obs.close()
	if w := metrics.ExposureWarning(f.metricsAddr); w != "" {
		fmt.Fprintf(warn, "cachewarm: warning: %s\n", w)
	}

	var rdb *rediswrite.Target
	err = untilSignal(sigs.startup, func() (err error) {
		rdb, err = rediswrite.ConnectWaiting(sigs.startup, cfg.Redis, redisPoolSize, cfg.Run.Timeout, cfg.Run.RedisWait, func(cause string) {
			fmt.Fprintf(warn, "cachewarm: waiting for Redis (up to %s, run.redis_wait): %s\n", cfg.Run.RedisWait, cause)
		})
		return err
	})
	if errors.Is(err, errInterrupted) {
		fmt.Fprintf(stderr, "cachewarm: interrupted before any work\n")
		return exitInterrupted
	}
	if err != nil {
		return fail(err)
	}
	defer rdb.Close()
	if w := rediswrite.EvictionWarning(sigs.startup, rdb); w != "" {
		fmt.Fprintf(warn, "cachewarm: %s\n", w)
	}
	if err := checkHeadroom(sigs.startup, f, cfg, rdb, warn); err != nil {
		return fail(err)
	}

	// The monitor reads keys from standard input: not when items come from it.
	useTUI := !f.plain && !f.json && !cfg.ReadsStdin() && isTerminal(stdin, getenv) && isTerminal(stdout, getenv)
	var printer headless.Printer
	if !useTUI {
		if f.json {
			printer = jsonOut
		} else {
			printer = headless.NewPlain(stdout, stderr)
		}
	}
	var opts warmup.Options
	if printer != nil {
		opts = printer.Hooks()
	}
	opts.UserAgent = "cachewarm/" + buildVersion()
	opts.Shard = f.shard
	opts.Verify = f.verify
	opts.Journal = jnl.j
	// In the monitor, Redis down past redis_wait holds the run for r and
	// R; --plain and --json end as before.
	opts.HoldOnRedisWait = useTUI
	eng := warmup.New(cfg, rdb, opts)
	defer eng.Close()

	if prior != nil {
		if err := eng.StartFrom(prior); err != nil {
			return fail(err)
		}
		for _, n := range eng.Notes() {
			fmt.Fprintf(warn, "cachewarm: %s\n", secrets.Redact(n))
		}
	} else if jnl.replay != nil {
		if err := eng.StartResumed(jnl.replay); err != nil {
			return fail(fmt.Errorf("--resume: %w", err))
		}
		if err := jnl.commit(); err != nil {
			return fail(fmt.Errorf("--resume: %w", err))
		}
	} else {
		eng.Start()
	}
	started = true
	obs.serve(eng)

	sigs.route(eng, cfg.Run.Timeout)
	ctx := context.Background()

	if useTUI {
		err := runTUI(ctx, eng, stdin, stdout, monitorOptions{exitWhenDone: f.exitWhenDone, demo: services.demo()})
		if errors.Is(err, errTerminalLost) {
			// As for SIGHUP: stop gracefully, and write the report.
			fmt.Fprintf(stderr, "cachewarm: %v: stopping\n", err)
		} else if err != nil {
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

	return finishRun(f, eng, printer, report, secrets, obs, stderr, warn)
}

// checkHeadroom estimates what the run adds to Redis against what Redis
// has free below maxmemory: a warning when it does not fit, an error
// with --require-headroom. A shard adds its share; a --retry-from run
// is not estimated.
func checkHeadroom(ctx context.Context, f *flags, cfg *config.Config, rdb *rediswrite.Target, stderr io.Writer) error {
	if f.retryFrom != "" {
		// The estimate reads the sources from their start: a retry runs
		// only what the report left, and would be overestimated.
		return nil
	}
	h, err := warmup.EstimateHeadroom(ctx, cfg, rdb)
	if err != nil {
		if f.requireHeadroom {
			return fmt.Errorf("--require-headroom: %w", err)
		}
		return nil
	}
	if f.shard.Set() {
		h.Adds, h.Keys = h.Adds/int64(f.shard.N), h.Keys/int64(f.shard.N)
	}
	msg := h.Shortfall()
	switch {
	case msg == "":
	case f.requireHeadroom:
		return fmt.Errorf("--require-headroom: %s", msg)
	default:
		fmt.Fprintf(stderr, "cachewarm: warning: %s (--require-headroom refuses such a run)\n", msg)
	}
	return nil
}

// checkJUnitPath finds out before any work that --junit's file can be
// written, and is not the --report's.
func checkJUnitPath(f *flags, inputs []string) error {
	if f.junit == "" {
		return nil
	}
	if f.report != "" && filepath.Clean(f.junit) == filepath.Clean(f.report) {
		return fmt.Errorf("--junit %s: is the --report file too; choose another path", f.junit)
	}
	return warmup.CheckOutputPath("--junit", f.junit, inputs...)
}

// shellWord is s as one word of a shell command: quoted when it holds
// anything but letters, digits and -_./:=@+,.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeJUnit writes the --junit file, when asked: its exit status is 1
// when it could not be written, the report having been.
func writeJUnit(f *flags, rep *warmup.Report, report string, secrets *config.Redactor, stderr io.Writer) int {
	if f.junit == "" {
		return 0
	}
	retry := ""
	if report != "" {
		retry = retryCommand(f, report)
	}
	if err := warmup.WriteJUnit(f.junit, rep, retry); err != nil {
		fmt.Fprintf(stderr, "cachewarm: %v\n", secrets.Redact(err.Error()))
		return 1
	}
	if !f.json {
		fmt.Fprintf(stderr, "cachewarm: JUnit report written to %s\n", f.junit)
	}
	return 0
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
	if len(redact.URLSecrets(flag)) > 0 {
		fmt.Fprintf(stderr, "cachewarm: warning: the password in --redis can be read by any user of this machine (ps, /proc); set %s instead\n", redisURLEnv)
	}
	return nil
}

// signals are caught from the start of a run: SIGINT, SIGTERM and
// SIGHUP (an ssh session dropping). Before the engine runs, the first one
// ends the start-up's waits (a Redis that does not answer) at once; one
// that arrives between those waits and the engine's start stops the
// engine as soon as it runs, instead of killing the process without a
// report. SIGPIPE is ignored: a closed stdout (`| head`) makes writes
// fail instead of killing the run, which then finishes and writes its
// report.
type signals struct {
	ch      chan os.Signal
	engines chan routed
	quit    chan struct{}
	// startup is cancelled by the first signal.
	startup context.Context
	cancel  context.CancelFunc
}

// routed is an engine for the signals to stop, and its run's timeout.
type routed struct {
	eng     *warmup.Engine
	timeout time.Duration
}

func catchSignals() *signals {
	s := &signals{ch: make(chan os.Signal, 2), engines: make(chan routed), quit: make(chan struct{})}
	s.startup, s.cancel = context.WithCancel(context.Background())
	signal.Notify(s.ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	signal.Ignore(syscall.SIGPIPE)
	go s.loop()
	return s
}

// route turns the signals into a graceful stop of eng; a second signal,
// or the timeout passing after the first, ends in-flight attempts at
// once.
func (s *signals) route(eng *warmup.Engine, timeout time.Duration) {
	s.engines <- routed{eng, timeout}
}

func (s *signals) loop() {
	var r routed
	var early int
	var deadline <-chan time.Time
	stop := func() {
		if r.eng.Stopped() {
			r.eng.Kill()
			return
		}
		r.eng.Stop()
		deadline = time.After(r.timeout + time.Second)
	}
	for {
		select {
		case <-s.ch:
			s.cancel()
			if r.eng == nil {
				early++
				continue
			}
			stop()
		case r = <-s.engines:
			for ; early > 0; early-- {
				stop()
			}
		case <-deadline:
			r.eng.Kill()
		case <-s.quit:
			return
		}
	}
}

// errInterrupted is untilSignal's error when a signal came first.
var errInterrupted = errors.New("interrupted")

// untilSignal runs wait, but returns errInterrupted as soon as ctx, the
// signals' start-up context, ends: a blocking read from a Redis that
// answers nothing does not see a cancelled context, only its deadline.
func untilSignal(ctx context.Context, wait func() error) error {
	done := make(chan error, 1)
	go func() { done <- wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return errInterrupted
	}
}

func (s *signals) stop() {
	signal.Stop(s.ch)
	s.cancel()
	close(s.quit)
}

// isTerminal says whether f is a terminal the monitor can drive. A
// character device is not enough: cron's `>/dev/null` is one too.
func isTerminal(f any, getenv func(string) string) bool {
	fd, ok := f.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(fd.Fd()) && !strings.EqualFold(getenv("TERM"), "dumb")
}
