package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/cachewarm/cachewarm/internal/redact"
	"github.com/cachewarm/cachewarm/internal/weburl"
	"github.com/cachewarm/cachewarm/warmup/fetch"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// Config is a validated cachewarm configuration.
type Config struct {
	// Path is the file the config was read from.
	Path    string
	Redis   RedisConfig
	Run     RunConfig
	Loaders []*Loader

	secrets *Redactor
}

// RedisConfig says where to write.
type RedisConfig struct {
	// URL is redis://, rediss://, redis+sentinel:// or "embedded" (an
	// in-process Redis).
	URL string
	// Cluster asks for a cluster client even before the server says it
	// is one (cluster = true); a server with cluster_enabled:1 gets one
	// anyway.
	Cluster bool
	// Addrs are cluster seed nodes (host:port); they imply Cluster, and
	// the URL then gives only the scheme and credentials.
	Addrs []string
	// Sentinel, when set, finds the master through Redis Sentinel: from
	// a redis+sentinel:// URL or the sentinel table.
	Sentinel *SentinelConfig
	// Password, when set, overrides the URL's password (password_file).
	Password string
	// SentinelUsername and SentinelPassword are the sentinels' own
	// credentials (sentinel_username, sentinel_password_file), when they
	// ask for any: the URL's are the master's.
	SentinelUsername, SentinelPassword string
	// TLS settings for rediss:// URLs: CA file, client certificate and
	// key, and the explicit opt-in to skip verification.
	TLSCA, TLSCert, TLSKey string
	TLSInsecureSkipVerify  bool
	// Pipeline is the most commands sent in one pipeline (0: the
	// writer's default, sized for throughput).
	Pipeline int
}

// SentinelConfig names a master that Redis Sentinel watches.
type SentinelConfig struct {
	// Master is the name the sentinels know the master by.
	Master string
	// Addrs are the sentinels (host:port).
	Addrs []string
	// DB is the database written to on the master.
	DB int
}

// RunConfig holds the run-wide limits.
type RunConfig struct {
	// Concurrency bounds the requests in flight to origins, across all
	// loaders. It does not set how deep Redis pipelines are.
	Concurrency int
	Timeout     time.Duration
	Retries     int
	Backoff     time.Duration
	TTL         time.Duration
	// TTLJitter is run.ttl_jitter, the loaders' default (see Jitter).
	TTLJitter Jitter
	// RedisWait is how long the run waits for an unavailable Redis before
	// it stops the way an interrupt does.
	RedisWait time.Duration
	// MaxBody is the largest fetched body accepted, in bytes.
	MaxBody int64
	// Adaptive is run.adaptive, the loaders' default for fetch.adaptive.
	Adaptive bool
}

// MaxRetries is the largest run.retries accepted: with the backoff
// doubling up to its cap, 100 retries already wait over an hour.
const MaxRetries = 100

// MaxConcurrency is the largest run.concurrency accepted: beyond it a
// typo, not a plan, is the likelier reason.
const MaxConcurrency = 10000

// Loader is one validated [[loader]] table.
type Loader struct {
	Name  string
	Items source.Spec
	// Key renders the Redis key from an item.
	Key   *Template
	Fetch *FetchSpec
	// Hosts are the hosts ("host" or "host:port"), besides its sitemap's
	// own, that a sitemap loader's child sitemaps and fetched <loc>s may
	// be on (hosts = [...]); see FetchHosts.
	Hosts []string
	TTL   time.Duration
	// TTLJitter spreads the TTL: each key's is drawn in TTL ± TTLJitter
	// from its name (see KeyTTL); 0 writes every key with TTL.
	TTLJitter time.Duration
	// Mode says which keys are written: all (ModeOverwrite), only absent
	// ones (ModeMissing), or absent ones and those with less than
	// ExpireBelow left (ModeExpiring).
	Mode        Mode
	ExpireBelow time.Duration
	// Concurrency is the loader's own cap (0 = only the shared limit).
	Concurrency int
	// Rate is the most items started per second (0 = unlimited).
	Rate float64
	// Type is the Redis type written: TypeString (SET) or TypeHash
	// (the value's JSON object fields, HSET).
	Type string
	// Value, when set, renders what is stored from the item and the
	// fetched body ({{.item.id}}, {{.body.data}}); nil stores the body,
	// or the item when nothing is fetched.
	Value *Template
}

// The types a loader can write.
const (
	TypeString = "string"
	TypeHash   = "hash"
)

// FetchSpec is the optional HTTP GET of each item.
type FetchSpec struct {
	URL     *Template
	Headers map[string]string
	// Private names the headers a redirect to another host does not
	// carry: credential-like names and values expanded from ${VAR}.
	Private map[string]bool
	// AllowEmpty accepts an empty body (a 204, or a 200 with nothing in
	// it) as the value to write; by default it rejects the item.
	AllowEmpty bool
	// Adaptive lets the concurrency per origin (host:port) adapt to how
	// the origin copes, under the loader's and the run's concurrency
	// (fetch.adaptive, or run.adaptive); see fetch.Limiter.
	Adaptive bool
}

