package source

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cachewarm/cachewarm/internal/redact"
	"github.com/cachewarm/cachewarm/internal/weburl"
	"github.com/cachewarm/cachewarm/warmup/fetch"
)

// KindSitemap is a sitemap's resume point: Next counts the items it
// yielded (each <url>, and each broken child sitemap), which a run reads
// again and drops.
const KindSitemap = "sitemap"

// Bounds on what a sitemap may make a run hold or do.
const (
	// MaxSitemapDepth is how deep indexes may nest below the first
	// sitemap: the protocol allows none, some sites use one more level.
	MaxSitemapDepth = 3
	// MaxSitemaps is how many sitemaps one source reads at most (the
	// protocol's limit of entries in one index): the set of those seen,
	// which stops an index listing itself from looping, stays bounded.
	MaxSitemaps = 50000
	// MaxLoc is the longest <loc> accepted; a longer one rejects its
	// item (the protocol's limit is 2,048 characters).
	MaxLoc = 8 << 10
)

// SitemapSpec says where a sitemap is and how to fetch it.
type SitemapSpec struct {
	// URL is an http(s) URL or an absolute local path.
	URL string
	// Timeout bounds the download of each sitemap.
	Timeout time.Duration
	// MaxBody bounds each sitemap's size, decompressed.
	MaxBody int64
	// UserAgent is sent with each request ("cachewarm" when empty).
	UserAgent string
	// Hosts are the other hosts ("host" or "host:port", see
	// fetch.NewHosts) child sitemaps may be on: by default only the first
	// sitemap's own.
	Hosts []string
	counted
}

type sitemapKind struct{}

type sitemapShape struct {
	Sitemap *string `toml:"sitemap"`
}

func (sitemapKind) Key() string { return "sitemap" }
func (sitemapKind) Shape() any  { return &sitemapShape{} }

// Decode validates a loader's sitemap: an http(s) URL or a local path
// (relative to the config's folder). The credentials it carries
// (?token=…, user information), like the values ${VAR} brings into it,
// are never shown. check reads it, up to its root element, once nothing
// else is wrong.
func (sitemapKind) Decode(shape any, d Decoder) Spec {
	loc := shape.(*sitemapShape).Sitemap
	if loc == nil {
		return nil
	}
	path := d.Path("sitemap")
	timeout, maxBody := d.Limits()
	spec := &SitemapSpec{URL: d.Expand(path, *loc, true), Timeout: timeout, MaxBody: maxBody}
	d.Secrets().Add(redact.URLSecrets(spec.URL)...)
	switch u, err := url.Parse(spec.URL); {
	case strings.TrimSpace(spec.URL) == "":
		d.Fail(path, "a sitemap needs a URL or a path")
	case err == nil && weburl.Scheme(u.Scheme):
		if u.Host == "" {
			d.Fail(path, "URL %q has no host", d.Secrets().URL(spec.URL))
		}
	case err == nil && u.Scheme != "" && len(u.Scheme) > 1:
		d.Fail(path, "unsupported URL %q (use http://, https:// or a path)", d.Secrets().URL(spec.URL))
	default:
		spec.URL = d.Resolve(spec.URL)
	}
	return spec
}

// Describe is "sitemap " and the sitemap's URL, its credentials hidden,
// or a local sitemap's file name.
func (spec *SitemapSpec) Describe() string {
	if filepath.IsAbs(spec.URL) {
		return "sitemap " + filepath.Base(spec.URL)
	}
	return "sitemap " + redact.Location(spec.URL)
}

// Files is a local sitemap's file.
func (spec *SitemapSpec) Files() []string {
	if filepath.IsAbs(spec.URL) {
		return []string{spec.URL}
	}
	return nil
}

func (*SitemapSpec) describeResume(r Resume) string {
	return fmt.Sprintf("from sitemap item %d", r.Next+1)
}
func (*SitemapSpec) family() string { return KindSitemap }

// sitemapSource yields one item per <url> of a sitemap, following
// indexes depth first. A sitemap fetched over HTTP is downloaded to a
// temporary file first, then read token by token: a slow run holds no
// connection open, and no document is held in memory.
type sitemapSource struct {
	ctx    context.Context
	spec   SitemapSpec
	client *fetch.Client
	// hosts are where child sitemaps may be.
	hosts *fetch.Hosts
	// stack holds the documents being read: the first sitemap, then the
	// index entries being followed.
	stack   []*sitemapDoc
	seen    map[uint64]struct{}
	seed    maphash.Seed
	yielded int64
	// skip is how many items a resumed source drops before its first.
	skip    int64
	started bool
	done    bool
	stopped bool
	err     error
}

