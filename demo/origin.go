package demo

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachewarm/cachewarm/internal/ctxsleep"
)

// Class is how the simulated origin treats a path, for all its requests.
type Class int

// The classes of paths.
const (
	// OK paths always answer 200 with a JSON document.
	OK Class = iota
	// Transient paths fail their first FailAttempts requests (503, 429 or
	// a hang until the client gives up), then answer 200 forever.
	Transient
	// Permanent paths always answer 404 Not Found.
	Permanent
)

// String returns "ok", "transient" or "permanent".
func (c Class) String() string {
	switch c {
	case OK:
		return "ok"
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Classify predicts the class the origin started with cfg gives to a
// request path: the decoded URL path, followed by "?" and the raw query
// when the URL has one ("/products/17", "/search?q=red+shoes"). It
// depends only on cfg.Seed, cfg.Permanent, cfg.Transient, cfg.Hot and
// path, so tests can tell in advance which items a run will fulfil,
// reject, or fulfil only when retried.
//
// One uniform draw u in [0, 1) from a hash of (seed, path) decides:
// u < Permanent is permanent, u < Permanent + share is transient, where
// share is Hot[p] for the longest prefix p of path in Hot, else
// Transient. Because of this, raising a share only ever turns ok paths
// into transient ones.
func Classify(cfg OriginConfig, path string) Class {
	r := rand.New(rand.NewPCG(pathHash(cfg.Seed, path), streamClass))
	u := r.Float64()
	switch {
	case u < cfg.Permanent:
		return Permanent
	case u < cfg.Permanent+transientShare(cfg, path):
		return Transient
	}
	return OK
}

// transientShare is Hot[longest prefix of path], or cfg.Transient.
func transientShare(cfg OriginConfig, path string) float64 {
	share, best := cfg.Transient, -1
	for prefix, s := range cfg.Hot {
		if len(prefix) > best && strings.HasPrefix(path, prefix) {
			share, best = s, len(prefix)
		}
	}
	return share
}

// Independent random streams drawn from the same path hash.
const (
	streamClass   = 0x636c617373     // "class"
	streamBody    = 0x626f6479       // "body"
	streamRequest = 0x72657175657374 // "request", plus the request number
)

// pathHash is FNV-1a 64 of the seed (little endian) and the path, passed
// through a SplitMix64 finaliser so that similar paths land far apart.
func pathHash(seed int64, path string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	io.WriteString(h, path)
	return mix64(h.Sum64())
}

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// outcome is what one request gets.
type outcome int

const (
	answerOK          outcome = iota // 200 with the document
	answerNotFound                   // 404
	answerUnavailable                // 503
	answerTooMany                    // 429
	answerHang                       // no answer until the request is cancelled
)

// Shares of a transient path's failures: the rest are 503s.
const (
	shareTooMany = 0.15
	shareHang    = 0.15
	// shareSlow of the requests take 3× longer.
	shareSlow = 0.05
)

// plan decides the outcome and the delay of request number n (from 1) for
// path, from (seed, path, n) alone.
func plan(cfg OriginConfig, path string, n int64) (outcome, time.Duration) {
	r := rand.New(rand.NewPCG(pathHash(cfg.Seed, path), mix64(streamRequest+uint64(n))))
	factor := 0.5 + r.Float64()
	if r.Float64() < shareSlow {
		factor *= 3
	}
	delay := time.Duration(float64(cfg.Latency) * factor)

	switch Classify(cfg, path) {
	case Permanent:
		return answerNotFound, delay
	case Transient:
		if n > int64(cfg.FailAttempts) {
			return answerOK, delay
		}
		switch u := r.Float64(); {
		case u < shareHang:
			return answerHang, 0
		case u < shareHang+shareTooMany:
			return answerTooMany, delay
		}
		return answerUnavailable, delay
	}
	return answerOK, delay
}

// Origin is a simulated HTTP origin on a loopback port, for demos and
// tests. It serves a small JSON document for every GET path, except that
// some paths fail as described by its OriginConfig (see Classify).
// Everything it does is deterministic for a given seed, path and request
// number, apart from timing.
type Origin struct {
	cfg    OriginConfig
	srv    *http.Server
	url    string
	cancel context.CancelFunc
	served chan struct{}
	once   sync.Once
	// onHang, when set, is told the path of each request that starts to
	// hang (tests only).
	onHang func(path string)

	mu     sync.Mutex
	counts map[string]*atomic.Int64
	total  atomic.Int64
}

// StartOrigin starts a simulated origin on 127.0.0.1 at a free port.
// Call Close to stop it.
//
// Every GET or HEAD answers application/json after about cfg.Latency
// (0.5× to 1.5×, and 3× that for about 5% of requests; 0 answers at
// once). What it answers depends on the path's class (see Classify): ok
// paths get a small document such as {"path":"/products/17","id":"17",
// "name":"Organic Ceramic Chair","price":146.43,...}; permanent paths
// get 404; transient paths fail their first cfg.FailAttempts requests,
// mostly with 503, some with 429 (Retry-After: 1), and some hang until
// the client gives up, then answer like ok paths. StartOrigin refuses
// shares outside 0..1 and negative latency or fail attempts.
func StartOrigin(cfg OriginConfig) (*Origin, error) {
	return startOrigin(cfg, nil)
}

func startOrigin(cfg OriginConfig, onHang func(string)) (*Origin, error) {
	if err := checkOriginConfig(cfg); err != nil {
		return nil, err
	}
	cfg.Hot = maps.Clone(cfg.Hot)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening: %w", err)
	}
	base, cancel := context.WithCancel(context.Background())
	o := &Origin{
		cfg:    cfg,
		url:    "http://" + ln.Addr().String(),
		cancel: cancel,
		served: make(chan struct{}),
		onHang: onHang,
		counts: map[string]*atomic.Int64{},
	}
	o.srv = &http.Server{
		Handler:           http.HandlerFunc(o.serve),
		ReadHeaderTimeout: 10 * time.Second,
		// Every request context derives from base, so Close unblocks
		// hanging and waiting handlers by cancelling it.
		BaseContext: func(net.Listener) context.Context { return base },
		// Keep net/http's own complaints off the terminal (the TUI owns it).
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(o.served)
		o.srv.Serve(ln)
	}()
	return o, nil
}

// checkOriginConfig refuses the settings problems finds. Its errors do
// not name the origin: the caller's context does.
func checkOriginConfig(cfg OriginConfig) error {
	var errs []error
	for _, p := range cfg.problems() {
		errs = append(errs, fmt.Errorf("%s: %s", p.key, p.msg))
	}
	return errors.Join(errs...)
}

// problem is a setting StartOrigin refuses, named by its [origin] key.
type problem struct {
	key, msg string
}

// problems lists the settings StartOrigin refuses: latency,
// fail_attempts, transient, permanent, then the hot prefixes in order, so
// that the first one is the same every run. The [origin] table is checked
// with it too, so that whatever the config accepts, StartOrigin starts.
func (cfg OriginConfig) problems() []problem {
	var ps []problem
	if cfg.Latency < 0 {
		ps = append(ps, problem{"latency", fmt.Sprintf("must not be negative, got %s", cfg.Latency)})
	}
	if cfg.FailAttempts < 0 {
		ps = append(ps, problem{"fail_attempts", fmt.Sprintf("must be 0 or more, got %d", cfg.FailAttempts)})
	}
	type share struct {
		key   string
		value float64
	}
	shares := []share{{"transient", cfg.Transient}, {"permanent", cfg.Permanent}}
	for _, prefix := range slices.Sorted(maps.Keys(cfg.Hot)) {
		shares = append(shares, share{"hot." + prefix, cfg.Hot[prefix]})
	}
	for _, s := range shares {
		// Written so that NaN fails too.
		if !(s.value >= 0 && s.value <= 1) {
			ps = append(ps, problem{s.key, fmt.Sprintf("must be between 0 and 1, got %g", s.value)})
		}
	}
	return ps
}

// URL returns the origin's base URL, "http://127.0.0.1:PORT", without a
// trailing slash.
func (o *Origin) URL() string { return o.url }

// Requests returns how many GET or HEAD requests path (written as for
// Classify) has received so far, including ones still in progress.
func (o *Origin) Requests(path string) int64 {
	o.mu.Lock()
	c := o.counts[path]
	o.mu.Unlock()
	if c == nil {
		return 0
	}
	return c.Load()
}

// Total returns how many GET or HEAD requests the origin has received.
func (o *Origin) Total() int64 { return o.total.Load() }

// Close stops the origin. Requests in progress, hanging ones included,
// are cut off: their clients see the connection close. Calling Close
// again does nothing.
func (o *Origin) Close() {
	o.once.Do(func() {
		o.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := o.srv.Shutdown(ctx); err != nil {
			o.srv.Close()
		}
		<-o.served
	})
}

func (o *Origin) counter(path string) *atomic.Int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.counts[path]
	if c == nil {
		c = new(atomic.Int64)
		o.counts[path] = c
	}
	return c
}