// rawConfig mirrors the TOML file; it is decoded strictly, then validated.
type rawConfig struct {
	Redis struct {
		URL                   string   `toml:"url"`
		PasswordFile          string   `toml:"password_file"`
		SentinelUsername      string   `toml:"sentinel_username"`
		SentinelPasswordFile  string   `toml:"sentinel_password_file"`
		TLSCA                 string   `toml:"tls_ca"`
		TLSCert               string   `toml:"tls_cert"`
		TLSKey                string   `toml:"tls_key"`
		TLSInsecureSkipVerify bool     `toml:"tls_insecure_skip_verify"`
		Pipeline              *int64   `toml:"pipeline"`
		Cluster               bool     `toml:"cluster"`
		Addrs                 []string `toml:"addrs"`
		Sentinel              *struct {
			Master string   `toml:"master"`
			Addrs  []string `toml:"addrs"`
			DB     *int64   `toml:"db"`
		} `toml:"sentinel"`
	} `toml:"redis"`
	Run struct {
		Concurrency *int64 `toml:"concurrency"`
		Timeout     any    `toml:"timeout"`
		Retries     *int64 `toml:"retries"`
		Backoff     any    `toml:"backoff"`
		TTL         any    `toml:"ttl"`
		TTLJitter   any    `toml:"ttl_jitter"`
		RedisWait   any    `toml:"redis_wait"`
		MaxBody     any    `toml:"max_body"`
		Adaptive    bool   `toml:"adaptive"`
	} `toml:"run"`
	Loader []rawLoader `toml:"loader"`
}

type rawLoader struct {
	Name string `toml:"name"`
	// Items is decoded into the shape the source kinds register
	// (source.Registry.Shape): each kind owns its keys.
	Items any    `toml:"items"`
	Key   string `toml:"key"`
	Fetch *struct {
		URL        string            `toml:"url"`
		Headers    map[string]string `toml:"headers"`
		AllowEmpty bool              `toml:"allow_empty"`
		Adaptive   *bool             `toml:"adaptive"`
	} `toml:"fetch"`
	Hosts []string `toml:"hosts"`

	TTL         any    `toml:"ttl"`
	TTLJitter   any    `toml:"ttl_jitter"`
	Mode        string `toml:"mode"`
	ExpireBelow any    `toml:"expire_below"`
	Concurrency *int64 `toml:"concurrency"`
	Rate        string `toml:"rate"`
	Type        string `toml:"type"`
	Value       string `toml:"value"`
}

// ConfigError is a problem with the configuration, found before any work
// starts. Its message names the file, the line and the full key path
// (config.toml:12: loader[2].fetch.url: …), whichever form of TOML wrote
// the key.
type ConfigError struct {
	File string
	Line int // 0 when unknown
	Path string
	Msg  string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// LoadConfig reads, decodes and validates the config at path, extended by
// opts (the zero Options for a plain config).
func LoadConfig(path string, opts Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{File: path, Msg: source.FileErr(err)}
	}
	return ParseConfig(path, data, opts)
}

// ParseConfig decodes and validates config text, extended by opts; path
// names the file in errors and anchors relative item paths.
func ParseConfig(path string, data []byte, opts Options) (*Config, error) {
	// A byte order mark some editors write is not TOML.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if err := opts.check(); err != nil {
		return nil, err
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.LookupEnv
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	v := &validator{
		path: path, data: data, pos: parsePositions(data), getenv: getenv, secrets: &Redactor{},
		funcs: templateFuncs(opts.Funcs), tables: opts.Tables, stdin: opts.Stdin,
		redisURLReplaced: opts.RedisURLReplaced, ctx: ctx, kinds: source.Kinds(),
	}
	var raw rawConfig
	err := decodeRaw(data, v.kinds.Shape(), &raw)
	// Extension tables are unknown to rawConfig; their owners decode them.
	if err = v.decodeError(err, func(top string) bool { return opts.Tables[top] == nil }); err != nil {
		return nil, err
	}
	cfg := v.config(&raw)
	if v.err != nil {
		return nil, v.err
	}
	return cfg, nil
}

// decodeError turns the error of a strict decode into a *ConfigError
// naming the full path and line it is about. Unknown keys whose top-level
// name keep refuses (another decoder's table) are dropped; nil is
// returned when nothing else is left.
func (v *validator) decodeError(err error, keep func(top string) bool) error {
	if err == nil {
		return nil
	}
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		for i := range strict.Errors {
			e := &strict.Errors[i]
			row, _ := e.Position()
			if path := v.pathOf(e); keep(topName(path)) {
				return &ConfigError{File: v.path, Line: row, Path: path, Msg: "unknown key"}
			}
		}
		return nil
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		path, msg := v.pathOf(de), decodeMessage(de)
		if path == "" {
			msg = fmt.Sprintf("column %d: %s", col, msg)
		}
		return &ConfigError{File: v.path, Line: row, Path: path, Msg: msg}
	}
	return &ConfigError{File: v.path, Msg: err.Error()}
}

// pathOf returns the full path a decode error is about. The decoder's
// own key drops array indices and the parents of inline tables
// (loader.sql for items = { sql = … }), so the key written at the error's
// position is preferred.
func (v *validator) pathOf(e *toml.DecodeError) string {
	if p := v.pos.at(e.Position()); p != "" {
		return p
	}
	return strings.Join(e.Key(), ".")
}