// sitemapDoc is one sitemap being read.
type sitemapDoc struct {
	name  string // the URL (credentials removed) or the path
	base  *url.URL
	dir   string // for a local index, the folder its relative entries are in
	file  *os.File
	tmp   string // a temporary file to remove at close, if it could not be at once
	dec   *xml.Decoder
	in    *xmlInput
	index bool
}

func (spec *SitemapSpec) open(ctx context.Context, from *Resume) (Source, error) {
	s := &sitemapSource{ctx: ctx, spec: *spec, seed: maphash.MakeSeed(), seen: map[uint64]struct{}{}}
	if s.spec.UserAgent == "" {
		s.spec.UserAgent = "cachewarm"
	}
	hosts, err := fetch.NewHosts([]string{s.spec.URL}, s.spec.Hosts)
	if err != nil {
		return nil, fmt.Errorf("hosts: %w", err)
	}
	s.hosts = hosts
	s.client = fetch.New(fetch.Options{Concurrency: 1, Timeout: s.spec.Timeout, MaxBody: s.spec.MaxBody, UserAgent: s.spec.UserAgent})
	if from != nil {
		if from.Next < 0 {
			return nil, fmt.Errorf("resume point item %d is not an item", from.Next+1)
		}
		s.skip = from.Next
	}
	return s, nil
}

// check fetches the first sitemap and reads up to its root element, so
// that a sitemap a run could not read is found before anything is
// written.
func (spec *SitemapSpec) check(ctx context.Context) error {
	src, err := spec.open(ctx, nil)
	if err != nil {
		return err
	}
	s := src.(*sitemapSource)
	defer s.Close()
	return s.start()
}

// start opens the first sitemap.
func (s *sitemapSource) start() error {
	s.started = true
	doc, err := s.open(s.spec.URL, "")
	if err != nil {
		return fmt.Errorf("sitemap %s: %w", redact.Location(s.spec.URL), err)
	}
	s.seen[maphash.String(s.seed, s.spec.URL)] = struct{}{}
	s.stack = append(s.stack, doc)
	return nil
}

func (s *sitemapSource) Next() (Item, bool) {
	if !s.started {
		if err := s.start(); err != nil {
			s.fail(err)
			return Item{}, false
		}
	}
	for !s.done && !s.stopped && s.err == nil {
		it, ok := s.step()
		if !ok {
			continue
		}
		s.yielded++
		if s.yielded > s.skip {
			return it, true
		}
	}
	return Item{}, false
}

// step reads the next token-level event of the document on top of the
// stack: an item (ok), or a move (a child opened, a document done).
func (s *sitemapSource) step() (Item, bool) {
	if len(s.stack) == 0 {
		s.done = true
		return Item{}, false
	}
	if s.ctx.Err() != nil {
		s.stopped = true
		return Item{}, false
	}
	doc := s.stack[len(s.stack)-1]
	entry, line, err := doc.next()
	switch {
	case err == io.EOF:
		s.pop()
		return Item{}, false
	case err != nil && len(s.stack) == 1:
		// The first sitemap broke: there is nothing to go on with.
		s.pop()
		s.fail(fmt.Errorf("sitemap %s: %w", doc.name, err))
		return Item{}, false
	case err != nil:
		s.pop()
		return brokenSitemap(doc.name, "", 0, err), true
	case entry.err != nil:
		return Item{Raw: entry.json(), File: doc.name, Line: line, Err: fmt.Errorf("%s:%d: %w", doc.name, line, entry.err)}, true
	case !doc.index:
		return entry.item(doc.name, line), true
	}
	return s.follow(doc, entry.Loc, line)
}

// follow opens the sitemap an index entry names, or says why not as an
// item rejected at the source.
func (s *sitemapSource) follow(parent *sitemapDoc, loc string, line int) (Item, bool) {
	target := parent.resolve(loc)
	hostErr := s.hosts.Check(target)
	switch h := maphash.String(s.seed, target); {
	case parent.base != nil && !isHTTP(target):
		// A sitemap from the web never makes the run read a local file.
		return brokenSitemap(redact.Location(target), parent.name, line, errors.New("not an http(s) URL")), true
	case hostErr != nil:
		// Nor has it the run fetch from hosts the config does not name:
		// its URLs are no more trustworthy than a redirect.
		return brokenSitemap(redact.Location(target), parent.name, line, hostErr), true
	case len(s.stack) > MaxSitemapDepth:
		return brokenSitemap(redact.Location(target), parent.name, line, fmt.Errorf("indexes nested more than %d deep", MaxSitemapDepth)), true
	case s.seenHash(h):
		// An index listing a sitemap twice, or itself: read once.
		return Item{}, false
	case len(s.seen) >= MaxSitemaps:
		return brokenSitemap(redact.Location(target), parent.name, line, fmt.Errorf("more than %d sitemaps", MaxSitemaps)), true
	default:
		s.seen[h] = struct{}{}
	}
	doc, err := s.open(target, parent.dir)
	if err != nil {
		if s.ctx.Err() != nil {
			s.stopped = true
			return Item{}, false
		}
		return brokenSitemap(redact.Location(target), parent.name, line, err), true
	}
	s.stack = append(s.stack, doc)
	return Item{}, false
}

