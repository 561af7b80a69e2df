package warmup

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/cachewarm/cachewarm/warmup/source"
)

// Shard is one process's share of a run split across machines: the items
// whose key hashes to K of N (0 ≤ K < N, numbered from 0 like Kubernetes'
// JOB_COMPLETION_INDEX). The zero Shard is a run that owns every item.
type Shard struct {
	K int `json:"k"`
	N int `json:"n"`
}

// ParseShard reads "k/n".
func ParseShard(s string) (Shard, error) {
	ks, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Shard{}, fmt.Errorf("%q: want k/n, numbered from 0 (0/3, 1/3, 2/3)", s)
	}
	k, err := strconv.Atoi(ks)
	if err != nil {
		return Shard{}, fmt.Errorf("%q: k is not a number", s)
	}
	n, err := strconv.Atoi(ns)
	if err != nil {
		return Shard{}, fmt.Errorf("%q: n is not a number", s)
	}
	return NewShard(k, n)
}

// check is the one rule for a shard's numbers.
func (s Shard) check() error {
	switch {
	case s.N < 1:
		return fmt.Errorf("%s: n must be at least 1", s)
	case s.K < 0 || s.K >= s.N:
		return fmt.Errorf("%s: k must be from 0 to %d (shards are numbered from 0)", s, s.N-1)
	}
	return nil
}

// NewShard is shard k of n, checked.
func NewShard(k, n int) (Shard, error) {
	s := Shard{K: k, N: n}
	return s, s.check()
}

// Set reports whether s splits the run (the zero Shard does not).
func (s Shard) Set() bool { return s.N > 0 }

// String is "k/n".
func (s Shard) String() string { return strconv.Itoa(s.K) + "/" + strconv.Itoa(s.N) }

// describeShard names a shard, or says there is none, for messages.
func describeShard(s *Shard) string {
	if s == nil || !s.Set() {
		return "not sharded"
	}
	return "shard " + s.String()
}

// shardOf is the shard, of n, that owns a key: FNV-1a 64 of its bytes,
// mixed by murmur3's finalizer (FNV alone leaves keys that differ in their
// last bytes, "product:1", "product:2", unevenly spread), scaled to n by
// its high bits. Every process must agree on it: changing it splits a run
// differently from its reports.
func shardOf(key string, n int) int {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= prime64
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	hi, _ := bits.Mul64(h, uint64(n))
	return int(hi)
}

// owns decides whether this process runs it, before anything is fetched.
// An item is placed by its rendered key; one whose key cannot be rendered
// (or that the source could not read) by its raw bytes, so that exactly
// one shard rejects it. It returns the key when it rendered one, so that
// the item need not render it again.
func (e *Engine) owns(lr *loaderRun, it *source.Item) (key string, owned bool) {
	n := e.opts.Shard.N
	if n <= 1 {
		return "", true
	}
	if it.Err == nil {
		if k, _, err := renderItem(lr.cfg.Key, it); err == nil && k != "" {
			return k, shardOf(k, n) == e.opts.Shard.K
		}
	}
	raw := string(it.Raw)
	if raw == "" {
		raw = it.Where()
	}
	return "", shardOf(raw, n) == e.opts.Shard.K
}

// shareOf is how many of a source's total items this process runs: all
// of them, or, sharded, unknown (-1) until the source has been read.
func (e *Engine) shareOf(total int64) int64 {
	if e.opts.Shard.N > 1 {
		return -1
	}
	return total
}

// checkRetryShard refuses to go on from a report with another share of
// the items than this run's: its resume points and rejected items are
// its shard's alone.
func checkRetryShard(rep *Report, run Shard) error {
	if rep.Merged != nil {
		return errors.New("a merged report is for reading and alerting: run --retry-from with each shard's own report (and its --shard)")
	}
	var had Shard
	if rep.Shard != nil {
		had = *rep.Shard
	}
	if had != run {
		return fmt.Errorf("the report's run was %s and this one is %s: --retry-from a shard's report with the same --shard, or none (it is taken from the report)",
			describeShard(&had), describeShard(&run))
	}
	return nil
}
