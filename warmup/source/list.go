package source

import (
	"context"
	"encoding/json"
	"fmt"
)

// ListSpec is items = { list = [...] }: the config's own strings and
// numbers, each an item as TOML wrote it (an int64, a float64, a string).
type ListSpec struct {
	Items []any
	counted
}

type listKind struct{}

func (listKind) Key() string { return "list" }
func (listKind) Shape() any  { return &listShape{} }

type listShape struct {
	List []any `toml:"list"`
}

func (listKind) Decode(shape any, d Decoder) Spec {
	raw := shape.(*listShape).List
	if raw == nil {
		return nil
	}
	spec := ListSpec{Items: make([]any, 0, len(raw))}
	for i, it := range raw {
		at := fmt.Sprintf("%s[%d]", d.Path("list"), i)
		switch x := it.(type) {
		case string:
			spec.Items = append(spec.Items, d.Expand(at, x, false))
		case int64, float64:
			spec.Items = append(spec.Items, x)
		default:
			d.Fail(at, "list items must be strings or numbers, not %T", it)
		}
	}
	return spec
}

// Describe is "list of 3".
func (s ListSpec) Describe() string { return fmt.Sprintf("list of %d", len(s.Items)) }

func (s ListSpec) open(_ context.Context, from *Resume) (Source, error) {
	items := make([]Item, 0, len(s.Items))
	for _, v := range s.Items {
		raw, _ := json.Marshal(v)
		items = append(items, Item{Raw: raw, value: v, decoded: true})
	}
	return startSlice(items, from)
}

func (ListSpec) check(context.Context) error    { return nil }
func (ListSpec) describeResume(r Resume) string { return fmt.Sprintf("from item %d", r.Next+1) }
func (ListSpec) family() string                 { return familyPosition }

func startSlice(items []Item, from *Resume) (Source, error) {
	s := &sliceSource{items: items}
	if from != nil {
		if from.Next < 0 || from.Next > int64(len(items)) {
			return nil, fmt.Errorf("resume point item %d is past the list's %d items", from.Next+1, len(items))
		}
		s.i = int(from.Next)
	}
	return s, nil
}

// Slice streams items already in memory.
func Slice(items []Item) Source { return &sliceSource{items: items} }

type sliceSource struct {
	items []Item
	i     int
}

func (s *sliceSource) Next() (Item, bool) {
	if s.i >= len(s.items) {
		return Item{}, false
	}
	it := s.items[s.i]
	s.items[s.i] = Item{} // let the GC have it
	s.i++
	return it, true
}
func (s *sliceSource) Err() error   { return nil }
func (s *sliceSource) Total() int64 { return int64(len(s.items) - s.i) }
func (s *sliceSource) Resume() Resume {
	left := int64(len(s.items) - s.i)
	return Resume{Done: left == 0, Next: int64(s.i), Remaining: left}
}
func (s *sliceSource) Close() error { return nil }