// serve answers one request as the configuration says.
func (o *Origin) serve(w http.ResponseWriter, r *http.Request) {
	p := requestPath(r.URL)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, errorDoc(p, http.StatusMethodNotAllowed))
		return
	}
	n := o.counter(p).Add(1)
	o.total.Add(1)
	what, delay := plan(o.cfg, p, n)
	ctx := r.Context()
	if what == answerHang {
		if o.onHang != nil {
			o.onHang(p)
		}
		<-ctx.Done()
		abort()
	}
	if !ctxsleep.Sleep(ctx, delay) {
		abort()
	}
	switch what {
	case answerNotFound:
		writeJSON(w, http.StatusNotFound, errorDoc(p, http.StatusNotFound))
	case answerUnavailable:
		writeJSON(w, http.StatusServiceUnavailable, errorDoc(p, http.StatusServiceUnavailable))
	case answerTooMany:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, errorDoc(p, http.StatusTooManyRequests))
	default:
		writeJSON(w, http.StatusOK, documentFor(o.cfg.Seed, p))
	}
}

// requestPath is the key a request is classified and counted by: the
// decoded path, plus the raw query when there is one, so that items told
// apart only by their query string are told apart here too.
func requestPath(u *url.URL) string {
	if u.RawQuery == "" {
		return u.Path
	}
	return u.Path + "?" + u.RawQuery
}

