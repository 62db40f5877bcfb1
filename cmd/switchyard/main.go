// Command switchyard is the Switchyard AI gateway.
//
//	switchyard run [-c FILE] [--admin ADDR] [--pprof]   serve (the embedded default configuration without -c)
//	switchyard validate -c FILE              check a configuration file
//	switchyard run --kubernetes [-c BASE]    serve what the cluster's Gateway API resources say
//	switchyard translate -f DIR [-c BASE]    print the configuration a directory of manifests yields
//	switchyard sim [--port N]                run the built-in simulated model as a standalone server
//	switchyard keys create|list|revoke|rotate manage API keys through the admin API
//	switchyard version                       print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// dispatch runs a subcommand and returns the process exit code.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		args = []string{"run"}
	}
	var err error
	switch args[0] {
	case "run":
		err = runCmd(ctx, args[1:], stderr)
	case "validate":
		return validateCmd(args[1:], stdout, stderr)
	case "translate":
		err = translateCmd(args[1:], stdout, stderr)
	case "sim":
		err = simCmd(ctx, args[1:], stderr)
	case "keys":
		err = keysCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		_, _ = fmt.Fprintf(stdout, "switchyard %s\n", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		_, _ = fmt.Fprintf(stderr, "switchyard: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0 // -h: the flag package has printed the usage
	case errors.Is(err, errUsage):
		return 2 // the flag package or the command has said what is wrong
	case err != nil:
		_, _ = fmt.Fprintf(stderr, "switchyard: %v\n", err)
		return 1
	}
	return 0
}

// errUsage is returned by a subcommand whose command line is wrong once the
// problem has been printed.
var errUsage = errors.New("usage error")

// parseFlags parses a subcommand's flags and rejects stray arguments, which the
// flag package would otherwise ignore silently (`switchyard run gateway.yaml`
// would serve the embedded default instead of the file).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage // the flag package has printed the problem and the usage
	}
	if fs.NArg() > 0 {
		hint := ""
		if c := fs.Lookup("c"); c != nil && c.Value.String() == "" {
			hint = fmt.Sprintf(" (to use a configuration file, write -c %s)", fs.Arg(0))
		}
		_, _ = fmt.Fprintf(stderr, "switchyard %s: unexpected argument %q%s\n", fs.Name(), fs.Arg(0), hint)
		return errUsage
	}
	return nil
}

func usage(w io.Writer) {
	_, _ = fmt.Fprint(w, `usage:
  switchyard run [-c FILE] [--admin ADDR] [--log-level LEVEL] [--pprof]
  switchyard validate -c FILE
  switchyard run --kubernetes [-c BASE] [--kubeconfig FILE] [--leader-elect=true] [--bind-address IP]
  switchyard translate -f DIR [-c BASE]
  switchyard sim [--port N] [--host ADDR] [--model NAME] [--ttft D] [--itl D] [--output-tokens N] [--max-running N] [--mode lorem|echo]
  switchyard keys create --consumer NAME [--name N] [--models a,b] [--expires-in 720h] [--admin ADDR] [--token T]
  switchyard keys list [--consumer NAME] | keys revoke ID | keys rotate ID [--grace 10m]
  switchyard version
`)
}
