package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"text/template"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Options extend what a config file may say, for a caller whose needs the
// engine does not know of (the offline demo's simulated origin, for one).
// The zero Options reads a plain cachewarm config from the real
// environment.
type Options struct {
	// Getenv looks up ${VAR} references; nil means os.LookupEnv.
	Getenv func(string) (string, bool)
	// Funcs are extra functions key and URL templates may call. Templates
	// are parsed at config time, so a function must be here for a
	// template naming it to load; it is called only when an item is
	// rendered, so it may return a value known once the run starts. Funcs
	// cannot replace the built-in functions (json, urlquery, pathescape,
	// lower, upper).
	Funcs template.FuncMap
	// Tables maps a top-level table name to the function that reads it.
	// The function is called once, when the file has the table, after
	// [redis] and [run] are read and before the loaders; it decodes the
	// table with Table.Decode and reports problems with Table.Errorf.
	// A table nobody registered is still an unknown key.
	Tables map[string]func(t *Table) error
	// Stdin is what a loader whose items file is "-" reads; nil means
	// os.Stdin.
	Stdin io.Reader
	// RedisURLReplaced says the Redis URL comes from elsewhere (--redis,
	// CACHEWARM_REDIS_URL; see Config.SetRedisURL): the file's redis.url
	// is not read, so its ${VAR} need not be set.
	RedisURLReplaced bool
	// Context bounds what validation waits for: the sources' pre-flight
	// checks (a sitemap fetched up to its root element, a query described
	// by its database). nil means context.Background().
	Context context.Context
}

// check refuses options that are a programming mistake rather than a
// problem with the file.
func (o Options) check() error {
	builtin := templateFuncs(nil)
	for name := range o.Funcs {
		if _, ok := builtin[name]; ok {
			return fmt.Errorf("config: template function %q is built in and cannot be replaced", name)
		}
	}
	for name, fn := range o.Tables {
		if fn == nil {
			return fmt.Errorf("config: table %q has no function to read it", name)
		}
		if slices.Contains([]string{"redis", "run", "loader"}, name) {
			return fmt.Errorf("config: table %q is the engine's own", name)
		}
	}
	return nil
}

// Table is one extension table of the config file, handed to the function
// registered for it in Options.Tables.
type Table struct {
	name string
	v    *validator
	cfg  *Config
}

// Name returns the table's name, e.g. "origin".
func (t *Table) Name() string { return t.name }

// Config returns the settings read before the table: [redis] and [run],
// with their defaults. Its loaders are not read yet.
func (t *Table) Config() *Config { return t.cfg }

// Decode decodes the table into v, a pointer to a struct with toml tags.
// Decoding is strict: a key v has no field for is an "unknown key". Its
// errors are *ConfigError values that name the line and the key path
// ("origin.latncy"), as the engine's own keys do.
func (t *Table) Decode(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("config: decoding [%s] needs a pointer to a struct, got %T", t.name, v)
	}
	// Decode the whole file into a struct whose only field is this table,
	// so positions (and so lines) are the file's own; the keys of every
	// other table are left to their owners.
	wrapper := reflect.New(reflect.StructOf([]reflect.StructField{{
		Name: "Table",
		Type: rv.Elem().Type(),
		Tag:  reflect.StructTag(fmt.Sprintf("toml:%q", t.name)),
	}}))
	wrapper.Elem().Field(0).Set(rv.Elem())
	err := toml.NewDecoder(bytes.NewReader(t.v.data)).DisallowUnknownFields().Decode(wrapper.Interface())
	if err = t.v.decodeError(err, func(top string) bool { return top == t.name }); err != nil {
		return err
	}
	rv.Elem().Set(wrapper.Elem().Field(0))
	return nil
}

// Errorf returns a *ConfigError about key, a key of this table such as
// "latency" or "hot./search/" ("" for the table itself), at the key's
// line when it can be found.
func (t *Table) Errorf(key, format string, args ...any) error {
	path := t.name
	if key != "" {
		path += "." + key
	}
	return &ConfigError{File: t.v.path, Line: t.v.pos.line(path), Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Duration reads a duration the way the engine reads its own ("250ms",
// "10s", 0 or "0", ${VAR} expanded) for key; nil gives def. Zero is
// allowed, negative durations are not.
func (t *Table) Duration(key string, val any, def time.Duration) (time.Duration, error) {
	sub := t.v.child()
	d := sub.duration(t.name+"."+key, val, def, true)
	if sub.err != nil {
		return def, sub.err
	}
	return d, nil
}

// readTables calls the function registered for every extension table the
// file has, in name order so that the first problem reported is stable.
func (v *validator) readTables(cfg *Config) {
	if len(v.tables) == 0 {
		return
	}
	present := v.pos.topLevel()
	for _, name := range slices.Sorted(maps.Keys(v.tables)) {
		if !present[name] {
			continue
		}
		t := &Table{name: name, v: v, cfg: cfg}
		if err := v.tables[name](t); err != nil && v.err == nil {
			v.err = asConfigError(t, err)
		}
	}
}

// asConfigError keeps a *ConfigError as it is and places any other error
// on the table's header line.
func asConfigError(t *Table, err error) error {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return ce
	}
	return t.Errorf("", "%v", err)
}

// child returns a validator for the same file with no error recorded, so
// that a caller can tell its own problems apart.
func (v *validator) child() *validator {
	c := *v
	c.err = nil
	return &c
}
