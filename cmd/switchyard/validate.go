package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/switchyard-ai/switchyard/config"
)

// validateCmd loads a file and prints every problem with file, line and field.
func validateCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "configuration file to check")
	if len(args) == 1 && !strings.HasPrefix(args[0], "-") {
		args = []string{"-c", args[0]} // `switchyard validate FILE` works too
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *file == "" {
		_, _ = fmt.Fprintln(stderr, "switchyard validate: -c FILE is required")
		return 2
	}
	snap, err := config.Load(*file)
	if err != nil {
		var list config.Errors
		if errors.As(err, &list) {
			for _, e := range list {
				_, _ = fmt.Fprintln(stderr, e.Error())
			}
		} else {
			_, _ = fmt.Fprintln(stderr, err.Error())
		}
		return 1
	}
	problems := append(config.Errors{}, snap.Problems...)
	problems = append(problems, credentialProblems(snap)...)
	for _, e := range problems {
		_, _ = fmt.Fprintln(stderr, e.Error())
	}
	for _, w := range keyWarnings(snap) { // warnings: the file is valid but will not work as is
		_, _ = fmt.Fprintln(stderr, w.Error())
	}
	if len(problems) > 0 {
		return 1
	}
	_, _ = fmt.Fprintf(stdout, "%s: valid (%d listeners, %d routes, %d backends)\n",
		*file, len(snap.Config.Listeners), len(snap.Config.Routes)+len(snap.Config.TCPRoutes)+len(snap.Config.TLSRoutes)+len(snap.Config.GRPCRoutes),
		len(snap.Config.Backends))
	return 0
}
