// Package redact keeps secrets out of what cachewarm shows: one Redactor
// that knows a run's secret values (passwords, tokens, header values,
// values brought in from ${VAR}), and the rules that find the secrets a
// URL or a database DSN carries. Every place that shows a URL, a DSN or
// an error that may quote one goes through it.
package redact

import (
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Redactor removes known secrets (passwords, tokens, header values) from
// any text before it is shown, logged or written to a report.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
	r       *strings.Replacer
}

// Add registers secret values. Values shorter than 3 characters are
// ignored: replacing them would garble ordinary text.
func (r *Redactor) Add(secrets ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	had := len(r.secrets)
	for _, secret := range secrets {
		if len(secret) >= 3 && !slices.Contains(r.secrets, secret) {
			r.secrets = append(r.secrets, secret)
		}
	}
	if len(r.secrets) == had {
		return
	}
	// Longest first, so a secret that contains another is replaced whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	pairs := make([]string, 0, 2*len(r.secrets))
	for _, s := range r.secrets {
		pairs = append(pairs, s, "***")
		if esc := url.QueryEscape(s); esc != s {
			pairs = append(pairs, esc, "***")
		}
	}
	r.r = strings.NewReplacer(pairs...)
}

// AddHeader registers a request header's value as secret when the header
// usually carries credentials.
func (r *Redactor) AddHeader(name, value string) {
	if !CredentialName(name) {
		return
	}
	r.Add(value)
	if _, tok, ok := strings.Cut(value, " "); ok {
		r.Add(strings.TrimSpace(tok))
	}
}

// CredentialName says whether a header, query parameter or DSN keyword
// of this name usually carries credentials (Authorization, X-Api-Key,
// Cookie, token, password, …).
func CredentialName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range credentialWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return slices.Contains(credentialNames, n)
}

// credentialWords are what a credential's name holds: presigned URLs'
// signatures (sig, X-Amz-Signature) and JWTs included.
var credentialWords = []string{"auth", "token", "key", "secret", "cookie", "pass", "session", "credential", "sig", "jwt", "bearer", "pwd", "hmac"}

// credentialNames are short names of credentials, matched whole: as parts
// of longer names they would hide ordinary words.
var credentialNames = []string{"pw", "sas", "otp", "policy"}

// credentialParam is a credential-like URL parameter's name and '=' (a
// query's or a fragment's), then its value, short of a punctuation mark
// that ends it in a sentence ("…?token=x: 404").
var credentialParam = regexp.MustCompile(`(?i)([?&#](?:[^=&\s"'#?]*(?:auth|token|key|secret|cookie|pass|session|credential|sig|jwt|bearer|pwd|hmac)[^=&\s"'#?]*|pw|sas|otp|policy)=)[^&\s"'#]*[^&\s"'#:,.;)]`)

// urlUserinfo is a URL's scheme and its user info: what a URL an item
// brought (url = "{{.}}") carries as credentials.
var urlUserinfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@"'?#]+@`)

// Redact returns s with every registered secret replaced by ***, and the
// value of every credential-like URL parameter in it (?token=…, &api_key=…)
// too: a URL rendered from an item's data can hold a secret the Redactor
// was never told, half literal and half the item's.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	rep := r.r
	r.mu.RUnlock()
	if rep != nil {
		s = rep.Replace(s)
	}
	if strings.ContainsAny(s, "?#") {
		s = credentialParam.ReplaceAllString(s, "${1}***")
	}
	if strings.Contains(s, "@") && strings.Contains(s, "://") {
		s = urlUserinfo.ReplaceAllStringFunc(s, func(m string) string {
			if strings.Contains(m, "***") {
				return m // hidden already, its user shown (user:***@)
			}
			scheme, _, _ := strings.Cut(m, "://")
			return scheme + "://***@"
		})
	}
	return s
}

// URL hides the password of a URL's user info: redis://:***@host.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Unparseable: drop anything that looks like user info, and the
		// values of credential-like query parameters.
		raw = hideQuery(raw)
		if at := strings.LastIndex(raw, "@"); at >= 0 {
			if s := strings.Index(raw, "://"); s >= 0 && s < at {
				return raw[:s+3] + "***@" + raw[at+1:]
			}
			return "***@" + raw[at+1:]
		}
		return raw
	}
	changed := false
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "***")
		} else {
			// redis://secret@host: redis-cli reads a lone user as the
			// password, and so do people.
			u.User = url.User("***")
		}
		changed = true
	}
	if q := u.Query(); len(q) > 0 {
		for k := range q {
			if CredentialName(k) {
				q.Set(k, "***")
				changed = true
			}
		}
		u.RawQuery = q.Encode()
	}
	if !changed {
		return raw
	}
	return strings.ReplaceAll(u.String(), "%2A%2A%2A", "***")
}

