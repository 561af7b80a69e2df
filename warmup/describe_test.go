package warmup

import "testing"

// A loader's tile names the host its fetch URL template asks; a host
// supplied by a template action shows as the action's text.
func TestHostOf(t *testing.T) {
	tests := []struct{ tmpl, want string }{
		{"https://api.shop.test/products/{{.id}}", "api.shop.test"},
		{"http://user:pw@cache.svc:8080/x?y=1", "cache.svc:8080"},
		{"https://{{.region}}.api.test/x", "{{.region}}.api.test"},
		{"{{origin}}/products/{{.id}}", "origin"},
		{"{{- .base -}}/p/{{.}}", ".base"},
		{"{{origin", "{{origin"},
	}
	for _, tc := range tests {
		if got := hostOf(tc.tmpl); got != tc.want {
			t.Errorf("hostOf(%q) = %q, want %q", tc.tmpl, got, tc.want)
		}
	}
}
