package fetch

import (
	"strings"
	"testing"
)

// A sitemap's URLs go to the sitemap's own host and port (http and https
// on the default ports count as one site), and to the hosts the config
// lists; the Redis server never, even when listed.
func TestHostsCheck(t *testing.T) {
	h, err := NewHosts([]string{"https://www.Shop.example/sitemap.xml", "/var/local/sitemap.xml", "http://127.0.0.1:8080/s.xml"},
		[]string{"cdn.example", "img.example:8443", "[::1]:9000", "localhost:6379"})
	if err != nil {
		t.Fatal(err)
	}
	h = h.Refusing("the Redis server", "localhost:6379", "127.0.0.1:6379")
	tests := []struct{ url, err string }{
		{"https://www.shop.example/p/1", ""},
		{"http://www.shop.example/p/1", ""},
		{"https://www.shop.example:443/p/1", ""},
		{"https://www.shop.example:8443/p/1", "host not allowed: www.shop.example:8443"},
		{"https://shop.example/p/1", "host not allowed: shop.example"},
		{"https://evil.www.shop.example/p/1", "host not allowed: evil.www.shop.example"},
		{"http://127.0.0.1:8080/p", ""},
		{"http://127.0.0.1:6379/", "host not allowed: 127.0.0.1:6379 (the Redis server)"},
		{"http://127.0.0.2:8080/p", "host not allowed: 127.0.0.2:8080"},
		{"http://127.0.0.1/p", "host not allowed: 127.0.0.1"},
		{"https://cdn.example/a.jpg", ""},
		{"http://cdn.example:8080/a.jpg", "host not allowed: cdn.example:8080"},
		{"https://img.example:8443/a", ""},
		{"https://img.example/a", "host not allowed: img.example"},
		{"http://[::1]:9000/a", ""},
		{"http://localhost:6379/", "host not allowed: localhost:6379 (the Redis server)"},
		{"http://user:pw@other.example/", "host not allowed: other.example"},
		// Not a URL a request can be made to: the request says why.
		{"ftp://other.example/", ""},
		{"/relative", ""},
	}
	for _, tt := range tests {
		err := h.Check(tt.url)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || err.Error() != tt.err) {
			t.Errorf("Check(%s) = %v, want %q", tt.url, err, tt.err)
		}
	}
}

func TestCheckHostEntry(t *testing.T) {
	for _, ok := range []string{"cdn.example", "cdn.example:8443", "127.0.0.1", "[::1]", "[::1]:80", "::1"} {
		if err := CheckHostEntry(ok); err != nil {
			t.Errorf("CheckHostEntry(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "https://cdn.example", "cdn.example/x", "cdn.example:", "cdn.example:http", "cdn.example:70000", "user@cdn", "a b", "[]", "::zz"} {
		if err := CheckHostEntry(bad); err == nil || !strings.Contains(err.Error(), "is not a host or host:port") {
			t.Errorf("CheckHostEntry(%q) = %v", bad, err)
		}
	}
}