// URLSecrets are the credentials a URL carries: its password, a user
// given alone (which redis-cli reads as the password), and query values
// with credential-like names (?password=…).
func URLSecrets(raw string) []string {
	var secrets []string
	// Each secret as meant, as written (%2b and %2B alike) and as a URL
	// writes it again: output may carry any of them.
	add := func(written, meant string) {
		secrets = append(secrets, meant, written, url.QueryEscape(meant), url.PathEscape(meant))
	}
	// Read as written, not parsed: a URL that does not parse still has
	// its secrets hidden wherever it is quoted.
	if userinfo := rawUserinfo(raw); userinfo != "" {
		user, written, hasPassword := strings.Cut(userinfo, ":")
		if !hasPassword {
			written = user
		}
		meant, err := url.PathUnescape(written)
		if err != nil {
			meant = written
		}
		add(written, meant)
	}
	for _, pair := range queryPairs(raw) {
		k, v, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(k)
		if err != nil || !CredentialName(name) {
			continue
		}
		meant, err := url.QueryUnescape(v)
		if err != nil {
			meant = v
		}
		add(v, meant)
	}
	return slices.DeleteFunc(secrets, func(s string) bool { return s == "" })
}

// queryPairs are the name=value pairs of raw's query, as written: what
// follows its first '?', up to a '#'.
func queryPairs(raw string) []string {
	_, q, ok := strings.Cut(raw, "?")
	if !ok {
		return nil
	}
	q, _, _ = strings.Cut(q, "#")
	return strings.Split(q, "&")
}

// hideQuery replaces, in a URL that may not parse, the value of each
// credential-like query parameter with ***.
func hideQuery(raw string) string {
	for _, pair := range queryPairs(raw) {
		k, v, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if v != "" && CredentialName(name) {
			raw = strings.Replace(raw, pair, k+"=***", 1)
		}
	}
	return raw
}

// rawUserinfo is the user information of a URL as written: between
// "//" and the authority's last "@".
func rawUserinfo(raw string) string {
	_, rest, ok := strings.Cut(raw, "//")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	i := strings.LastIndex(rest, "@")
	if i < 0 {
		return ""
	}
	return rest[:i]
}

// DSNSecrets are the credentials a database DSN carries: a URL's
// (URLSecrets), or, for a PostgreSQL keyword/value DSN
// (host=db password='p w' dbname=app), the values of credential-like
// keywords both as written and as meant, so that either is hidden.
func DSNSecrets(dsn string) []string {
	if strings.Contains(dsn, "://") {
		return URLSecrets(dsn)
	}
	var secrets []string
	for _, kv := range keywordValues(dsn) {
		if CredentialName(kv.key) {
			secrets = append(secrets, kv.raw, kv.value)
			// A driver that hides the value in its own messages may
			// stop at an escaped space or quote, leaving the rest: each
			// part is a secret too.
			secrets = append(secrets, strings.FieldsFunc(kv.raw, func(r rune) bool { return r == ' ' || r == '\\' || r == '\'' })...)
		}
	}
	return secrets
}

// keywordValue is one keyword=value pair of a keyword/value DSN: raw is
// the value as written (quotes and escapes included), value as libpq
// reads it.
type keywordValue struct{ key, raw, value string }

// keywordValues splits a libpq keyword/value DSN: keyword = value pairs
// apart by blanks, a value either bare or in single quotes, \ escaping the
// next character in both. Text that does not follow the form ends it.
func keywordValues(dsn string) []keywordValue {
	var out []keywordValue
	s := dsn
	for {
		s = strings.TrimLeft(s, " \t\n\r")
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return out
		}
		key := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t\n\r")
		raw, value, rest := keywordValueAt(s)
		out = append(out, keywordValue{key: key, raw: raw, value: value})
		s = rest
	}
}

// keywordValueAt reads the value at the start of s: what was written,
// what it means, and the text after it.
func keywordValueAt(s string) (raw, value, rest string) {
	var b strings.Builder
	quoted := strings.HasPrefix(s, "'")
	i := 0
	if quoted {
		i = 1
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			b.WriteByte(s[i+1])
			i += 2
			continue
		case quoted && c == '\'':
			return s[:i+1], b.String(), s[i+1:]
		case !quoted && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return s[:i], b.String(), s[i:]
		}
		b.WriteByte(c)
		i++
	}
	return s, b.String(), ""
}

// DSN is a database DSN as it may be shown: a URL's credentials hidden
// (see URL), a keyword/value DSN's credential-like values replaced by ***.
func DSN(dsn string) string {
	var r Redactor
	r.Add(DSNSecrets(dsn)...)
	return r.Redact(URL(dsn))
}

// URL is raw as it may be shown: the credentials its form carries hidden
// (see URL) and every secret r knows replaced, wherever in it they are.
func (r *Redactor) URL(raw string) string { return r.Redact(URL(raw)) }

// DSN is dsn as it may be shown: its own credentials hidden (see DSN) and
// every secret r knows replaced.
func (r *Redactor) DSN(dsn string) string { return r.Redact(DSN(dsn)) }

// Location is a URL as a message names a place by it: without its user
// information, and with credential-like query values (?token=…) hidden.
// Text that does not parse as a URL goes through URL.
func Location(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return URL(raw)
	}
	if u.User != nil {
		u.User = nil
		raw = u.String()
	}
	return URL(raw)
}
