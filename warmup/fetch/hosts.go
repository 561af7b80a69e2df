package fetch

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/cachewarm/cachewarm/internal/weburl"
)

// Hosts is where a loader's requests may go: the hosts its config names
// (its URL template's literal host, a sitemap's, hosts = [...]), since
// an item or a sitemap's <loc> could otherwise choose where its headers
// and credentials are sent. A URL's place is its host and port; the web's default
// ports, 80 and 443, count as one, since a site's http:// and https://
// URLs are one site. Any other port must be named: a <loc> naming another
// service on the sitemap's own host (Redis, an admin port) is refused.
type Hosts struct {
	allowed map[string]bool
	// any allows every place not refused: a loader whose URL template
	// takes its host from the item and names no hosts.
	any bool
	// refused are places never allowed, whatever names them, with why.
	refused map[string]string
}

// NewHosts allows the place of each http(s) URL in origins (others, such
// as local paths, allow nothing) and each entry, "host" (on ports 80 and
// 443) or "host:port" (on that port only), as CheckHostEntry accepts.
func NewHosts(origins, entries []string) (*Hosts, error) {
	h := &Hosts{allowed: map[string]bool{}, refused: map[string]string{}}
	for _, o := range origins {
		if u, err := url.Parse(o); err == nil && weburl.Check(u) == nil {
			h.allow(u.Hostname(), portOf(u))
		}
	}
	for _, e := range entries {
		host, port, err := splitEntry(e)
		if err != nil {
			return nil, err
		}
		h.allow(host, port)
	}
	return h, nil
}

// AnyHost allows every place; Refusing still refuses some.
func AnyHost() *Hosts {
	return &Hosts{allowed: map[string]bool{}, refused: map[string]string{}, any: true}
}

// Refusing returns a copy of h that refuses addrs (host:port), saying
// why, even where h allows them.
func (h *Hosts) Refusing(why string, addrs ...string) *Hosts {
	c := &Hosts{allowed: h.allowed, any: h.any, refused: make(map[string]string, len(h.refused)+len(addrs))}
	for k, v := range h.refused {
		c.refused[k] = v
	}
	for _, a := range addrs {
		if host, port, err := net.SplitHostPort(a); err == nil {
			c.refused[place(host, port)] = why
		}
	}
	return c
}

// Check says whether a request to raw may be made: nil, or an error
// "host not allowed: other.example". A URL that is not an absolute
// http(s) one is left to the request, which says what is wrong with it.
func (h *Hosts) Check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || weburl.Check(u) != nil {
		return nil
	}
	if err := h.checkRefused(u); err != nil {
		return err
	}
	if !h.allows(u) {
		return fmt.Errorf("host not allowed: %s", u.Host)
	}
	return nil
}

// checkRefused says why u's place is refused, if it is.
func (h *Hosts) checkRefused(u *url.URL) error {
	if why, ok := h.refused[place(u.Hostname(), portOf(u))]; ok {
		return fmt.Errorf("host not allowed: %s (%s)", u.Host, why)
	}
	return nil
}

// allows says whether u's place is allowed (and not refused).
func (h *Hosts) allows(u *url.URL) bool {
	p := place(u.Hostname(), portOf(u))
	_, refused := h.refused[p]
	return (h.any || h.allowed[p]) && !refused
}

// CheckHostEntry checks an entry of a loader's hosts: a host name or IP
// address, with or without a port, and nothing else.
func CheckHostEntry(entry string) error {
	_, _, err := splitEntry(entry)
	return err
}

// allow allows host on port; "" stands for the default ports.
func (h *Hosts) allow(host, port string) {
	if port == "" || port == "80" || port == "443" {
		h.allowed[place(host, "80")] = true
		h.allowed[place(host, "443")] = true
		return
	}
	h.allowed[place(host, port)] = true
}

// splitEntry reads "host", "host:port", "[v6]:port", "[v6]" or a bare
// IPv6 address; port is "" when none is given.
func splitEntry(e string) (host, port string, err error) {
	bad := fmt.Errorf("%q is not a host or host:port (e.g. \"cdn.example.com\" or \"cdn.example.com:8443\")", e)
	switch {
	case e == "" || strings.ContainsAny(e, "/?#@ \t"):
		return "", "", bad
	case strings.HasPrefix(e, "[") && strings.HasSuffix(e, "]"):
		host = e[1 : len(e)-1]
	case strings.Count(e, ":") > 1 && !strings.HasPrefix(e, "["):
		host = e
	case strings.Contains(e, ":"):
		if host, port, err = net.SplitHostPort(e); err != nil || port == "" || !isPort(port) {
			return "", "", bad
		}
	default:
		host = e
	}
	if host == "" {
		return "", "", bad
	}
	if strings.Contains(host, ":") {
		if _, err := netip.ParseAddr(host); err != nil {
			return "", "", bad
		}
	}
	return host, port, nil
}

func isPort(p string) bool {
	n, err := strconv.ParseUint(p, 10, 16)
	return err == nil && n > 0
}

// place is the key a host and port are known by: lower case, an IPv6
// address in brackets.
func place(host, port string) string {
	return net.JoinHostPort(strings.ToLower(host), port)
}

// portOf is u's port, its scheme's default when it names none.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}
