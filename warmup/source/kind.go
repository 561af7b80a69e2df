package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/cachewarm/cachewarm/internal/redact"
)

// Spec says where a loader's items come from: one kind's settings, as its
// Kind decoded them from the loader's items table. Each kind keeps in its
// own file what it reads (its TOML shape and validation), how it is
// checked before a run, opened, resumed and shown; nothing outside this
// package looks inside a Spec.
type Spec interface {
	// Describe says what the spec reads, for tiles, tables and reports,
	// with no credential in it.
	Describe() string
	// Files are the local files it reads, which nothing a run writes may
	// replace.
	Files() []string
	// ReadsStdin reports whether the items come from standard input.
	ReadsStdin() bool
	// Rereadable reports whether the items can be read again from their
	// start: not a stream (standard input, a FIFO), gone once read.
	Rereadable() bool
	// Reached says whether a source standing at cur has come to end, a
	// point where a run's reading of it stopped.
	Reached(cur, end Resume) bool

	// open opens the items from their start (from nil) or from a resume
	// point of the spec's own family.
	open(ctx context.Context, from *Resume) (Source, error)
	// check does what a run does first (opens the file, reads a CSV
	// header, fetches the sitemap, describes the query), so that a
	// source the run could not read is found before any work.
	check(ctx context.Context) error
	// describeResume says where a resume point not done stands.
	describeResume(r Resume) string
	// family is the resume points the spec reads on from: a file's
	// ("file"), a sitemap's, a query's, or a position in a list or range
	// ("").
	family() string
}

// Kind is one kind of source as the config file names it: the items
// table's keys it owns and how they become a Spec. It is registered with
// the config (see Kinds) the way a storage backend is with a tool that
// has several: adding a kind touches this package only.
type Kind interface {
	// Key is the items table's key that selects the kind ("file", "sql").
	Key() string
	// Shape returns a pointer to a new struct with toml tags: the items
	// table's keys the kind owns, Key's among them, each a pointer or a
	// slice so that an absent key stays nil.
	Shape() any
	// Decode validates shape, as the file set it, reporting problems
	// through d. It returns nil exactly when Key is absent, having refused
	// any other key of the kind's that is there.
	Decode(shape any, d Decoder) Spec
}

// Decoder is what a Kind's Decode is given by the config: its ways to
// expand ${VAR}, resolve paths and report problems, so that a kind's
// errors read as the engine's own keys' do
// (file:line: loader[2].items.file: message).
type Decoder interface {
	// Path is the full key path of the items table's key ("file":
	// "loader[2].items.file"); "" names the table itself.
	Path(key string) string
	// Expand replaces ${VAR} references from the environment; with secret
	// the values brought in are never shown.
	Expand(path, s string, secret bool) string
	// Fail records a problem with the key at path (the first one wins).
	Fail(path, format string, args ...any)
	// Failed says a problem is recorded already: the config is refused,
	// and nothing need be reached over the network.
	Failed() bool
	// Resolve anchors a relative path at the config file's folder.
	Resolve(name string) string
	// Secrets is the config's redactor: what it knows is never shown.
	Secrets() *redact.Redactor
	// Context bounds what a pre-flight check waits for.
	Context() context.Context
	// Stdin is what the process reads as standard input.
	Stdin() io.Reader
	// ClaimStdin makes the loader standard input's one reader, or fails
	// at path naming the loader that is; it returns what to read.
	ClaimStdin(path string) io.Reader
	// Limits are the run's fetch timeout and largest body.
	Limits() (timeout time.Duration, maxBody int64)
}

// Kinds is the registry of the source kinds a config's items table may
// name, in the order they are read and named in messages.
func Kinds() *Registry {
	return NewRegistry(fileKind{}, listKind{}, rangeKind{}, sitemapKind{}, sqlKind{})
}

// Registry is a set of source kinds, keyed by the items table's key
// that selects each.
type Registry struct {
	kinds []Kind
	// shape is the items table's struct: every kind's fields, one after
	// the other; fields[i] are kind i's indices in it, keyAt[i] the
	// index of its Key.
	shape  reflect.Type
	fields [][]int
	keyAt  []int
}

// NewRegistry registers kinds. Two kinds that claim one key are a
// programming mistake, refused at once (Kinds' test builds it).
func NewRegistry(kinds ...Kind) *Registry {
	r := &Registry{kinds: kinds}
	var all []reflect.StructField
	owner := map[string]string{}
	for i, k := range kinds {
		t := reflect.TypeOf(k.Shape()).Elem()
		var idx []int
		keyAt := -1
		for j := range t.NumField() {
			f := t.Field(j)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if prev, dup := owner[name]; dup {
				panic(fmt.Sprintf("source: kinds %s and %s both claim items.%s", prev, k.Key(), name))
			}
			owner[name] = k.Key()
			if name == k.Key() {
				keyAt = len(all)
			}
			idx = append(idx, len(all))
			all = append(all, reflect.StructField{Name: fmt.Sprintf("K%d%s", i, f.Name), Type: f.Type, Tag: f.Tag})
		}
		if keyAt < 0 {
			panic(fmt.Sprintf("source: kind %s has no field for its key", k.Key()))
		}
		r.fields, r.keyAt = append(r.fields, idx), append(r.keyAt, keyAt)
	}
	r.shape = reflect.PointerTo(reflect.StructOf(all))
	return r
}

// Shape is the type a loader's items table decodes into: a pointer to a
// struct of every kind's keys.
func (r *Registry) Shape() reflect.Type { return r.shape }

