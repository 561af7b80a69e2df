// Package weburl is the one answer to "is this a URL cachewarm may
// fetch": an absolute http or https URL with a host. The config, the
// fetcher, its redirect and host checks, sitemaps and the Pushgateway
// flag all ask it, so that none of them accepts what another refuses.
package weburl

import (
	"errors"
	"net/url"
)

// Why a URL is not one cachewarm fetches; their texts are the causes
// reports show.
var (
	ErrParse  = errors.New("URL does not parse")
	ErrScheme = errors.New("not an http(s) URL")
	ErrNoHost = errors.New("URL has no host")
)

// Scheme says whether scheme is one cachewarm fetches: http or https, as
// url.Parse gives it (lower case).
func Scheme(scheme string) bool { return scheme == "http" || scheme == "https" }

// Check says why u is not a URL cachewarm fetches (ErrScheme, ErrNoHost),
// or nil when it is one.
func Check(u *url.URL) error {
	switch {
	case !Scheme(u.Scheme):
		return ErrScheme
	case u.Host == "":
		return ErrNoHost
	}
	return nil
}

// Parse parses raw as a URL cachewarm fetches; its error is ErrParse,
// ErrScheme or ErrNoHost, never one that quotes raw.
func Parse(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, ErrParse
	}
	if err := Check(u); err != nil {
		return nil, err
	}
	return u, nil
}