func (s *sitemapSource) seenHash(h uint64) bool {
	_, ok := s.seen[h]
	return ok
}

// fail ends the source with err, unless the run is stopping: then the
// error is the interrupt's, and the source stopped.
func (s *sitemapSource) fail(err error) {
	if s.ctx.Err() != nil {
		s.stopped = true
		return
	}
	s.err = err
}

func (s *sitemapSource) pop() {
	doc := s.stack[len(s.stack)-1]
	s.stack = s.stack[:len(s.stack)-1]
	doc.close()
}

// brokenSitemap is the item that stands for a child sitemap that could
// not be read (or read to its end): rejected at the source, naming it.
func brokenSitemap(name, parent string, line int, err error) Item {
	raw, _ := json.Marshal(map[string]string{"sitemap": name})
	return Item{Raw: raw, File: parent, Line: line, Err: &ItemError{Detail: "sitemap " + name, Err: err}}
}

// ItemError is an item a source could not give, with the part of its
// reason that names the item (Detail: "sitemap https://…/b.xml") apart
// from the cause many items may share (Err: "host not allowed: other"),
// so that the rejections group by cause.
type ItemError struct {
	Detail string
	Err    error
}

func (e *ItemError) Error() string { return e.Detail + ": " + e.Err.Error() }
func (e *ItemError) Unwrap() error { return e.Err }

func (s *sitemapSource) Err() error   { return s.err }
func (s *sitemapSource) Total() int64 { return -1 }
func (s *sitemapSource) Resume() Resume {
	if s.done {
		return Resume{Done: true}
	}
	return Resume{Kind: KindSitemap, Next: max(s.yielded, s.skip), Remaining: -1}
}
func (s *sitemapSource) Close() error {
	for len(s.stack) > 0 {
		s.pop()
	}
	s.client.CloseIdle()
	return nil
}

// open opens the sitemap at loc: an http(s) URL, downloaded, or a local
// file (an absolute path, or one relative to dir).
func (s *sitemapSource) open(loc, dir string) (*sitemapDoc, error) {
	doc := &sitemapDoc{}
	if isHTTP(loc) {
		doc.name, doc.base = redact.Location(loc), mustParse(loc)
		if err := s.download(doc, loc); err != nil {
			return nil, err
		}
	} else {
		path := loc
		if !filepath.IsAbs(path) && dir != "" {
			path = filepath.Join(dir, path)
		}
		f, err := os.Open(path)
		if err != nil {
			// The caller names the file.
			return nil, errors.New(strings.TrimPrefix(FileErr(err), path+": "))
		}
		doc.name, doc.dir, doc.file = filepath.Base(path), filepath.Dir(path), f
	}
	if err := doc.start(s.spec.MaxBody); err != nil {
		doc.close()
		return nil, err
	}
	return doc, nil
}

// download fetches loc into a temporary file, unlinked at once where the
// system allows it, so that even a killed run leaves nothing behind.
func (s *sitemapSource) download(doc *sitemapDoc, loc string) error {
	f, err := os.CreateTemp("", "cachewarm-sitemap-*")
	if err != nil {
		return fmt.Errorf("temporary file: %w", err)
	}
	if os.Remove(f.Name()) != nil {
		doc.tmp = f.Name()
	}
	doc.file = f
	if _, ferr := s.client.Copy(s.ctx, fetch.Request{URL: loc, AllowEmpty: true}, f); ferr != nil {
		doc.close()
		return ferr
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		doc.close()
		return fmt.Errorf("temporary file: %w", err)
	}
	return nil
}

// start reads the document up to its root element: <urlset> or
// <sitemapindex>. A gzip file (by its first bytes, whatever its name) is
// decompressed, at most maxBody bytes of it. Whatever its size, the
// document is read as a stream, within the bounds xmlInput sets.
func (d *sitemapDoc) start(maxBody int64) error {
	br := bufio.NewReaderSize(d.file, 64<<10)
	if head, _ := br.Peek(2); bytes.Equal(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("does not decompress: %w", err)
		}
		br = bufio.NewReaderSize(&limitedReader{r: zr, left: maxBody, limit: maxBody}, 64<<10)
	}
	d.in = &xmlInput{r: br}
	d.dec = xml.NewDecoder(d.in)
	for {
		tok, err := d.token()
		if err != nil {
			return d.xmlErr(err, "no root element")
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "urlset":
			case "sitemapindex":
				d.index = true
			default:
				return fmt.Errorf("not a sitemap: the root element is <%s>, not <urlset> or <sitemapindex>", truncate(se.Name.Local, 40))
			}
			return nil
		}
	}
}