// decodeMessage words a decode error for the config's reader: a type
// mismatch names the kinds of value, not the Go types decoded into.
func decodeMessage(e *toml.DecodeError) string {
	msg := strings.TrimPrefix(e.Error(), "toml: ")
	rest, ok := strings.CutPrefix(msg, "cannot decode TOML ")
	if !ok {
		return msg
	}
	kind, target, ok := strings.Cut(rest, " into ")
	if !ok || kind == "" {
		return msg
	}
	if i := strings.LastIndex(target, " of type "); i >= 0 {
		target = target[i+len(" of type "):]
	}
	want := valueKind(target)
	if want == "" {
		return fmt.Sprintf("a TOML %s is not allowed here", kind)
	}
	article := "a"
	if strings.ContainsRune("aeiou", rune(kind[0])) {
		article = "an"
	}
	return fmt.Sprintf("must be %s, not %s %s", want, article, kind)
}

// valueKind names the values a Go type accepts, or "" for a type it
// cannot tell.
func valueKind(goType string) string {
	t := strings.TrimPrefix(goType, "*")
	switch {
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "struct "):
		return "a table"
	}
	return ""
}

type validator struct {
	path string
	data []byte
	// pos knows the line of every key path of data.
	pos     *positions
	getenv  func(string) (string, bool)
	secrets *Redactor
	// funcs are the template functions: the built-in ones and the
	// caller's.
	funcs  template.FuncMap
	tables map[string]func(*Table) error
	// stdin is what a file "-" reads; stdinLoader is the loader that
	// reads it, when one does.
	stdin io.Reader
	// redisURLReplaced is Options.RedisURLReplaced.
	redisURLReplaced bool
	// ctx is Options.Context.
	ctx         context.Context
	stdinLoader int
	// kinds are the source kinds an items table may name.
	kinds *source.Registry
	err   error
}

func (v *validator) fail(path, format string, args ...any) {
	if v.err == nil {
		v.err = &ConfigError{File: v.path, Line: v.pos.line(path), Path: path, Msg: fmt.Sprintf(format, args...)}
	}
}

// file resolves a path against the config file's folder.
func (v *validator) file(f string) string {
	if f == "" || filepath.IsAbs(f) {
		return f
	}
	return filepath.Join(filepath.Dir(v.path), f)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand replaces ${VAR} from the environment. When secret is true the
// values it brings in are redacted from every output.
func (v *validator) expand(path, s string, secret bool) string {
	return v.expandWith(path, s, secret, nil)
}

// expandTemplate is expand for a template's text: a value from the
// environment is text there, never template code ("{{" in a token is
// written as it is, not run).
func (v *validator) expandTemplate(path, s string, secret bool) string {
	return v.expandWith(path, s, secret, escapeActions)
}

// escapeActions writes s as template text that renders s: each "{{" as
// an action printing it.
func escapeActions(s string) string {
	return strings.ReplaceAll(s, "{{", `{{"{{"}}`)
}

// expandWith is expand, each value passed through text (when not nil)
// before it is put in s.
func (v *validator) expandWith(path, s string, secret bool, text func(string) string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return envRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := ref[2 : len(ref)-1]
		val, ok := v.getenv(name)
		if !ok {
			v.fail(path, "environment variable %s is not set%s", name, unsetFix(path, name, s))
			return ""
		}
		if secret {
			v.secrets.Add(val)
		}
		if text != nil {
			return text(val)
		}
		return val
	})
}

// expandURL is expand for a URL (or URL template) s: a value expanded
// into its user info, before the authority's last literal '@', is
// percent-encoded as url.UserPassword does, so a password holding '@',
// ':' or '/' works and cannot move the host the URL names. Both forms of
// the value are secrets.
func (v *validator) expandURL(path, s string, text func(string) string) string {
	end := userinfoEnd(s)
	if end < 0 || !strings.Contains(s[:end], "${") {
		return v.expandWith(path, s, true, text)
	}
	user := envRef.ReplaceAllStringFunc(s[:end], func(ref string) string {
		val := v.expand(path, ref, true)
		enc := url.User(val).String()
		v.secrets.Add(enc)
		return enc
	})
	return user + v.expandWith(path, s[end:], true, text)
}

// userinfoEnd is the index of the last literal '@' in the authority of
// the URL (template) s, or -1 when its literal text names no user info.
// The authority ends at the first '/', '?', '#' or action after "://".
func userinfoEnd(s string) int {
	i := strings.Index(s, "://")
	if i < 0 {
		return -1
	}
	auth := s[i+3:]
	if j := strings.Index(auth, "{{"); j >= 0 {
		auth = auth[:j]
	}
	if j := strings.IndexAny(auth, "/?#"); j >= 0 {
		auth = auth[:j]
	}
	at := strings.LastIndex(auth, "@")
	if at < 0 {
		return -1
	}
	return i + 3 + at
}

// unsetFix is the fix for an unset ${name} in the value s at path.
func unsetFix(path, name, s string) string {
	if path == "redis.url" && s == "${"+name+"}" {
		return fmt.Sprintf(": export %s=redis://HOST:6379/0, or give --redis URL", name)
	}
	return fmt.Sprintf(": export %s before running cachewarm", name)
}

// integer returns *val, or def when it is not set; a value below least
// is a config error.
func (v *validator) integer(path string, val *int64, def, least int) int {
	if val == nil {
		return def
	}
	if *val < int64(least) {
		if least == 0 {
			v.fail(path, "must be 0 or more, got %d", *val)
		} else {
			v.fail(path, "must be at least %d, got %d", least, *val)
		}
		return def
	}
	return int(*val)
}

