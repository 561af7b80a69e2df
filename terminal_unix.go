//go:build unix

package main

import "golang.org/x/sys/unix"

// hungUp says whether the terminal on fd has hung up: its other end (a
// terminal emulator, tmux, sshd) closed.
func hungUp(fd uintptr) bool {
	fds := []unix.PollFd{{Fd: int32(fd)}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0
}
