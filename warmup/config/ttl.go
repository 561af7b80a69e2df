package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Jitter is a ttl_jitter as written: a share of each loader's ttl
// ("10%") or a fixed duration ("5m"). Keys written at the same moment
// with one ttl all expire at the same moment later, and the origin
// takes every miss at once; a jitter spreads their expiries.
type Jitter struct {
	// Percent is the share of the ttl, 0 when Duration is set.
	Percent float64
	// Duration is the fixed jitter, 0 when Percent is set.
	Duration time.Duration
}

// Of is the jitter for a loader writing with ttl, to the millisecond
// (the finest TTL Redis keeps).
func (j Jitter) Of(ttl time.Duration) time.Duration {
	d := j.Duration
	if j.Percent > 0 {
		d = time.Duration(float64(ttl) * j.Percent / 100)
	}
	return d.Truncate(time.Millisecond)
}

// KeyTTL is the TTL key is written with: the loader's ttl moved by up to
// TTLJitter either way, the same for the same key every time (a retry,
// a resume, another run), and uniform across keys, so that keys warmed
// together expire spread over a window of 2×TTLJitter.
func (l *Loader) KeyTTL(key string) time.Duration {
	j := int64(l.TTLJitter / time.Millisecond)
	if j <= 0 || l.TTL <= 0 {
		return l.TTL
	}
	off := int64(keyHash(key)%uint64(2*j+1)) - j
	return l.TTL + time.Duration(off)*time.Millisecond
}

// TTLRange is the shortest and the longest TTL the loader writes a key
// with; both 0 when its keys never expire.
func (l *Loader) TTLRange() (lo, hi time.Duration) {
	return l.TTL - l.TTLJitter, l.TTL + l.TTLJitter
}

// keyHash is FNV-1a over key, then a 64-bit finalizer (splitmix64's):
// FNV's low bits alone vary too little between keys that differ in their
// last characters (p:1, p:2…) to be taken modulo a window. It allocates
// nothing: it runs for every item of a bulk load.
func keyHash(key string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// jitter reads a ttl_jitter: "10%" (below 100%) or a duration, "0" for
// none; def when not set.
func (v *validator) jitter(path string, val any, def Jitter) Jitter {
	if val == nil {
		return def
	}
	s, ok := val.(string)
	if !ok {
		if n, isInt := val.(int64); isInt && n == 0 {
			return Jitter{}
		}
		v.fail(path, "ttl_jitter must be a string such as \"10%%\" or \"5m\", not %T", val)
		return def
	}
	s = strings.TrimSpace(v.expand(path, s, false))
	if num, ok := strings.CutSuffix(s, "%"); ok {
		p, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || p < 0 || p >= 100 {
			v.fail(path, "invalid ttl_jitter %q (use a share below 100%%, e.g. \"10%%\", or a duration, e.g. \"5m\")", s)
			return def
		}
		return Jitter{Percent: p}
	}
	return Jitter{Duration: v.duration(path, val, 0, true)}
}

// loaderJitter sets l.TTLJitter from the loader's own ttl_jitter, or
// run.ttl_jitter, checked against its ttl: a key lives at least half its
// ttl, since a jitter near the ttl writes keys that expire at once (3s ±
// 2999ms: keys of 1 ms).
func (v *validator) loaderJitter(n int, r *rawLoader, run Jitter, l *Loader) {
	path := fmt.Sprintf("loader[%d].ttl_jitter", n)
	j := run
	if r.TTLJitter != nil {
		j = v.jitter(path, r.TTLJitter, Jitter{})
	} else {
		path = "run.ttl_jitter"
	}
	d := j.Of(l.TTL)
	switch {
	case d == 0:
	case l.TTL == 0 && r.TTLJitter != nil:
		v.fail(path, "keys written with no ttl never expire: a jitter needs a ttl")
	case l.TTL == 0:
		d = 0 // run.ttl_jitter spreads the loaders that have a ttl
	case 2*d > l.TTL:
		v.fail(path, "%s is more than half of loader %q's ttl (%s): some keys would expire almost at once; at most %s (50%%)", d, l.Name, l.TTL, l.TTL/2)
		d = 0
	}
	l.TTLJitter = d
	if l.Mode == ModeExpiring && d > 0 && l.ExpireBelow >= l.TTL-d {
		v.fail(fmt.Sprintf("loader[%d].expire_below", n),
			"must be below the loader's shortest ttl (%s, its ttl less ttl_jitter), or the next run rewrites keys it just wrote", l.TTL-d)
	}
}
