#!/usr/bin/env bash
# Makes docs/monitor.png, the README's picture, from the real program: runs
# the demo (the shipped config.toml, its embedded Redis and simulated
# origins) in tmux at 120x36, waits until the tiles show rejections and
# their causes, captures the screen with its colours (tmux capture-pane
# -e) and renders it with freeze:
#   go install github.com/charmbracelet/freeze@v0.2.2
# FREEZE names another freeze binary; AT waits that many more seconds
# after the first rejection before the capture.
set -euo pipefail
cd "$(dirname "$0")/.."
freeze=${FREEZE:-freeze}
command -v "$freeze" >/dev/null || { echo "screenshot.sh: freeze not found (go install github.com/charmbracelet/freeze@v0.2.2)" >&2; exit 1; }
work=$(mktemp -d)
sock=cachewarm-shot-$$
trap 'tmux -L $sock kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir "$work/bin" "$work/state"
go build -o "$work/bin/cachewarm" .
tmux -L $sock new-session -d -s shot -x 120 -y 36 -e TERM=xterm-256color -e XDG_STATE_HOME="$work/state" \
  "$work/bin/cachewarm; sleep 60"
# The tiles once at least two loaders have rejections to show their cause.
for _ in $(seq 1 300); do
  n=$(tmux -L $sock capture-pane -p -t shot | grep -o '✗ [0-9,]* rejected' | wc -l || true)
  [ "$n" -ge 3 ] && break
  sleep 0.1
done
sleep "${AT:-5}"
tmux -L $sock capture-pane -e -p -t shot > "$work/screen.ansi"
# freeze v0.2.2 may stop reading a command that exits at once before its
# output arrives ("no command output"): the sleep keeps it open.
"$freeze" -x "sh -c 'cat $work/screen.ansi; sleep 1'" -o docs/monitor.png --window --padding 20 --font.size 14
echo "wrote docs/monitor.png"
