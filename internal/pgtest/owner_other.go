//go:build !unix

package pgtest

import "os/exec"

type owner struct{}

func unprivileged() (*owner, error)  { return nil, nil }
func (o *owner) chown(string) error  { return nil }
func (o *owner) apply(cmd *exec.Cmd) {}
