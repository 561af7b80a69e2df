#!/usr/bin/env bash
# Makes docs/monitor.png from the real program: runs the demo in tmux at
# 100x30, opens every loader's causes mid-run (f), captures the screen with
# its colours, and renders it with freeze (go install
# github.com/charmbracelet/freeze@v0.2.2).
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o /tmp/cachewarm-shot .
sock=cachewarm-shot
tmux -L $sock new-session -d -s shot -x 100 -y 30 -e TERM=xterm-256color "/tmp/cachewarm-shot; sleep 60"
trap 'tmux -L $sock kill-server 2>/dev/null || true' EXIT
sleep "${AT:-12}"
tmux -L $sock send-keys -t shot f
sleep 1
tmux -L $sock capture-pane -e -p -t shot > /tmp/cachewarm-shot.ansi
freeze -x "cat /tmp/cachewarm-shot.ansi" -o docs/monitor.png --window --padding 20 --font.size 14
