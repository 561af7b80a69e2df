package fetch

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cachewarm/cachewarm/internal/weburl"
)

// privateKey carries a Request's Private headers to checkRedirect, which
// the one http.Client shares between all requests.
type privateKey struct{}

func withPrivate(ctx context.Context, private map[string]bool) context.Context {
	if len(private) == 0 {
		return ctx
	}
	return context.WithValue(ctx, privateKey{}, private)
}

func privateFrom(ctx context.Context) map[string]bool {
	p, _ := ctx.Value(privateKey{}).(map[string]bool)
	return p
}

// hostsKey carries a Request's Hosts to checkRedirect.
type hostsKey struct{}

func withHosts(ctx context.Context, h *Hosts) context.Context {
	if h == nil {
		return ctx
	}
	return context.WithValue(ctx, hostsKey{}, h)
}

func hostsFrom(ctx context.Context) *Hosts {
	h, _ := ctx.Value(hostsKey{}).(*Hosts)
	return h
}

// redirectError is why a redirect is not followed; Client.Do wraps it in
// a *url.Error.
type redirectError struct{ cause string }

func (e *redirectError) Error() string { return e.cause }

// checkRedirect is the http.Client's CheckRedirect: req is the next hop
// and via the requests made so far, via[0] the caller's. net/http copies
// the first request's headers onto every hop (less Authorization and
// Cookie once a hop left the first host), so the private ones are
// deleted again on every hop after the chain first left.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return &redirectError{"more than " + strconv.Itoa(maxRedirects) + " redirects"}
	}
	if weburl.Check(req.URL) != nil {
		return &redirectError{redirectStatus(req) + " to a location that is not an http(s) URL"}
	}
	// net/http sets Referer to the previous hop, query included: a
	// token in the loader's URL (?token=${TOK}) would go to whatever host
	// the redirect names. A cache warmer has no page to refer from.
	req.Header.Del("Referer")
	hosts := hostsFrom(req.Context())
	if hosts != nil {
		if err := hosts.checkRefused(req.URL); err != nil {
			return &redirectError{redirectStatus(req) + " to a " + err.Error()}
		}
	}
	if leftFirstHost(req, via) || leftHosts(hosts, req, via) {
		for name, private := range privateFrom(req.Context()) {
			if private {
				req.Header.Del(name)
			}
		}
	}
	return nil
}

// leftHosts says whether any hop after the first, req included, went to
// a place hosts (nil: none given) do not allow: another port of the first
// host is another service, whose net/http would send it Authorization.
func leftHosts(hosts *Hosts, req *http.Request, via []*http.Request) bool {
	if hosts == nil {
		return false
	}
	if !hosts.allows(req.URL) {
		return true
	}
	for _, hop := range via[1:] {
		if !hosts.allows(hop.URL) {
			return true
		}
	}
	return false
}

// redirectStatus is "302 Found" for the answer that redirected to req.
func redirectStatus(req *http.Request) string {
	if req.Response == nil {
		return "redirect"
	}
	return statusText(req.Response.StatusCode)
}

// leftFirstHost says whether any hop after the first, req included, went
// to another place than the first request's: another scheme, host or
// port. net/http keeps Authorization on another port of the same host
// (another service) and on https→http (sent in clear text); a private
// header is not sent there either.
func leftFirstHost(req *http.Request, via []*http.Request) bool {
	first := via[0].URL
	if !samePlace(req.URL, first) {
		return true
	}
	for _, hop := range via[1:] {
		if !samePlace(hop.URL, first) {
			return true
		}
	}
	return false
}

// samePlace says whether a and b have the same scheme, host and port.
func samePlace(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && portOf(a) == portOf(b)
}
