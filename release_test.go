package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The release config, its Dockerfile and the Kubernetes example agree,
// checked without goreleaser (too slow to install in CI: .ci/run runs
// `goreleaser check` and a snapshot build only where it is on PATH).
func TestReleaseConfig(t *testing.T) {
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	gr, docker, k8s := read(".goreleaser.yaml"), read("Dockerfile"), read("examples/k8s-indexed-job.yaml")
	for _, tc := range []struct {
		file, text string
		want       []string
	}{
		{".goreleaser.yaml", gr, []string{
			"version: 2",
			"- CGO_ENABLED=0",
			"goos: [linux, darwin]",
			"goarch: [amd64, arm64]",
			"-X main.version={{ .Version }}",
			"checksum:",
			"sboms:",
			// The archives install what the before hook generates from
			// the command definition.
			`completion "$sh" > "completions/cachewarm.$sh"`,
			"man | gzip -9n > manpages/cachewarm.1.gz",
			"- completions/*",
			"- manpages/*",
			"dockers_v2:",
			"dockerfile: Dockerfile",
			"- ghcr.io/cachewarm/cachewarm",
			"- linux/arm64",
		}},
		{"Dockerfile", docker, []string{
			"FROM gcr.io/distroless/static-debian12:nonroot",
			// Where dockers_v2 puts each platform's binary.
			"COPY $TARGETPLATFORM/cachewarm /usr/bin/cachewarm",
			"USER nonroot:nonroot",
			`ENTRYPOINT ["/usr/bin/cachewarm"]`,
			// The example's command is a sh script that cats the report.
			"COPY --from=busybox /bin/busybox /bin/sh",
			"COPY --from=busybox /bin/busybox /bin/cat",
		}},
	} {
		for _, want := range tc.want {
			if !strings.Contains(tc.text, want) {
				t.Errorf("%s lacks %q", tc.file, want)
			}
		}
	}
	// The hook's shells are the ones `cachewarm completion` takes.
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if code, _, errOut := cli(t, "completion", sh); code != 0 {
			t.Errorf("completion %s: exit %d\n%s", sh, code, errOut)
		}
	}
	if !strings.Contains(gr, "for sh in bash zsh fish;") {
		t.Error("the before hook does not generate bash, zsh and fish completions")
	}
	// The example runs the released image, by version, with the shell the
	// image has.
	image := regexp.MustCompile(`(?m)^\s+image: (\S+)`).FindStringSubmatch(k8s)
	if image == nil || !regexp.MustCompile(`^ghcr\.io/cachewarm/cachewarm:\d+\.\d+\.\d+$`).MatchString(image[1]) {
		t.Errorf("the Kubernetes example's image is %q, want ghcr.io/cachewarm/cachewarm:VERSION", image)
	}
	if !strings.Contains(k8s, `command: ["/bin/sh", "-c"]`) {
		t.Error("the Kubernetes example's command is not /bin/sh -c: check the Dockerfile gives it")
	}
}
