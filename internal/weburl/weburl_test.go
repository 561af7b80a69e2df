package weburl_test

import (
	"errors"
	"testing"

	"github.com/cachewarm/cachewarm/internal/weburl"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"http://h/p", nil},
		{"HTTPS://h:8443/p?q=1", nil},
		{"ftp://h/p", weburl.ErrScheme},
		{"/local/path", weburl.ErrScheme},
		{"mailto:a@b", weburl.ErrScheme},
		{"http:///p", weburl.ErrNoHost},
		{"http://h/%zz", weburl.ErrParse},
	}
	for _, tc := range tests {
		if _, err := weburl.Parse(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("Parse(%q) = %v, want %v", tc.in, err, tc.want)
		}
	}
}
