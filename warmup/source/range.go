package source

import (
	"context"
	"fmt"
	"strconv"
)

// RangeSpec is items = { range = [first, last] }: the integers from First
// to Last, both included, each an int64 item.
type RangeSpec struct {
	First, Last int64
	counted
}

type rangeKind struct{}

type rangeShape struct {
	Range []int64 `toml:"range"`
}

func (rangeKind) Key() string { return "range" }
func (rangeKind) Shape() any  { return &rangeShape{} }

func (rangeKind) Decode(shape any, d Decoder) Spec {
	r := shape.(*rangeShape).Range
	if r == nil {
		return nil
	}
	switch {
	case len(r) != 2:
		d.Fail(d.Path("range"), "range needs two integers [first, last]")
	case r[0] > r[1]:
		d.Fail(d.Path("range"), "range [%d, %d] runs backwards", r[0], r[1])
	default:
		return RangeSpec{First: r[0], Last: r[1]}
	}
	return RangeSpec{}
}

// Describe is "range 1..100".
func (s RangeSpec) Describe() string { return fmt.Sprintf("range %d..%d", s.First, s.Last) }

func (s RangeSpec) open(_ context.Context, from *Resume) (Source, error) {
	next := s.First
	if from != nil {
		if from.Next < s.First || from.Next > s.Last {
			return nil, fmt.Errorf("resume point %d is outside range [%d, %d]", from.Next, s.First, s.Last)
		}
		next = from.Next
	}
	return &rangeSource{next: next, last: s.Last}, nil
}

func (RangeSpec) check(context.Context) error    { return nil }
func (RangeSpec) describeResume(r Resume) string { return fmt.Sprintf("from %d", r.Next) }
func (RangeSpec) family() string                 { return familyPosition }

type rangeSource struct {
	next, last int64
	done       bool
}

func (s *rangeSource) Next() (Item, bool) {
	if s.done || s.next > s.last {
		return Item{}, false
	}
	n := s.next
	if n == s.last {
		s.done = true
	} else {
		s.next++
	}
	return rangeItem(n), true
}

// rangeItem is a range's item n: an int64, which templates print as its
// digits, so it renders from Raw.
func rangeItem(n int64) Item {
	return Item{Raw: strconv.AppendInt(nil, n, 10), value: n, decoded: true, rawExact: true}
}
func (s *rangeSource) Err() error { return nil }
func (s *rangeSource) Total() int64 {
	if s.done {
		return 0
	}
	return s.last - s.next + 1
}
func (s *rangeSource) Resume() Resume {
	left := s.Total()
	return Resume{Done: left == 0, Next: s.next, Remaining: left}
}
func (s *rangeSource) Close() error { return nil }