func (v *validator) duration(path string, val any, def time.Duration, allowZero bool) time.Duration {
	if val == nil {
		return def
	}
	var d time.Duration
	switch x := val.(type) {
	case int64:
		if x != 0 {
			v.fail(path, "duration %d needs a unit, e.g. \"%ds\"", x, x)
			return def
		}
	case string:
		s := v.expand(path, x, false)
		if s == "0" {
			break
		}
		var err error
		d, err = time.ParseDuration(s)
		if err != nil {
			v.fail(path, "invalid duration %q (use e.g. \"250ms\", \"10s\", \"1h\")", s)
			return def
		}
	default:
		v.fail(path, "duration must be a string such as \"10s\", not %T", val)
		return def
	}
	if d < 0 || (d == 0 && !allowZero) {
		v.fail(path, "duration must be positive")
		return def
	}
	return d
}

// ttl reads a key TTL: 0 for none, else at least a millisecond, the
// finest TTL Redis keeps (a shorter one would expire before anyone read
// the key, yet count as fulfilled).
func (v *validator) ttl(path string, val any, def time.Duration) time.Duration {
	d := v.duration(path, val, def, true)
	if d > 0 && d < time.Millisecond {
		v.fail(path, "at least 1ms, or \"0\" for no expiry, got %s", d)
	}
	return d
}

// size reads a byte size: an integer, or a string such as "64MiB",
// "512KiB", "1GiB", "100MB". It must be between 1 and most.
func (v *validator) size(path string, val any, def, most int64) int64 {
	if val == nil {
		return def
	}
	var n int64
	switch x := val.(type) {
	case int64:
		n = x
	case string:
		var err error
		if n, err = parseSize(v.expand(path, x, false)); err != nil {
			v.fail(path, "%v", err)
			return def
		}
	default:
		v.fail(path, "size must be a string such as \"64MiB\" or a number of bytes, not %T", val)
		return def
	}
	if n < 1 || n > most {
		v.fail(path, "must be between 1 byte and %s, got %d bytes", fmtSize(most), n)
		return def
	}
	return n
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}

func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q (use e.g. \"64MiB\", \"512KiB\")", s)
	}
	return n * mult, nil
}