// sitemapEntry is a <url> or a <sitemap> element.
type sitemapEntry struct {
	Loc, Lastmod, Priority, Changefreq string
	err                                error
}

// next reads the next <url> (or <sitemap>) element and the line it
// starts on; io.EOF once the root element ends. An entry whose <loc> is
// missing or too long (or another of its fields too long) has err set:
// only that entry is rejected.
func (d *sitemapDoc) next() (sitemapEntry, int, error) {
	want := "url"
	if d.index {
		want = "sitemap"
	}
	for {
		// Where the last token ended: the line a start tag that follows
		// whitespace (its own token) begins on.
		line := d.line()
		tok, err := d.token()
		if err != nil {
			return sitemapEntry{}, 0, d.xmlErr(err, "ends before </urlset>")
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return sitemapEntry{}, 0, io.EOF
		case xml.StartElement:
			if t.Name.Local != want {
				if err := d.skip(); err != nil {
					return sitemapEntry{}, 0, err
				}
				continue
			}
			e, err := d.readEntry()
			if err != nil {
				return sitemapEntry{}, 0, err
			}
			e.check(want)
			return e, line, nil
		}
	}
}

func (e *sitemapEntry) check(elem string) {
	e.Loc = strings.TrimSpace(e.Loc)
	switch {
	case e.Loc == "":
		e.err = fmt.Errorf("<%s> without a <loc>", elem)
	case len(e.Loc) > MaxLoc:
		e.err = fmt.Errorf("<loc> longer than %d bytes", MaxLoc)
		e.Loc = e.Loc[:64] + "…"
	}
}

// json is the entry as a report shows it.
func (e *sitemapEntry) json() []byte {
	raw, _ := json.Marshal(e.fields())
	return raw
}

func (e *sitemapEntry) fields() map[string]any {
	return map[string]any{
		"loc":        e.Loc,
		"lastmod":    strings.TrimSpace(e.Lastmod),
		"priority":   strings.TrimSpace(e.Priority),
		"changefreq": strings.TrimSpace(e.Changefreq),
	}
}

// item is a <url> as an item: an object with its four fields, each a
// string, "" when the sitemap leaves it out.
func (e *sitemapEntry) item(name string, line int) Item {
	m := e.fields()
	raw, _ := json.Marshal(m)
	return Item{Raw: raw, File: name, Line: line, value: m, decoded: true}
}

// resolve makes an index entry's <loc> absolute: against the index's URL,
// or, for a local index, left as a path (relative to its folder).
func (d *sitemapDoc) resolve(loc string) string {
	if d.base == nil {
		return loc
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	return d.base.ResolveReference(ref).String()
}

func (d *sitemapDoc) close() {
	if d.file != nil {
		d.file.Close()
	}
	if d.tmp != "" {
		os.Remove(d.tmp)
	}
}

// xmlErr says why a document could not be read on, with its line; an
// unexpected end names what was missing.
func (d *sitemapDoc) xmlErr(err error, atEOF string) error {
	line := d.line()
	var se *xml.SyntaxError
	switch {
	case errors.As(err, new(*tooLargeError)):
		return err
	case errors.As(err, &se):
		return fmt.Errorf("line %d: XML syntax error: %s", se.Line+d.in.dropped, se.Msg)
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("line %d: %s", line, atEOF)
	}
	return fmt.Errorf("line %d: %w", line, err)
}

// isHTTP says whether loc is an http(s) URL, which is fetched; anything
// else is a local path.
func isHTTP(loc string) bool {
	u, err := url.Parse(loc)
	return err == nil && weburl.Scheme(u.Scheme)
}

// mustParse parses a URL isHTTP accepted.
func mustParse(loc string) *url.URL {
	u, _ := url.Parse(loc)
	return u
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tooLargeError is a decompressed sitemap over the size limit.
type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("larger than %d bytes decompressed (run.max_body)", e.limit)
}

// limitedReader fails once more than limit bytes are read: a gzip bomb
// stops there.
type limitedReader struct {
	r           io.Reader
	left, limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, &tooLargeError{l.limit}
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, &tooLargeError{l.limit}
	}
	return n, err
}
