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
	popts := []tea.ProgramOption{tea.WithContext(ctx)}
	if opts.Input != nil {
		popts = append(popts, tea.WithInput(opts.Input))
	}
	if opts.Output != nil {
		popts = append(popts, tea.WithOutput(opts.Output))
	}
	if _, err := tea.NewProgram(New(eng, opts), popts...).Run(); err != nil {
		return fmt.Errorf("tui: %w", err)
	}
	return nil
}
