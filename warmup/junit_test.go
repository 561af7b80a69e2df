package warmup_test

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// junitDoc is what a CI test reporter reads of a JUnit file.
type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suite    struct {
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Out string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// A CI job sees which loaders failed and why: --junit writes one test
// case per loader, a failed one carrying its grouped causes with counts
// and examples and the command that retries them, the run's counts as
// properties; the file is valid against the JUnit schema CI reporters
// accept.
func TestJUnitShowsWhichLoadersFailedAndWhy(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(path string, hit int, w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(path, "/p/%d", &n)
		switch {
		case n%10 == 0:
			http.NotFound(w, r)
		case n%25 == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			fmt.Fprintf(w, "page <%d> & \x01", n)
		}
	})
	cfg := loadConfig(t, `
[run]
retries = 0
[[loader]]
name = "products"
items = { range = [1, 300] }
key = "p:{{.}}"
[[loader]]
name = "pages"
items = { range = [1, 100] }
key = "page:{{.}}"
fetch = { url = "`+o.URL+`/p/{{.}}" }
`, nil, nil)
	_, rep := runAgainst(t, srv, cfg, warmup.Options{})
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := warmup.WriteJUnit(path, rep, "cachewarm --config config.toml --retry-from r.json"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	validateJUnit(t, path)

	var doc junitDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if doc.Tests != 2 || doc.Failures != 1 || len(doc.Suite.Cases) != 2 {
		t.Fatalf("tests %d, failures %d, cases %d; want 2, 1, 2\n%s", doc.Tests, doc.Failures, len(doc.Suite.Cases), data)
	}
	products, pages := doc.Suite.Cases[0], doc.Suite.Cases[1]
	if products.Name != "products" || products.Failure != nil || !strings.Contains(products.Out, "300 fulfilled, 0 rejected, ttl 1h") {
		t.Errorf("products: %+v", products)
	}
	f := pages.Failure
	if pages.Name != "pages" || f == nil {
		t.Fatalf("pages did not fail:\n%s", data)
	}
	if f.Message != "14 rejected (86 fulfilled)" || f.Type != "404 Not Found" {
		t.Errorf("failure message %q, type %q; want \"14 rejected (86 fulfilled)\", \"404 Not Found\"", f.Message, f.Type)
	}
	for _, want := range []string{"10 × 404 Not Found (fetch), e.g. GET /p/", "4 × 503 Service Unavailable (fetch), e.g. GET /p/", "retry: cachewarm --config config.toml --retry-from r.json"} {
		if !strings.Contains(f.Text, want) {
			t.Errorf("failure text lacks %q:\n%s", want, f.Text)
		}
	}
	props := map[string]string{}
	for _, p := range doc.Suite.Properties {
		props[p.Name] = p.Value
	}
	if props["fulfilled"] != "386" || props["rejected"] != "14" || props["not_started"] != "0" || props["retry_command"] != "cachewarm --config config.toml --retry-from r.json" {
		t.Errorf("properties %v", props)
	}
}

// validateJUnit checks the file at path against testdata/junit.xsd with
// xmllint: skipped without it, unless the integration tests are required.
func validateJUnit(t *testing.T, path string) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		if redistest.Require() {
			t.Fatal("xmllint not found (apt-get install libxml2-utils) and CACHEWARM_REQUIRE_REDIS=1")
		}
		t.Log("xmllint not found (apt-get install libxml2-utils): the JUnit file is not validated against its schema")
		return
	}
	out, err := exec.Command(bin, "--noout", "--schema", filepath.Join("testdata", "junit.xsd"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("the JUnit file is not valid: %v\n%s", err, out)
	}
}
