package source

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The registry the config asks knows every kind by its key, in the order
// messages name them, and its items shape has each kind's keys once.
func TestKinds(t *testing.T) {
	r := Kinds()
	if got, want := r.keyList(), "file, list, range, sitemap or sql"; got != want {
		t.Errorf("keys %q, want %q", got, want)
	}
	var keys []string
	shape := r.Shape().Elem()
	for i := range shape.NumField() {
		name, _, _ := strings.Cut(shape.Field(i).Tag.Get("toml"), ",")
		keys = append(keys, name)
	}
	if want := []string{"file", "format", "list", "range", "sitemap", "sql", "dsn"}; !slices.Equal(keys, want) {
		t.Errorf("items keys %v, want %v", keys, want)
	}
	if r.Shape().Kind() != reflect.Pointer {
		t.Errorf("shape %v is not a pointer: an absent items table would not be nil", r.Shape())
	}
}

// Two kinds claiming one key is a programming mistake, refused when the
// registry is built (by this test, before any user sees it).
func TestKindsDuplicateKey(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("two kinds with the key list were registered")
		}
	}()
	NewRegistry(listKind{}, listKind{})
}
