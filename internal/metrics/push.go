package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus/push"

	"github.com/cachewarm/cachewarm/internal/redact"
	"github.com/cachewarm/cachewarm/internal/weburl"
)

// Job is the job label of what is pushed.
const Job = "cachewarm"

// Grouping labels a push: a Pushgateway keeps the last push of each
// group, so each config and shard keeps its own last run.
type Grouping struct {
	// Config names the config ("config" for config.toml).
	Config string
	// Shard is "k/n" for a shard, "all" for an unsharded run.
	Shard string
}

// Push sends src's figures to the Pushgateway at gateway, replacing the
// group's earlier ones. Credentials in the URL are sent as basic
// authentication and never appear in the error; a query (?token=…, read by
// a proxy in front of the gateway) goes on every request after the
// /metrics/job/… path, where the push library would put the path after it.
func Push(ctx context.Context, gateway string, src Source, g Grouping) error {
	if err := CheckURL(gateway); err != nil {
		return err
	}
	u, _ := url.Parse(gateway)
	user := u.User
	u.User = nil
	base := *u
	base.RawQuery, base.Fragment = "", ""
	doer := queryDoer{query: u.RawQuery}
	p := push.New(base.String(), Job).Client(doer).Gatherer(Registry(src)).Grouping("config", g.Config).Grouping("shard", g.Shard)
	if user != nil {
		pass, _ := user.Password()
		p = p.BasicAuth(user.Username(), pass)
	}
	if err := p.PushContext(ctx); err != nil {
		var secrets redact.Redactor
		secrets.Add(redact.URLSecrets(gateway)...)
		msg := secrets.Redact(err.Error())
		if user != nil {
			msg = strings.ReplaceAll(msg, user.String(), "…")
		}
		return fmt.Errorf("push to %s: %s", redact.Location(gateway), msg)
	}
	return nil
}

// queryDoer sends each push request with the gateway URL's query.
type queryDoer struct{ query string }

// Do sends req with the query set.
func (d queryDoer) Do(req *http.Request) (*http.Response, error) {
	if d.query != "" {
		req.URL.RawQuery = d.query
	}
	return http.DefaultClient.Do(req)
}

// CheckURL refuses a Pushgateway URL that is not http(s) with a host.
func CheckURL(gateway string) error {
	if _, err := weburl.Parse(gateway); err != nil {
		return fmt.Errorf("--pushgateway %s: not an http(s) URL", redact.Location(gateway))
	}
	return nil
}
