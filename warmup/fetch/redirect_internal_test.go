package fetch

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// A redirect keeps the private headers only to the first request's
// scheme, host and port: not to https→http on the same host (they would
// cross the network in clear text), not to another port (another
// service), not to a subdomain. A redirect to the Redis server is
// refused for a loader whose hosts allow anything.
func TestRedirectKeepsPrivateHeadersInPlace(t *testing.T) {
	hosts := AnyHost().Refusing("the Redis server", "127.0.0.1:6379")
	tests := []struct {
		name, first, next string
		kept              bool
		err               string
	}{
		{"same place", "http://Shop.example/a", "http://shop.example:80/b", true, ""},
		{"https to http", "https://shop.example/a", "http://shop.example/b", false, ""},
		{"https to its own port", "https://shop.example/a", "https://shop.example:443/b", true, ""},
		{"another port", "http://127.0.0.1:8080/a", "http://127.0.0.1:8081/b", false, ""},
		{"a subdomain", "https://shop.example/a", "https://img.shop.example/b", false, ""},
		{"another host", "https://shop.example/a", "https://other.example/b", false, ""},
		{"the Redis server", "http://127.0.0.1:8080/a", "http://127.0.0.1:6379/", false, "302 Found to a host not allowed: 127.0.0.1:6379 (the Redis server)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := withHosts(withPrivate(context.Background(), map[string]bool{"Authorization": true, "X-Custom": true}), hosts)
			first, err := http.NewRequestWithContext(ctx, http.MethodGet, tt.first, nil)
			if err != nil {
				t.Fatal(err)
			}
			next, err := http.NewRequestWithContext(ctx, http.MethodGet, tt.next, nil)
			if err != nil {
				t.Fatal(err)
			}
			next.Response = &http.Response{StatusCode: http.StatusFound}
			next.Header.Set("Authorization", "Bearer s3cret")
			next.Header.Set("X-Custom", "s3cret")
			next.Header.Set("Accept", "*/*")
			err = checkRedirect(next, []*http.Request{first})
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("checkRedirect = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			kept := next.Header.Get("Authorization") != "" || next.Header.Get("X-Custom") != ""
			if kept != tt.kept || next.Header.Get("Accept") == "" {
				t.Errorf("private headers kept = %v, want %v (headers %v)", kept, tt.kept, strings.Join(keys(next.Header), ","))
			}
		})
	}
}

func keys(h http.Header) []string {
	var out []string
	for k := range h {
		out = append(out, k)
	}
	return out
}