// Decode makes the Spec of a loader's items table, items being a value of
// Shape (nil when the loader has none: its one item is null). Exactly one
// kind's key must be set; the one that is set is checked as a run would
// begin it, unless a problem was found already.
func (r *Registry) Decode(items any, d Decoder) Spec {
	v := reflect.ValueOf(items)
	if items == nil || v.IsNil() {
		return Single()
	}
	v = v.Elem()
	var spec Spec
	var key string
	set := 0
	for i, k := range r.kinds {
		shape := reflect.ValueOf(k.Shape())
		for j, at := range r.fields[i] {
			shape.Elem().Field(j).Set(v.Field(at))
		}
		s := k.Decode(shape.Interface(), d)
		if s != nil {
			spec, key = s, k.Key()
			set++
		}
	}
	if set != 1 {
		d.Fail(d.Path(""), "set exactly one of %s", r.keyList())
		return spec
	}
	if d.Failed() {
		// The config is refused anyway: reach nothing.
		return spec
	}
	if err := spec.check(d.Context()); err != nil {
		d.Fail(d.Path(key), "%s", d.Secrets().Redact(err.Error()))
	}
	return spec
}

// keyList is "file, list, range, sitemap or sql".
func (r *Registry) keyList() string {
	keys := make([]string, len(r.kinds))
	for i, k := range r.kinds {
		keys[i] = k.Key()
	}
	if len(keys) < 2 {
		return strings.Join(keys, "")
	}
	return strings.Join(keys[:len(keys)-1], ", ") + " or " + keys[len(keys)-1]
}

// Open opens the stream described by spec, from its start when from is
// nil, else from that resume point. A file that no longer matches the
// resume point (shorter, or the offset not at a line start) is an error.
// The rest of a stream (standard input, a pipe) cannot be read again: it
// yields nothing and stays not started.
func Open(spec Spec, from *Resume) (Source, error) {
	return OpenContext(context.Background(), spec, from)
}

// OpenContext is Open for a run that may stop: once ctx ends, a read
// waiting on a stream gives up and the source ends there, not done.
func OpenContext(ctx context.Context, spec Spec, from *Resume) (Source, error) {
	if from != nil && from.Done {
		return &sliceSource{}, nil
	}
	if err := from.fits(spec.family()); err != nil {
		return nil, err
	}
	return spec.open(ctx, from)
}

// Check opens a spec the way a run will and reads what a run reads at its
// start (a gzip header, a CSV header), so that a source the run could not
// read is found before anything is written. A stream is not opened: it
// can be read only once, by the run. A sitemap is fetched, and read up to
// its root element; a query is described by the database, not run.
func Check(spec Spec) error { return CheckContext(context.Background(), spec) }

// CheckContext is Check, given up when ctx ends.
func CheckContext(ctx context.Context, spec Spec) error { return spec.check(ctx) }

// Describe says where r stands, for people: "from line 812 (byte 40960)".
func (r Resume) Describe(spec Spec) string {
	if r.Done {
		return "nothing left"
	}
	return spec.describeResume(r)
}

// The resume point families (Spec.family).
const (
	familyPosition = ""
	familyFile     = "file"
)

// fits refuses a resume point recorded for another family of source (the
// loader read a range and now reads a file, or the other way round):
// reading on from it would start at a wrong place. A file's resume point
// always has a line; a list's or a range's never does; a sitemap's and a
// query's have their own kind.
func (r *Resume) fits(family string) error {
	if r == nil {
		return nil
	}
	from := familyPosition
	switch {
	case r.Kind == KindSitemap:
		from = KindSitemap
	case r.Kind == KindSQL:
		from = KindSQL
	case r.Line > 0 || r.Offset > 0 || r.Kind != KindFile:
		from = familyFile
	}
	// A source that failed to open records an empty resume point, its
	// start; so does a query that failed to run.
	empty := *r == (Resume{Remaining: r.Remaining})
	switch {
	case family == KindSitemap && from != KindSitemap && !empty:
		return errors.New("the resume point is not a sitemap's, and the loader now reads a sitemap")
	case family != KindSitemap && from == KindSitemap:
		return errors.New("the resume point is a sitemap's, and the loader now reads no sitemap")
	case family == KindSQL && from != KindSQL && !empty:
		return errors.New("the resume point is not a query's, and the loader now runs a query")
	case family != KindSQL && from == KindSQL:
		return errors.New("the resume point is a query's, and the loader now runs none")
	case family == familyFile && from != familyFile:
		return errors.New("the resume point is a list's or a range's, and the loader now reads a file")
	case family != familyFile && from == familyFile:
		return errors.New("the resume point is a file's, and the loader now reads no file")
	}
	return nil
}

// counted is what the kinds whose resume point counts items or rows
// (Resume.Next) share: no local file, no stream.
type counted struct{}

func (counted) Files() []string  { return nil }
func (counted) ReadsStdin() bool { return false }
func (counted) Rereadable() bool { return true }
func (counted) Reached(cur, end Resume) bool {
	switch {
	case end.Done:
		return false
	case cur.Done:
		return true
	}
	return cur.Next >= end.Next
}

// Single is the spec of a loader with no items table: one item, null,
// for a loader whose key and URL need none.
func Single() Spec { return singleSpec{} }

type singleSpec struct{ counted }

func (singleSpec) Describe() string { return "single item" }
func (singleSpec) open(_ context.Context, from *Resume) (Source, error) {
	return startSlice([]Item{{Raw: []byte("null"), decoded: true}}, from)
}
func (singleSpec) check(context.Context) error    { return nil }
func (singleSpec) describeResume(r Resume) string { return fmt.Sprintf("from item %d", r.Next+1) }
func (singleSpec) family() string                 { return familyPosition }
