package demo

import (
	"errors"
	"sync/atomic"
	"text/template"
	"time"

	"github.com/cachewarm/cachewarm/warmup/config"
)

// OriginConfig describes the simulated HTTP origin a config asks for with
// [origin] simulate = true. Fetch URLs reach it through the {{origin}}
// template function.
type OriginConfig struct {
	Seed int64
	// Latency is the typical response time; responses vary around it.
	Latency time.Duration
	// Transient is the share of items (0..1) that fail with a 503 or a
	// hang on their first attempts and succeed when retried.
	Transient float64
	// Permanent is the share of items (0..1) that always answer 404.
	Permanent float64
	// FailAttempts is how many requests for a transient item fail before
	// it succeeds: by default 1 + run.retries, so the item is rejected
	// by the run and fulfilled by a retry.
	FailAttempts int
	// Hot maps a path prefix to a higher transient failure share, so one
	// loader can fail more than the others.
	Hot map[string]float64
}

// Defaults of the [origin] table.
const (
	defaultLatency   = 60 * time.Millisecond
	defaultTransient = 0.1
	defaultPermanent = 0.01
)

// originTable is the [origin] table as written.
type originTable struct {
	Simulate     bool               `toml:"simulate"`
	Seed         int64              `toml:"seed"`
	Latency      any                `toml:"latency"`
	Transient    *float64           `toml:"transient"`
	Permanent    *float64           `toml:"permanent"`
	Hot          map[string]float64 `toml:"hot"`
	FailAttempts *int64             `toml:"fail_attempts"`
}

// Extension is the demo's part of a config file: the [origin] table and
// the {{origin}} template function. Pass its Options to config.LoadConfig,
// then start the origin with StartOrigin. One Extension serves one config.
type Extension struct {
	origin *OriginConfig
	// url is where the started origin listens. Templates that call
	// {{origin}} are parsed before it starts and render after, from the
	// engine's goroutines, so it is read at render time.
	url atomic.Pointer[string]
}

// NewExtension returns an extension that has read no config yet.
func NewExtension() *Extension { return &Extension{} }

// Options returns the config options that teach a config the [origin]
// table and the {{origin}} function. Set Getenv on the result to look
// ${VAR} up elsewhere than the environment.
func (x *Extension) Options() config.Options {
	return config.Options{
		Funcs:  template.FuncMap{"origin": x.originURL},
		Tables: map[string]func(*config.Table) error{"origin": x.readOrigin},
	}
}

// Origin returns the simulated origin the config asks for, or nil when it
// asks for none. Changes made to it before StartOrigin are used (tests
// take the latency out).
func (x *Extension) Origin() *OriginConfig { return x.origin }

// StartOrigin starts the simulated origin the config asks for and points
// {{origin}} at it. It returns nil, nil when the config asks for none.
func (x *Extension) StartOrigin() (*Origin, error) {
	if x.origin == nil {
		return nil, nil
	}
	o, err := StartOrigin(*x.origin)
	if err != nil {
		return nil, err
	}
	u := o.URL()
	x.url.Store(&u)
	return o, nil
}

// originURL is the {{origin}} template function.
func (x *Extension) originURL() (string, error) {
	if u := x.url.Load(); u != nil {
		return *u, nil
	}
	return "", errors.New("{{origin}} needs [origin] simulate = true")
}

// readOrigin reads and checks the [origin] table. Every key is checked
// against the table's fields even when simulate is false, so a typo never
// goes unnoticed.
func (x *Extension) readOrigin(t *config.Table) error {
	var raw originTable
	if err := t.Decode(&raw); err != nil {
		return err
	}
	if !raw.Simulate {
		x.origin = nil
		return nil
	}
	oc := &OriginConfig{
		Seed:      raw.Seed,
		Transient: valueOr(raw.Transient, defaultTransient),
		Permanent: valueOr(raw.Permanent, defaultPermanent),
		Hot:       raw.Hot,
		// Transient items fail one attempt more than the run makes, so
		// the run rejects them and a retry fulfils them.
		FailAttempts: 1 + t.Config().Run.Retries,
	}
	var err error
	if oc.Latency, err = t.Duration("latency", raw.Latency, defaultLatency); err != nil {
		return err
	}
	if raw.FailAttempts != nil {
		oc.FailAttempts = int(*raw.FailAttempts)
	}
	// The rules StartOrigin starts by, checked here so that a problem
	// names its line, once, before anything starts.
	if ps := oc.problems(); len(ps) > 0 {
		return t.Errorf(ps[0].key, "%s", ps[0].msg)
	}
	x.origin = oc
	return nil
}

// valueOr is *p, or def when p is nil.
func valueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
