package journal

import (
	"fmt"
	"io"
	"iter"
	"os"
)

// Replay is what a journal on disk says of the run that wrote it.
type Replay struct {
	path   string
	Header Header
	// Ended says the run ended (its report written): nothing to resume.
	Ended bool
	// Loaders are, per loader of the header, its last mark and where its
	// standing rejections are.
	Loaders []LoaderReplay
	// Gens is the highest generation number used.
	Gens int64
}

// LoaderReplay is one loader's state in a journal.
type LoaderReplay struct {
	// Mark is the loader's last mark; nil when none was written (it read
	// nothing yet: it starts from its source's start).
	Mark *Mark
	// whole is the generation whose records all stand; partial are the
	// generations of retries cut short, whose records stand only when no
	// retry settled them (Retry false).
	whole   int64
	partial map[int64]bool
}

type genInfo struct {
	from    int64
	retried bool
}

// Read reads the journal at path through, to the last whole record.
func Read(path string) (*Replay, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	defer f.Close()
	rp := &Replay{path: path}
	gens := map[int]map[int64]*genInfo{}
	current := map[int]int64{}
	_, err = scan(f, func(r Record) bool {
		switch r.Kind {
		case KindHeader:
			if r.Header != nil && rp.Header.Config == "" {
				rp.Header = *r.Header
				rp.Loaders = make([]LoaderReplay, len(r.Header.Loaders))
			}
		case KindGen:
			if gens[r.Loader] == nil {
				gens[r.Loader] = map[int64]*genInfo{}
			}
			gens[r.Loader][r.Gen] = &genInfo{from: r.From}
			current[r.Loader] = r.Gen
			rp.Gens = max(rp.Gens, r.Gen)
		case KindRetried:
			for g, gi := range gens[r.Loader] {
				if g <= r.Gen {
					gi.retried = true
				}
			}
		case KindMark:
			if r.Loader < len(rp.Loaders) && r.Mark != nil {
				m := *r.Mark
				rp.Loaders[r.Loader].Mark = &m
			}
		case KindEnd:
			rp.Ended = true
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if rp.Header.Config == "" {
		return nil, fmt.Errorf("journal %s: no header: not a cachewarm journal", path)
	}
	for i := range rp.Loaders {
		lr := &rp.Loaders[i]
		lr.partial = map[int64]bool{}
		g := current[i]
		// A retry cut short: its items are those of the generation it
		// took from, less none (a settled retry recorded them again,
		// marked Retry), plus the first-pass rejections it saw.
		for gi := gens[i][g]; gi != nil && gi.from != 0 && !gi.retried; gi = gens[i][g] {
			lr.partial[g] = true
			g = gi.from
		}
		lr.whole = g
	}
	return rp, nil
}

// Rejections yields loader i's standing rejections whose items were read
// before its mark (the others the resumed run reads again), the raw
// rejection and its sequence number, reading the file one record at a
// time. A read error ends it and is left in *errp.
func (rp *Replay) Rejections(i int, errp *error) iter.Seq2[Record, int64] {
	return func(yield func(Record, int64) bool) {
		f, err := os.Open(rp.path)
		if err != nil {
			*errp = err
			return
		}
		defer f.Close()
		lr := rp.Loaders[i]
		below := int64(1)
		if lr.Mark != nil {
			below = lr.Mark.Seq
		}
		_, err = scan(io.Reader(f), func(r Record) bool {
			if r.Kind != KindReject || r.Loader != i || r.Seq >= below {
				return true
			}
			if r.Gen == lr.whole || (lr.partial[r.Gen] && !r.Retry) {
				return yield(r, r.Seq)
			}
			return true
		})
		if err != nil {
			*errp = err
		}
	}
}
