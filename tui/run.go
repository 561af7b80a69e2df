package tui

import (
	"context"
	"fmt"

	tea "charm.land/bubbletea/v2"
)

// Run shows the monitor until the user quits (or, with ExitWhenDone, until
// every item has settled). Quitting does not wait for the engine: the first
// q while work runs calls eng.Stop, the caller waits for the run to end.
// When ctx is cancelled the monitor closes and Run returns an error that
// wraps ctx's.
func Run(ctx context.Context, eng Engine, opts Options) error {
	// Signals are the caller's: a SIGINT or SIGTERM stops the engine
	// gracefully, and the monitor quits once the run has settled.
	//
	// The renderer draws at most frameRate times a second, as often as
	// the monitor's own tick changes what it shows: its default, 60, woke
	// the process 60 times a second for frames three in four of which
	// were the same, and never stops, finished run or not.
	popts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithoutSignalHandler(), tea.WithFPS(frameRate)}
	if opts.Input != nil {
		popts = append(popts, tea.WithInput(opts.Input))
	}
	if opts.Output != nil {
		popts = append(popts, tea.WithOutput(opts.Output))
	}
	_, err := tea.NewProgram(New(eng, opts), popts...).Run()
	if err != nil {
		return fmt.Errorf("tui: %w", err)
	}
	return nil
}