// abort ends the handler without an answer: net/http closes the
// connection instead of sending an empty 200.
func abort() { panic(http.ErrAbortHandler) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only our own plain structs get here.
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body.Bytes())
}

// errorBody is what failures answer.
type errorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
	Path   string `json:"path"`
}

func errorDoc(path string, status int) errorBody {
	return errorBody{Error: strings.ToLower(http.StatusText(status)), Status: status, Path: path}
}

// document is the JSON a successful request answers.
type document struct {
	Path     string  `json:"path"`
	ID       string  `json:"id"`
	Kind     string  `json:"kind,omitempty"`
	Name     string  `json:"name"`
	Price    float64 `json:"price"`
	Currency string  `json:"currency"`
	Stock    int     `json:"stock"`
	Updated  string  `json:"updated"`
}

// documentFor derives a small, plausible document from the path: the
// same path and seed always give the same bytes.
func documentFor(seed int64, key string) document {
	r := rand.New(rand.NewPCG(pathHash(seed, key), streamBody))
	adjectives := [...]string{"Brushed", "Compact", "Classic", "Organic", "Vintage", "Wireless", "Foldable", "Heavy-duty", "Handmade", "Recycled", "Smart", "Waterproof"}
	materials := [...]string{"Steel", "Oak", "Linen", "Ceramic", "Bamboo", "Leather", "Glass", "Wool", "Copper", "Cotton"}
	nouns := [...]string{"Kettle", "Lamp", "Backpack", "Chair", "Notebook", "Speaker", "Mug", "Blanket", "Watch", "Jacket", "Planter", "Desk"}
	p, query, _ := strings.Cut(key, "?")
	kind, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	id := path.Base(p)
	if id == "/" || id == "." {
		id = ""
	}
	// /search?q=shoes&page=2 is about "shoes": the first query value.
	for pair := range strings.SplitSeq(query, "&") {
		_, v, _ := strings.Cut(pair, "=")
		if v, err := url.QueryUnescape(v); err == nil && v != "" {
			id = v
			break
		}
	}
	if kind == id {
		kind = ""
	}
	updated := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC).
		Add(time.Duration(r.IntN(365*24*3600)) * time.Second)
	return document{
		Path:     key,
		ID:       id,
		Kind:     kind,
		Name:     adjectives[r.IntN(len(adjectives))] + " " + materials[r.IntN(len(materials))] + " " + nouns[r.IntN(len(nouns))],
		Price:    float64(199+r.IntN(49800)) / 100,
		Currency: "EUR",
		Stock:    r.IntN(250),
		Updated:  updated.Format(time.RFC3339),
	}
}