func fmtSize(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// secretFile reads the secret in the file at path (key names it in
// errors), without its trailing newline, and keeps it out of every
// output; "" when path is.
func (v *validator) secretFile(key, path string) string {
	if path == "" {
		return ""
	}
	data, err := os.ReadFile(v.file(v.expand(key, path, false)))
	if err != nil {
		v.fail(key, "%s: the file holds the password, on one line: write it, or fix the path", source.FileErr(err))
		return ""
	}
	secret := strings.TrimRight(string(data), "\r\n")
	if secret == "" {
		v.fail(key, "the file is empty")
	}
	v.secrets.Add(secret)
	return secret
}

func (v *validator) config(raw *rawConfig) *Config {
	cfg := &Config{Path: v.path, secrets: v.secrets}
	if !v.redisURLReplaced {
		cfg.Redis.URL = v.expandURL("redis.url", raw.Redis.URL, nil)
	}
	if st := raw.Redis.Sentinel; st != nil {
		if cfg.Redis.URL != "" {
			v.fail("redis.sentinel", "set either url or sentinel, not both (a password goes in password_file)")
		}
		sc := &SentinelConfig{Master: st.Master, Addrs: st.Addrs, DB: v.integer("redis.sentinel.db", st.DB, 0, 0)}
		switch err := checkHostPorts(sc.Addrs); {
		case sc.Master == "":
			v.fail("redis.sentinel.master", "names the master the sentinels watch, and is missing")
		case err != nil:
			v.fail("redis.sentinel.addrs", "%s", err)
		}
		// The URL form is what is shown and recorded; one parser reads it.
		cfg.Redis.URL = sentinelURL(sc)
	}
	switch {
	case cfg.Redis.URL == "" && len(raw.Redis.Addrs) > 0:
		// What is shown and recorded names the first seed, not a server
		// nobody asked for.
		cfg.Redis.URL = "redis://" + raw.Redis.Addrs[0]
	case cfg.Redis.URL == "":
		cfg.Redis.URL = "redis://127.0.0.1:6379/0"
	}
	if cfg.Redis.URL != "embedded" {
		if err := cfg.Redis.setURL(cfg.Redis.URL, v.secrets); err != nil {
			v.fail("redis.url", "%s", v.secrets.Redact(err.Error()))
		}
	}
	if len(raw.Redis.Addrs) > 0 {
		if err := checkHostPorts(raw.Redis.Addrs); err != nil {
			v.fail("redis.addrs", "%s", err)
		}
		cfg.Redis.Addrs = raw.Redis.Addrs
	}
	cfg.Redis.Cluster = raw.Redis.Cluster || len(cfg.Redis.Addrs) > 0
	if cfg.Redis.Cluster && cfg.Redis.Sentinel != nil {
		v.fail("redis.cluster", "a sentinel-managed master is not a cluster: set cluster/addrs or sentinel, not both")
	}
	if cfg.Redis.Cluster && cfg.Redis.URL == "embedded" {
		v.fail("redis.cluster", "the embedded Redis is not a cluster")
	}

	cfg.Redis.Password = v.secretFile("redis.password_file", raw.Redis.PasswordFile)
	cfg.Redis.SentinelPassword = v.secretFile("redis.sentinel_password_file", raw.Redis.SentinelPasswordFile)
	cfg.Redis.SentinelUsername = raw.Redis.SentinelUsername
	// A URL from --redis or the environment is set later, and may name
	// sentinels the file's url does not.
	if (raw.Redis.SentinelUsername != "" || raw.Redis.SentinelPasswordFile != "") && cfg.Redis.Sentinel == nil && !v.redisURLReplaced {
		key := "redis.sentinel_password_file"
		if raw.Redis.SentinelPasswordFile == "" {
			key = "redis.sentinel_username"
		}
		v.fail(key, "goes with a sentinel target (url = \"redis+sentinel://…\" or the sentinel table)")
	}
	for _, tf := range []struct {
		key string
		in  string
		out *string
	}{{"redis.tls_ca", raw.Redis.TLSCA, &cfg.Redis.TLSCA}, {"redis.tls_cert", raw.Redis.TLSCert, &cfg.Redis.TLSCert}, {"redis.tls_key", raw.Redis.TLSKey, &cfg.Redis.TLSKey}} {
		if tf.in == "" {
			continue
		}
		*tf.out = v.file(v.expand(tf.key, tf.in, false))
		if _, err := os.Stat(*tf.out); err != nil {
			v.fail(tf.key, "%s", source.FileErr(err))
		}
	}
	if (cfg.Redis.TLSCert == "") != (cfg.Redis.TLSKey == "") {
		v.fail("redis.tls_cert", "tls_cert and tls_key go together")
	}
	cfg.Redis.TLSInsecureSkipVerify = raw.Redis.TLSInsecureSkipVerify

	r := &raw.Run
	cfg.Redis.Pipeline = v.integer("redis.pipeline", raw.Redis.Pipeline, 0, 1)
	if cfg.Redis.Pipeline > 100000 {
		v.fail("redis.pipeline", "at most 100000 commands a pipeline, got %d", cfg.Redis.Pipeline)
	}
	cfg.Run.Concurrency = v.integer("run.concurrency", r.Concurrency, 32, 1)
	if cfg.Run.Concurrency > MaxConcurrency {
		v.fail("run.concurrency", "at most %d, got %d", MaxConcurrency, cfg.Run.Concurrency)
	}
	cfg.Run.Timeout = v.duration("run.timeout", r.Timeout, 10*time.Second, false)
	cfg.Run.Retries = v.integer("run.retries", r.Retries, 2, 0)
	if cfg.Run.Retries > MaxRetries {
		v.fail("run.retries", "at most %d, got %d: an item that fails that often will not succeed on the next try, and the run would not end", MaxRetries, cfg.Run.Retries)
	}
	cfg.Run.Backoff = v.duration("run.backoff", r.Backoff, 250*time.Millisecond, true)
	cfg.Run.TTL = v.ttl("run.ttl", r.TTL, time.Hour)
	cfg.Run.TTLJitter = v.jitter("run.ttl_jitter", r.TTLJitter, Jitter{})
	cfg.Run.RedisWait = v.duration("run.redis_wait", r.RedisWait, 30*time.Second, true)
	cfg.Run.MaxBody = v.size("run.max_body", r.MaxBody, 64<<20, 512<<20)
	cfg.Run.Adaptive = r.Adaptive

	v.readTables(cfg)

	if len(raw.Loader) == 0 {
		v.fail("loader", "no [[loader]] tables: nothing to warm")
	}
	names := map[string]int{}
	for i := range raw.Loader {
		l := v.loader(cfg, i+1, &raw.Loader[i])
		if l == nil {
			continue
		}
		if prev, dup := names[l.Name]; dup {
			v.fail(fmt.Sprintf("loader[%d].name", i+1), "duplicate loader name %q (also loader[%d])", l.Name, prev)
		}
		names[l.Name] = i + 1
		cfg.Loaders = append(cfg.Loaders, l)
	}
	return cfg
}

func (v *validator) loader(cfg *Config, n int, r *rawLoader) *Loader {
	p := func(field string) string { return fmt.Sprintf("loader[%d].%s", n, field) }
	l := &Loader{Name: strings.TrimSpace(v.expand(p("name"), r.Name, false))}
	if l.Name == "" {
		v.fail(p("name"), "a loader needs a name")
	}
	l.Items = v.kinds.Decode(r.Items, &itemsDecoder{v: v, n: n, run: cfg.Run})
	keyText := v.expandTemplate(p("key"), r.Key, false)
	if keyText == "" {
		v.fail(p("key"), "a loader needs a key template, e.g. key = \"product:{{.id}}\"")
	}
	l.Key = v.template(p("key"), keyText)
	if r.Fetch != nil {
		urlText := v.expandURL(p("fetch.url"), r.Fetch.URL, escapeActions)
		f := &FetchSpec{Headers: map[string]string{}, Private: map[string]bool{}, AllowEmpty: r.Fetch.AllowEmpty, Adaptive: cfg.Run.Adaptive}
		if r.Fetch.Adaptive != nil {
			f.Adaptive = *r.Fetch.Adaptive
		}
		if urlText == "" {
			v.fail(p("fetch.url"), "fetch needs a url")
		}
		f.URL = v.template(p("fetch.url"), urlText)
		// Credentials written into the URL itself are as secret as those
		// ${VAR} brings in.
		v.secrets.Add(redact.URLSecrets(urlText)...)
		if !strings.Contains(urlText, "{{") {
			if u, err := url.Parse(urlText); err != nil || !weburl.Scheme(u.Scheme) {
				v.fail(p("fetch.url"), "unsupported URL %q (use http:// or https://)", v.secrets.URL(urlText))
			}
		} else if scheme := literalScheme(urlText); scheme != "" && !weburl.Scheme(scheme) {
			// Every item would be rejected at run time: say it now,
			// before any work.
			v.fail(p("fetch.url"), "unsupported URL scheme %q in %q (use http:// or https://)", scheme, v.secrets.URL(urlText))
		} else if origin := literalOrigin(urlText); origin != "" {
			if _, err := weburl.Parse(origin + "/"); err != nil {
				v.fail(p("fetch.url"), "%q: %v (in user info, write @ : / as %%40 %%3A %%2F)", v.secrets.URL(urlText), err)
			}
		}
		for name, raw := range r.Fetch.Headers {
			val := v.expand(p("fetch.headers."+name), raw, true)
			v.secrets.AddHeader(name, val)
			f.Headers[name] = val
			if redact.CredentialName(name) || strings.Contains(raw, "${") {
				f.Private[name] = true
			}
		}
		l.Fetch = f
	}
	l.Hosts = v.hosts(p("hosts"), r.Hosts, l)
	l.TTL = v.ttl(p("ttl"), r.TTL, cfg.Run.TTL)
	l.Mode, l.ExpireBelow = v.mode(n, r, l.TTL)
	v.loaderJitter(n, r, cfg.Run.TTLJitter, l)
	l.Concurrency = v.integer(p("concurrency"), r.Concurrency, 0, 1)
	if l.Concurrency > MaxConcurrency {
		v.fail(p("concurrency"), "at most %d, got %d", MaxConcurrency, l.Concurrency)
	}
	if r.Rate != "" {
		rate, err := parseRate(v.expand(p("rate"), r.Rate, false))
		if err != nil {
			v.fail(p("rate"), "%v", err)
		}
		l.Rate = rate
	}
	l.Type = v.writeType(p("type"), r.Type)
	if r.Value != "" {
		l.Value = v.valueTemplate(p("value"), v.expandTemplate(p("value"), r.Value, false), l.Fetch != nil)
	}
	return l
}

// literalOrigin is scheme://authority of a URL template whose text
// before its first action holds them whole ("http://u:p@h:1" of
// "http://u:p@h:1/x/{{.}}"), or "": what every item's URL shares, so
// checked once, before any work.
func literalOrigin(tmpl string) string {
	scheme, auth, closed := literalAuthority(tmpl)
	if !closed {
		return ""
	}
	return scheme + auth
}

// literalAuthority splits the literal text of a URL template, before its
// first action, into scheme and "://" and the authority after them;
// closed says a '/', '?' or '#' ends the authority there, so no action
// adds to it. "", "", false when that text holds no "://".
func literalAuthority(tmpl string) (scheme, auth string, closed bool) {
	prefix, _, _ := strings.Cut(tmpl, "{{")
	i := strings.Index(prefix, "://")
	if i < 0 {
		return "", "", false
	}
	scheme, auth = prefix[:i+3], prefix[i+3:]
	if j := strings.IndexAny(auth, "/?#"); j >= 0 {
		return scheme, auth[:j], true
	}
	return scheme, auth, false
}

// literalScheme is the scheme a URL template writes before its first
// action ("ftp" for "ftp://host/{{.}}"), lower-cased, or "" when an
// action gives it or the text before the action is not a scheme.
func literalScheme(tmpl string) string {
	prefix, _, _ := strings.Cut(tmpl, "{{")
	scheme, _, ok := strings.Cut(prefix, ":")
	if !ok || !schemeRE.MatchString(scheme) {
		return ""
	}
	return strings.ToLower(scheme)
}

// schemeRE matches a URL scheme (RFC 3986, 3.1).
var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// Mode says which of a loader's keys are written.
type Mode string

// The modes a loader may have.
const (
	// ModeOverwrite writes every key, whatever is there.
	ModeOverwrite Mode = "overwrite"
	// ModeMissing writes only keys that are not there.
	ModeMissing Mode = "missing"
	// ModeExpiring writes keys that are not there or expire within
	// Loader.ExpireBelow.
	ModeExpiring Mode = "expiring"
)

// mode validates loader n's mode and expire_below. ttl is the loader's:
// a key written without one never expires, so "expiring" would leave it
// alone for ever; and a threshold at or above the ttl would find every
// key it just wrote expiring again.
func (v *validator) mode(n int, r *rawLoader, ttl time.Duration) (Mode, time.Duration) {
	p := func(field string) string { return fmt.Sprintf("loader[%d].%s", n, field) }
	m := Mode(v.expand(p("mode"), r.Mode, false))
	switch m {
	case "":
		m = ModeOverwrite
	case ModeOverwrite, ModeMissing, ModeExpiring:
	default:
		v.fail(p("mode"), "unknown mode %q (use \"overwrite\", \"missing\" or \"expiring\")", m)
		return ModeOverwrite, 0
	}
	if m != ModeExpiring {
		if r.ExpireBelow != nil {
			v.fail(p("expire_below"), "expire_below goes with mode = \"expiring\"")
		}
		return m, 0
	}
	if r.ExpireBelow == nil {
		v.fail(p("mode"), "mode \"expiring\" needs expire_below, e.g. expire_below = \"10m\"")
		return m, 0
	}
	below := v.duration(p("expire_below"), r.ExpireBelow, 0, false)
	switch {
	case below == 0:
	case ttl == 0:
		v.fail(p("expire_below"), "keys written with no ttl never expire: set a ttl, or use mode = \"missing\"")
	case below >= ttl:
		v.fail(p("expire_below"), "must be below the loader's ttl (%s), or every run rewrites every key", ttl)
	}
	return m, below
}

// writeType checks a loader's type: "string" (the default) or "hash".
func (v *validator) writeType(path, typ string) string {
	switch typ {
	case "", TypeString:
		return TypeString
	case TypeHash:
		return TypeHash
	}
	v.fail(path, "unsupported type %q (use \"string\" or \"hash\")", typ)
	return TypeString
}

// valueTemplate parses a loader's value template, whose data is the item
// (.item) and the fetched body (.body): a template that reads the body
// of a loader that fetches nothing is a config error, not a rejection of
// every item.
func (v *validator) valueTemplate(path, text string, fetches bool) *Template {
	t := v.template(path, text)
	if t.t == nil {
		return t
	}
	if t.UsesBody() && !fetches {
		v.fail(path, "uses .body, but the loader has no fetch (use .item)")
	}
	return t
}

// hosts validates a loader's hosts: where, besides its sitemap's own
// host, child sitemaps and fetched URLs may be. The sitemap reads them
// too, for its children.
func (v *validator) hosts(path string, raw []string, l *Loader) []string {
	if raw == nil {
		return nil
	}
	sm, _ := l.Items.(*source.SitemapSpec)
	if sm == nil && l.Fetch == nil {
		v.fail(path, "hosts goes with fetch or items.sitemap: it says where their requests may go")
		return nil
	}
	out := make([]string, 0, len(raw))
	for i, h := range raw {
		at := fmt.Sprintf("%s[%d]", path, i)
		h = strings.TrimSpace(v.expand(at, h, false))
		if err := fetch.CheckHostEntry(h); err != nil {
			v.fail(at, "%v", err)
			continue
		}
		out = append(out, h)
	}
	if sm != nil {
		sm.Hosts = out
	}
	return out
}

// FetchHosts is where a loader's fetches may go (nil: it fetches
// nothing): the host its URL template names in its literal text, a
// sitemap's own host, and the loader's hosts, so an item or a <loc>
// cannot send the loader's headers elsewhere; anywhere when none of those
// names a host (url = "{{.url}}"); never one of redis, the Redis server's
// addresses, since the fetch carries the loader's headers.
func (l *Loader) FetchHosts(redis []string) *fetch.Hosts {
	if l.Fetch == nil {
		return nil
	}
	var origins []string
	if sm, ok := l.Items.(*source.SitemapSpec); ok {
		origins = append(origins, sm.URL)
	}
	named := templateHost(l.Fetch.URL.Text)
	if named != "" {
		origins = append(origins, named)
	}
	if len(origins) == 0 && l.Hosts == nil {
		return fetch.AnyHost().Refusing("the Redis server", redis...)
	}
	h, err := fetch.NewHosts(origins, l.Hosts)
	if err != nil {
		// Validated entries parse: refuse everything rather than guess.
		h, _ = fetch.NewHosts(nil, nil)
	}
	return h.Refusing("the Redis server", redis...)
}

// templateHost is the URL a template's literal text names a host with
// ("http://u:p@h:8080/" for "http://u:p@h:8080/a/{{.}}"): scheme, "://"
// and the authority, cut at the first action when no '/', '?' or '#'
// closes it before. "" when an action gives the scheme or the whole
// authority ("{{.url}}", "http://{{.host}}/"). A cut authority that does
// not parse ("http://user:{{.}}") still names a host: one nothing
// matches, so every URL must be on a listed host.
func templateHost(tmpl string) string {
	scheme, auth, _ := literalAuthority(tmpl)
	if auth == "" {
		return ""
	}
	return scheme + auth + "/"
}

// Addresses are the host:port addresses the config knows the Redis
// server (or its cluster seeds, or sentinels) by.
func (rc *RedisConfig) Addresses() []string {
	var addrs []string
	if u, err := url.Parse(rc.URL); err == nil && u.Hostname() != "" && !strings.Contains(u.Host, ",") {
		port := u.Port()
		if port == "" {
			port = "6379"
		}
		addrs = append(addrs, net.JoinHostPort(u.Hostname(), port))
	}
	addrs = append(addrs, rc.Addrs...)
	if rc.Sentinel != nil {
		addrs = append(addrs, rc.Sentinel.Addrs...)
	}
	return addrs
}

// Files are the files a run reads: the config, the items files and the
// TLS files. Nothing a run writes may replace them.
func (c *Config) Files() []string {
	files := []string{c.Path, c.Redis.TLSCA, c.Redis.TLSCert, c.Redis.TLSKey}
	for _, l := range c.Loaders {
		files = append(files, l.Items.Files()...)
	}
	return slices.DeleteFunc(files, func(f string) bool { return f == "" })
}

// ReadsStdin reports whether a loader reads its items from standard
// input, which the monitor cannot then read keys from.
func (c *Config) ReadsStdin() bool {
	for _, l := range c.Loaders {
		if l.Items.ReadsStdin() {
			return true
		}
	}
	return false
}

func (v *validator) template(path, text string) *Template {
	t, err := parseTemplate(path, text, v.funcs)
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		v.fail(path, "template does not parse: %s", msg)
		return &Template{Text: text}
	}
	return t
}

