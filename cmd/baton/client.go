package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/batonmq/baton/internal/httpapi/mgmt"
)

// defaultServer is where the CLI finds the management API unless --server
// or BATON_SERVER says otherwise.
const defaultServer = "http://127.0.0.1:8088"

// clientFlags are the flags every command that talks to a server has.
type clientFlags struct {
	fs       *flag.FlagSet
	server   string
	synopsis string
	summary  string
}

// newClientFlags makes the flag set of a client command. synopsis is the
// usage line after "baton ".
func newClientFlags(name, synopsis, summary string) *clientFlags {
	cf := &clientFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	def := os.Getenv("BATON_SERVER")
	if def == "" {
		def = defaultServer
	}
	cf.fs.StringVar(&cf.server, "server", def, "management API `URL` of the Baton server (env BATON_SERVER)")
	cf.fs.SetOutput(io.Discard)
	cf.fs.Usage = func() {}
	cf.synopsis, cf.summary = synopsis, summary
	return cf
}

// errHelp is returned by parse after it printed the help; commands return
// nil for it.
var errHelp = errors.New("help shown")

// parse parses args, allowing flags before and after the positional
// arguments ("--" ends the flags), and checks the count of positional
// arguments against min and max (max < 0: no limit).
func (cf *clientFlags) parse(args []string, stdout io.Writer, min, max int) ([]string, error) {
	var pos []string
	for {
		if err := cf.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				cf.help(stdout)
				return nil, errHelp
			}
			return nil, &usageError{fmt.Sprintf("%v (see 'baton %s -h')", err, cf.fs.Name())}
		}
		rest := cf.fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		return nil, &usageError{fmt.Sprintf("usage: baton %s (see 'baton %s -h')", cf.synopsis, cf.fs.Name())}
	}
	return pos, nil
}

// help prints the usage of the command.
func (cf *clientFlags) help(w io.Writer) {
	fmt.Fprintf(w, "usage: baton %s\n\n%s\n\nflags:\n", cf.synopsis, cf.summary)
	cf.fs.SetOutput(w)
	cf.fs.PrintDefaults()
	cf.fs.SetOutput(io.Discard)
}

// client returns a management API client of the --server URL.
func (cf *clientFlags) client() (*mgmt.Client, error) {
	c, err := mgmt.NewClient(cf.server, nil)
	if err != nil {
		return nil, &usageError{fmt.Sprintf("--server: %v", err)}
	}
	return c, nil
}

// explain adds what the user can do to errors from the client.
func explain(err error) error {
	var ue *mgmt.UnreachableError
	if errors.As(err, &ue) {
		return fmt.Errorf("%w; is it running? Start it with 'baton serve', or point --server or BATON_SERVER at it", err)
	}
	return err
}

// durationFlag is a flag.Value taking Go ("30s") or ISO 8601 ("PT30S")
// durations; set reports whether the flag was given.
type durationFlag struct {
	d   time.Duration
	set bool
}

func (f *durationFlag) String() string {
	if !f.set {
		return ""
	}
	return mgmt.Duration(f.d).String()
}

func (f *durationFlag) Set(s string) error {
	d, err := mgmt.ParseDuration(s)
	if err != nil {
		return err
	}
	f.d, f.set = d, true
	return nil
}

// ptr returns the flag's value as a *mgmt.Duration, nil when not given.
func (f *durationFlag) ptr() *mgmt.Duration {
	if !f.set {
		return nil
	}
	v := mgmt.Duration(f.d)
	return &v
}

// plural returns "1 message" or "n messages".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// queryCommand is the shape of the list and show commands: n positional
// arguments, one fetch through the management client, then the result as
// JSON (--json, described by jsonHelp) or as text.
func queryCommand[T any](ctx context.Context, args []string, stdout io.Writer, cf *clientFlags, n int, jsonHelp string,
	fetch func(c *mgmt.Client, pos []string) (T, error), text func(c *mgmt.Client, v T, pos []string) error) error {
	asJSON := cf.fs.Bool("json", false, jsonHelp)
	pos, err := cf.parse(args, stdout, n, n)
	if err != nil {
		return helpOK(err)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	v, err := fetch(c, pos)
	if err != nil {
		return explain(err)
	}
	if *asJSON {
		return printJSON(stdout, v)
	}
	return text(c, v, pos)
}
