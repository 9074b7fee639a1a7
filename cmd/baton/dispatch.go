package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
)

// verb is one subcommand of a CLI command: its names (the first is the one
// the messages use) and what it runs.
type verb struct {
	names []string
	run   func(ctx context.Context, args []string, stdout io.Writer) error
}

// dispatch runs the verb that args[0] names, prints usage for -h, and
// answers a missing or unknown subcommand with a usage error.
func dispatch(ctx context.Context, cmd, usage string, verbs []verb, args []string, stdout io.Writer) error {
	first := make([]string, len(verbs))
	for i, v := range verbs {
		first[i] = v.names[0]
	}
	list := strings.Join(first[:len(first)-1], ", ") + " or " + first[len(first)-1]
	if len(args) == 0 {
		return &usageError{fmt.Sprintf("missing subcommand: %s (see 'baton %s -h')", list, cmd)}
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	for _, v := range verbs {
		if slices.Contains(v.names, args[0]) {
			return v.run(ctx, args[1:], stdout)
		}
	}
	return &usageError{fmt.Sprintf("unknown subcommand %q: use %s", args[0], list)}
}

// crudVerbs are the create/list/show/delete verbs with their usual aliases.
func crudVerbs(create, list, show, del func(context.Context, []string, io.Writer) error) []verb {
	return []verb{
		{[]string{"create"}, create},
		{[]string{"list", "ls"}, list},
		{[]string{"show", "get"}, show},
		{[]string{"delete", "rm"}, del},
	}
}