// parseTemplate parses a key, URL or value template with funcs: a
// missing field is an error, a null one too (guardNulls), and the common
// shapes take the fast path.
func parseTemplate(name, text string, funcs template.FuncMap) (*Template, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(funcs).Funcs(template.FuncMap{presentFunc: present}).Parse(text)
	if err != nil {
		return nil, err
	}
	fast, value := compileFast(t), compileValue(t, funcs) // before the guard adds its checks
	guardNulls(t)
	return &Template{Text: text, t: t, fast: fast, value: value}, nil
}

// parseRate reads "200/s", "30/m" or "1000/h" as items per second.
func parseRate(s string) (float64, error) {
	num, unit, ok := strings.Cut(strings.ReplaceAll(s, " ", ""), "/")
	n, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid rate %q (use e.g. \"200/s\", \"30/m\")", s)
	}
	switch unit {
	case "s":
		return n, nil
	case "m":
		return n / 60, nil
	case "h":
		return n / 3600, nil
	}
	return 0, fmt.Errorf("invalid rate unit in %q (use /s, /m or /h)", s)
}

// setURL sets the Redis URL, registers its password as a secret, and
// reads a redis+sentinel:// URL into Sentinel: the one place a target's
// URL is checked.
func (rc *RedisConfig) setURL(raw string, secrets *Redactor) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid Redis URL %q", redact.URL(raw))
	}
	secrets.Add(redact.URLSecrets(raw)...)
	rc.URL, rc.Sentinel = raw, nil
	switch u.Scheme {
	case "redis", "rediss":
		return nil
	case "redis+sentinel":
		rc.Sentinel, err = parseSentinelURL(u)
		return err
	}
	return fmt.Errorf("unsupported URL scheme %q (use redis://, rediss://, redis+sentinel:// or \"embedded\")", u.Scheme)
}

