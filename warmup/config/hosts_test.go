package config_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/warmup/config"
)

// A password from ${VAR} in a URL's user info is the password, whatever
// it holds: '@', ':' or '/' in it cannot move the host the URL names, and
// neither its plain nor its encoded form is shown.
func TestSecretInUserInfoKeepsTheHost(t *testing.T) {
	const pw = "SEKRITpa:ss@127.0.0.2:9/x #%"
	cfg := loadConfig(t, `[redis]
url = "redis://:${RPW}@127.0.0.1:6390/0"
[[loader]]
name = "a"
items = { list = ["1"] }
key = "k:{{.}}"
fetch = { url = "http://u:${UPW}@127.0.0.1:8081/ok/{{.}}" }
`, nil, map[string]string{"UPW": pw, "RPW": pw})
	for what, raw := range map[string]string{
		"fetch.url": strings.ReplaceAll(cfg.Loaders[0].Fetch.URL.Text, "{{.}}", "1"),
		"redis.url": cfg.Redis.URL,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got, _ := u.User.Password()
		if u.Host != "127.0.0.1:8081" && u.Host != "127.0.0.1:6390" || got != pw {
			t.Errorf("%s: host %q, password %q; want the written host and the whole password", what, u.Host, got)
		}
		if shown := cfg.Secrets().Redact(raw); strings.Contains(shown, "SEKRIT") || strings.Contains(shown, "127.0.0.2") {
			t.Errorf("%s shown as %q", what, shown)
		}
	}
}

// Every loader that fetches sends its requests only to the host its URL
// template names in its literal text, or to one its hosts list; a
// template whose host comes from the item names none; the Redis server is
// never fetched.
func TestFetchHostsOfEveryLoader(t *testing.T) {
	tests := []struct {
		name, url, hosts string
		allowed, refused []string
	}{
		{"literal host", "http://127.0.0.1:8081{{.}}", "",
			[]string{"http://127.0.0.1:8081/a"},
			[]string{"http://127.0.0.1:8081@127.0.0.2:8081/x", "http://127.0.0.2:8081/x", "http://127.0.0.1:8082/x", "http://127.0.0.1:6390/"}},
		{"literal host with user info", "http://u:p@127.0.0.1:8081/{{.}}", "",
			[]string{"http://u:p@127.0.0.1:8081/a"}, []string{"http://127.0.0.2:8081/a"}},
		{"default ports are one site", "https://shop.example/{{.}}", "",
			[]string{"https://shop.example/a", "http://shop.example/a"}, []string{"https://evil.shop.example/a"}},
		{"host cut by an action", "http://user:{{.}}/ok", "",
			nil, []string{"http://user:x@127.0.0.2:8081/x/ok"}},
		{"hosts let another host through", "http://127.0.0.1:8081/{{.}}", `"127.0.0.2:8081"`,
			[]string{"http://127.0.0.1:8081/a", "http://127.0.0.2:8081/a"}, []string{"http://127.0.0.3:8081/a"}},
		{"host from the item", "{{.}}", "",
			[]string{"http://127.0.0.2:8081/a", "https://other.example/"}, []string{"http://127.0.0.1:6390/"}},
		{"host from the item, hosts given", "http://{{.}}/", `"a.example"`,
			[]string{"http://a.example/"}, []string{"http://b.example/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toml := "[redis]\nurl = \"redis://127.0.0.1:6390/0\"\n[[loader]]\nname = \"a\"\nitems = { list = [\"1\"] }\nkey = \"k:{{.}}\"\nfetch = { url = \"" + tt.url + "\" }\n"
			if tt.hosts != "" {
				toml += "hosts = [" + tt.hosts + "]\n"
			}
			cfg := loadConfig(t, toml, nil, nil)
			h := cfg.Loaders[0].FetchHosts(cfg.Redis.Addresses())
			if h == nil {
				t.Fatal("no Hosts: the loader's requests may go anywhere")
			}
			for _, u := range tt.allowed {
				if err := h.Check(u); err != nil {
					t.Errorf("Check(%s) = %v, want allowed", u, err)
				}
			}
			for _, u := range tt.refused {
				if err := h.Check(u); err == nil || !strings.HasPrefix(err.Error(), "host not allowed: ") {
					t.Errorf("Check(%s) = %v, want host not allowed", u, err)
				}
			}
		})
	}
}

// A value from the environment is text in a template, never template
// code: a token holding "{{" renders as it is written, in a key, a URL
// and a value alike.
func TestEnvValueIsNotTemplateCode(t *testing.T) {
	const tok = `SEK{{"lit"}}RIT`
	cfg := loadConfig(t, `[[loader]]
name = "a"
items = { list = ["1"] }
key = "k:${TP}:{{.}}"
fetch = { url = "http://127.0.0.1:8081/${TP}/{{.}}" }
value = "${TP}{{.item}}"
`, nil, map[string]string{"TP": tok})
	l := cfg.Loaders[0]
	for what, tt := range map[string]struct {
		tmpl *config.Template
		data any
		want string
	}{
		"key":   {l.Key, "1", "k:" + tok + ":1"},
		"url":   {l.Fetch.URL, "1", "http://127.0.0.1:8081/" + tok + "/1"},
		"value": {l.Value, map[string]any{"item": "1"}, tok + "1"},
	} {
		var b strings.Builder
		got, err := tt.tmpl.Execute(tt.data, &b)
		if err != nil || got != tt.want {
			t.Errorf("%s = %q, %v; want %q", what, got, err, tt.want)
		}
	}
}
