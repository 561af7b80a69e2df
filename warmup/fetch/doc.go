// Package fetch performs the HTTP GET that gives a cache item its value,
// on the standard library's net/http.
//
// A Client is shared by every fetch of a run; Get holds the body, Copy
// streams it to a writer (a document too large to hold). It guarantees
// that:
//   - each Get is one attempt: nothing is retried inside the package
//     (net/http's own replay of a GET on a kept-alive connection the
//     server had already closed aside, which is not a second attempt at
//     the origin), so every attempt can be counted and reported by the
//     caller;
//   - the request's context is the only way to stop it: cancelling it
//     closes the connection at once, whether the request is waiting for
//     headers or reading the body, and its deadline (or Options.Timeout,
//     whichever is sooner) bounds the whole request, redirects included;
//   - redirects are followed, at most 10; once a hop leaves the first
//     URL's scheme, host and port (stricter than net/http, which keeps
//     Authorization on another port, on https->http and on subdomains)
//     the request's private headers are not sent again for the rest of
//     the chain, even if it comes back, and neither are Authorization or
//     Cookie; with Request.Hosts, a hop to a host:port Hosts do not allow
//     counts as leaving, and one to a place they refuse (the Redis
//     server) is not followed;
//   - statuses are sorted explicitly: a 2xx with a body is the value (an
//     empty one, a 204 or a 200 with nothing in it, is an error unless
//     Request.AllowEmpty says so); 408, 425, 429 and 5xx are transient,
//     with the origin's Retry-After (seconds or an HTTP-date) in
//     Error.RetryAfter; any other 4xx, and a 3xx net/http could not
//     follow (no Location, 304, 300), is final;
//   - the value is the decoded body: unless the request sets
//     Accept-Encoding itself (then the bytes are kept as sent), net/http
//     asks for gzip and decodes it, and a gzip or deflate (zlib-wrapped
//     or raw) body the origin sends unasked is decoded here; any other
//     coding (br, zstd) is an error naming it;
//   - a body is never held beyond Options.MaxBody: it is read through a
//     limit and the connection is dropped as soon as the limit is passed,
//     whether or not the origin announced a length, and the limit is on
//     the decoded bytes, so a compressed bomb is bounded too; and it is
//     held once: past 8 MiB, a body of unknown length goes through an
//     unlinked temporary file, read back into one buffer of its size;
//   - a failure is an *Error whose Cause is short and stable and never
//     quotes response bytes or request headers (which may hold secrets)
//     nor what differs between connections (local ports, HTTP/2 stream
//     ids), so that a thousand items failing for one reason read the same;
//     it says whether retrying may help. The caller names the URL.
//
// The proxy comes from the environment (HTTP_PROXY, HTTPS_PROXY,
// NO_PROXY) unless Options.Proxy says otherwise: http:// origins are
// requested from the proxy by absolute URL, https:// ones through a
// CONNECT tunnel.
package fetch
