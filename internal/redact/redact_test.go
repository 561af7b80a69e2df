package redact_test

import (
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redact"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"redis://:pw@h:1/0", "redis://:***@h:1/0"},
		{"rediss://user:p%40ss@h:1", "rediss://user:***@h:1"},
		{"redis://h:1/0", "redis://h:1/0"},
		{"redis://s3cret@h:1", "redis://***@h:1"}, // redis-cli reads a lone user as the password
		{"redis://u:pa ss@h%zz", "redis://***@h%zz"},
		{"redis://h:1/0?password=s3cret&db=2", "redis://h:1/0?db=2&password=***"},
		{"http://h/leaf.xml?token=s3cret", "http://h/leaf.xml?token=***"},
	}
	for _, tc := range tests {
		if got := redact.URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDSN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://app:pw9@db:5432/shop", "postgres://app:***@db:5432/shop"},
		{"host=db password=s3cret dbname=shop", "host=db password=*** dbname=shop"},
		{`host=db password='p w\'x' dbname=shop`, "host=db password=*** dbname=shop"},
		{"sqlite:shop.db", "sqlite:shop.db"},
	}
	for _, tc := range tests {
		if got := redact.DSN(tc.in); got != tc.want {
			t.Errorf("DSN(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A value the Redactor learnt (from ${VAR}, a password file, a header) is
// hidden wherever it appears, alongside what the URL's form hides.
func TestRedactorURL(t *testing.T) {
	var r redact.Redactor
	r.Add("envtoken")
	got := r.URL("http://u:pw1@h/p/envtoken?api_key=k3y")
	if want := "http://u:***@h/p/***?api_key=***"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
}

func TestLocation(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://u:pw@h:9091/x?token=abc&a=1", "http://h:9091/x?a=1&token=***"},
		{"http://h/leaf.xml", "http://h/leaf.xml"},
		{"/var/sitemaps/a.xml", "/var/sitemaps/a.xml"},
	}
	for _, tc := range tests {
		if got := redact.Location(tc.in); got != tc.want {
			t.Errorf("Location(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A credential learnt from a URL is hidden as the URL wrote it, whatever
// its percent-encoding (%2b or %2B, %20 or +), as well as decoded: output
// quotes the URL as written, an error may quote it decoded.
func TestURLSecretsAsWritten(t *testing.T) {
	tests := []struct {
		url  string
		show []string // texts that must come out without the secret
	}{
		{"http://h/x?id={{.}}&access_token=lit%20eral%2Bsecret",
			[]string{"GET http://h/x?id=1&access_token=lit%20eral%2Bsecret: 404", "lit eral+secret", "lit+eral%2Bsecret"}},
		{"http://h/x?api_key=k%2fe%2by", []string{"http://h/x?api_key=k%2fe%2by", "k/e+y", "k%2Fe%2By"}},
		{"http://u:p%40ss%2fw@h/x", []string{"http://u:p%40ss%2fw@h/x", "p@ss/w"}},
		{"http://h:1/x?token=gw%20tok&auth=AuTh1", []string{"http://h:1/x?token=gw%20tok&auth=AuTh1", "gw tok"}},
	}
	for _, tt := range tests {
		var r redact.Redactor
		r.Add(redact.URLSecrets(tt.url)...)
		for _, s := range tt.show {
			got := r.Redact(s)
			for _, secret := range []string{"eral", "k%2fe", "k/e", "p%40ss", "p@ss", "gw%20tok", "gw tok", "AuTh1", "k%2Fe"} {
				if strings.Contains(got, secret) {
					t.Errorf("%s: Redact(%q) = %q shows %q", tt.url, s, got, secret)
				}
			}
		}
	}
}

// A URL that does not parse (a bad port, a bad escape, an open bracket)
// still has its credentials hidden, by URL and by the Redactor: config
// errors quote such URLs.
func TestUnparseableURLSecrets(t *testing.T) {
	for _, raw := range []string{
		"http://127.0.0.1:1:2/{{.}}?api_key=SEKRITlit3",
		"http://127.0.0.1:1/%zz?token=SEKRITx",
		"redis://[::1/0?password=SEKRITr",
		"http://us:SEKRITui5@127.0.0.1:1/%zz{{.}}",
	} {
		if got := redact.URL(raw); strings.Contains(got, "SEKRIT") {
			t.Errorf("URL(%q) = %q", raw, got)
		}
		var r redact.Redactor
		r.Add(redact.URLSecrets(raw)...)
		if got := r.Redact("error: " + raw); strings.Contains(got, "SEKRIT") {
			t.Errorf("Redact(%q) = %q", raw, got)
		}
	}
}

// A credential-like parameter of a URL rendered from an item's data is
// hidden though the Redactor never learnt its value; other parameters
// stay.
func TestRedactRenderedURLParams(t *testing.T) {
	var r redact.Redactor
	for in, want := range map[string]string{
		"fetch GET http://h/x?id=7&token=SEKRITx7: 404":           "fetch GET http://h/x?id=7&token=***: 404",
		"GET http://h/x?Access_Token=7SEKRIT&page=2":              "GET http://h/x?Access_Token=***&page=2",
		"GET http://h/x#token=SEKRIT":                             "GET http://h/x#token=***",
		"GET http://h/x?q=tokens are fine here":                   "GET http://h/x?q=tokens are fine here",
		`reason "http://h/?api_key=SEKRIT" was refused`:           `reason "http://h/?api_key=***" was refused`,
		"GET https://b.s3/o?X-Amz-Signature=SEKRIT&X-Amz-Date=1":  "GET https://b.s3/o?X-Amz-Signature=***&X-Amz-Date=1",
		"GET https://a.blob/c?sv=1&sig=SEKRIT%2B&jwt=SEKRIT":      "GET https://a.blob/c?sv=1&sig=***&jwt=***",
		"GET http://h/x?pw=SEKRIT&upward=1":                       "GET http://h/x?pw=***&upward=1",
		"fetch GET http://iu:SEKRITitempw@127.0.0.1:1/500/y: 500": "fetch GET http://***@127.0.0.1:1/500/y: 500",
		"redis://app:***@db:5432/shop stays":                      "redis://app:***@db:5432/shop stays",
		"key user:alice@example.com":                              "key user:alice@example.com",
	} {
		if got := r.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// pgx writes a DSN's password as xxxxx in its errors, stopping at an
// escaped space or quote: the rest of the password is hidden by ours.
func TestKeywordDSNEscapedPassword(t *testing.T) {
	for _, dsn := range []string{
		`host=db password=SEKRIT\ tailSEKRIT dbname=app sslmode=bogus`,
		`host=db password='SEKRIT\' tailSEKRIT' dbname=app`,
	} {
		var r redact.Redactor
		r.Add(redact.DSNSecrets(dsn)...)
		msg := "cannot parse `host=db password=xxxxx tailSEKRIT dbname=app`: " + dsn
		if got := r.Redact(msg); strings.Contains(got, "SEKRIT") {
			t.Errorf("%s: %q", dsn, got)
		}
	}
}
