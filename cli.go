package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"charm.land/fang/v2"
	mcobra "github.com/muesli/mango-cobra"
	"github.com/muesli/roff"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// exitCodesText ends the root command's description: its help and man page.
const exitCodesText = "Exit codes: 0 every item fulfilled, 1 some rejected or not started, " +
	"2 config/usage/start-up error (nothing written), 130 interrupted (the report records where to go on: --retry-from)."

// parseCommand runs args through the command tree. For the root command
// (a warm-up) it returns the checked flags; otherwise nil and the exit
// code of what ran instead: a subcommand, the help, or a usage error,
// which it has printed with its fix.
func parseCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) (*flags, int) {
	var (
		f      = &flags{}
		sf     shardFlags
		parsed bool
		code   = exitOK
	)
	root := &cobra.Command{
		Use:   "cachewarm [flags]",
		Short: "Warm Redis caches, reporting every item as fulfilled or rejected",
		// One line a paragraph: the man page makes each line one.
		Long: "cachewarm warms Redis caches and reports every item as fulfilled or rejected.\n\n" +
			"Start with `cachewarm init` (a starter config.toml), check it with `cachewarm --dry-run`, then run `cachewarm`.\n\n" +
			exitCodesText,
		Example: "  cachewarm init --file items.jsonl --url 'https://api.example.com/items/{{.id}}'\n" +
			"  cachewarm --dry-run\n" +
			"  cachewarm --plain --report run.json\n" +
			"  cachewarm --retry-from run.json",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, rest []string) error {
			if len(rest) > 0 {
				return fmt.Errorf("unexpected argument %q (flags start with --; the commands are init, merge, completion and man)", rest[0])
			}
			if err := checkFlags(f, cmd.Flags(), sf, getenv); err != nil {
				return err
			}
			parsed = true
			return nil
		},
	}
	root.Flags().SortFlags = false
	defineFlags(root.Flags(), f, &sf)
	// The `PATH` quotes name pflag's placeholders; the help, completions
	// and man page show the usage as it reads.
	root.Flags().VisitAll(func(fl *pflag.Flag) {
		_, fl.Usage = pflag.UnquoteUsage(fl)
	})
	_ = root.MarkFlagFilename("config", "toml")
	_ = root.MarkFlagFilename("retry-from", "json")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return fmt.Errorf("%w (cachewarm --help lists the flags)", err)
	})
	root.AddCommand(
		&cobra.Command{
			Use:   "merge SHARD.json…",
			Short: "Combine the reports of a run's shards (--shard k/n) into one",
			// merge parses its own flags and prints its own help.
			DisableFlagParsing: true,
			RunE: func(_ *cobra.Command, args []string) error {
				code = runMerge(args, stdout, stderr)
				return nil
			},
		},
		initCommand(stdout, stderr),
		completionCommand(stdout),
		manCommand(stdout),
	)
	root.SetArgs(args)
	// The help goes to stderr, as it always has; shell completion asks
	// for its candidates on stdout.
	root.SetOut(stderr)
	if len(args) > 0 && strings.HasPrefix(args[0], cobra.ShellCompRequestCmd) {
		root.SetOut(stdout)
	}
	root.SetErr(stderr)
	err := fang.Execute(context.Background(), root,
		fang.WithoutVersion(), // --version is the run's own flag
		fang.WithoutCompletions(), fang.WithoutManpage(),
		fang.WithErrorHandler(func(w io.Writer, _ fang.Styles, err error) {
			fmt.Fprintf(w, "cachewarm: %v\n", err)
		}))
	switch {
	case errors.Is(err, pflag.ErrHelp):
		return nil, exitOK
	case err != nil:
		return nil, exitUsage
	case !parsed:
		return nil, code
	}
	return f, exitOK
}

// completionCommand is `cachewarm completion bash|zsh|fish`.
func completionCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script for bash, zsh or fish",
		Long: "Print the shell completion script for bash, zsh or fish, for example:\n" +
			"  cachewarm completion bash > /etc/bash_completion.d/cachewarm\n" +
			"  cachewarm completion zsh > \"${fpath[1]}/_cachewarm\"\n" +
			"  cachewarm completion fish > ~/.config/fish/completions/cachewarm.fish",
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 || !slices.Contains([]string{"bash", "zsh", "fish"}, args[0]) {
				return fmt.Errorf("completion: name one shell: cachewarm completion bash, zsh or fish")
			}
			return nil
		},
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(stdout, true)
			case "zsh":
				return root.GenZshCompletion(stdout)
			default:
				return root.GenFishCompletion(stdout, true)
			}
		},
	}
}

// manCommand is `cachewarm man`: the man page, in roff, from the command
// definition.
func manCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "man",
		Short: "Print the man page (roff): cachewarm man > cachewarm.1",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			page, err := mcobra.NewManPage(1, cmd.Root())
			if err != nil {
				return fmt.Errorf("man page: %w", err)
			}
			if _, err := io.WriteString(stdout, page.Build(roff.NewDocument())); err != nil {
				return fmt.Errorf("writing stdout: %w", err)
			}
			return nil
		},
	}
}