// parseSentinelURL reads redis+sentinel://[user:pass@]host:port[,host:port…]/master[/db].
func parseSentinelURL(u *url.URL) (*SentinelConfig, error) {
	sc := &SentinelConfig{Addrs: strings.Split(u.Host, ",")}
	if err := checkHostPorts(sc.Addrs); err != nil {
		return nil, fmt.Errorf("sentinel URL: %w", err)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	sc.Master = parts[0]
	if sc.Master == "" || len(parts) > 2 {
		return nil, errors.New("sentinel URL: the path is /mastername or /mastername/db")
	}
	if len(parts) == 2 {
		db, err := strconv.Atoi(parts[1])
		if err != nil || db < 0 {
			return nil, fmt.Errorf("sentinel URL: database %q is not a number", parts[1])
		}
		sc.DB = db
	}
	return sc, nil
}

// sentinelURL is the redis+sentinel:// form of sc, without credentials.
func sentinelURL(sc *SentinelConfig) string {
	return fmt.Sprintf("redis+sentinel://%s/%s/%d", strings.Join(sc.Addrs, ","), url.PathEscape(sc.Master), sc.DB)
}

// checkHostPorts wants at least one address, each host:port.
func checkHostPorts(addrs []string) error {
	if len(addrs) == 0 {
		return errors.New("needs at least one host:port")
	}
	for _, a := range addrs {
		if h, p, err := net.SplitHostPort(a); err != nil || h == "" || p == "" {
			return fmt.Errorf("%q is not host:port", a)
		}
	}
	return nil
}

// Secrets returns the redactor that knows this config's secrets.
func (c *Config) Secrets() *Redactor { return c.secrets }

// SetRedisURL replaces the Redis URL (the --redis flag), keeping its
// password secret.
//
// The URL names the whole target: cluster seeds and a sentinel table
// from the file no longer apply (a cluster is still detected).
func (c *Config) SetRedisURL(raw string) error {
	rc := c.Redis
	rc.Cluster, rc.Addrs = false, nil
	if raw == "embedded" {
		rc.URL, rc.Sentinel = raw, nil
	} else if err := rc.setURL(raw, c.secrets); err != nil {
		return err
	}
	c.Redis = rc
	return nil
}

// Select keeps only the named loaders, in config order.
func (c *Config) Select(names []string) error {
	if len(names) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[strings.TrimSpace(n)] = true
	}
	var kept []*Loader
	for _, l := range c.Loaders {
		if want[l.Name] {
			kept = append(kept, l)
			delete(want, l.Name)
		}
	}
	if len(want) > 0 {
		var missing []string
		for n := range want {
			missing = append(missing, n)
		}
		return fmt.Errorf("--only: no loader named %s in %s", strings.Join(missing, ", "), c.Path)
	}
	c.Loaders = kept
	return nil
}
