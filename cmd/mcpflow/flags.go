package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// envPrefix prefixes the environment variable of every flag: --stdio-workers
// is also MCPFLOW_STDIO_WORKERS.
const envPrefix = "MCPFLOW_"

// envName returns the environment variable that sets flag name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// usageError is a command-line mistake: main prints it with a pointer to
// --help and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// command is one subcommand: its flags, its one-line summary and its
// arguments for the usage text.
type command struct {
	name, args, summary, details string
	fs                           *flag.FlagSet
	// fromEnv records the flags whose value came from the environment.
	fromEnv map[string]bool
}

func newCommand(name, args, summary, details string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by main, usage by -h
	return &command{name: name, args: args, summary: summary, details: details, fs: fs}
}

// parse reads the command line, then the MCPFLOW_* variables for the
// flags the command line left unset: a flag on the command line wins.
// Flags may come before, between or after the positional arguments; "--"
// ends the flags. It returns the positional arguments, or flag.ErrHelp for
// -h/--help.
func (c *command) parse(args []string, env func(string) string) ([]string, error) {
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%s", cleanFlagErr(err))
		}
		rest := c.fs.Args()
		if len(rest) == 0 {
			break
		}
		// flag stops at the first positional argument, or after "--".
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	onCLI := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { onCLI[f.Name] = true })
	c.fromEnv = map[string]bool{}
	var envErr error
	c.fs.VisitAll(func(f *flag.Flag) {
		if envErr != nil || onCLI[f.Name] {
			return
		}
		if v := env(envName(f.Name)); v != "" {
			if err := c.fs.Set(f.Name, v); err != nil {
				envErr = usagef("%s=%q: %v", envName(f.Name), v, err)
				return
			}
			c.fromEnv[f.Name] = true
		}
	})
	return pos, envErr
}

// flagName names flag name as the user set it: "--name", or the
// environment variable when that is where its value came from.
func (c *command) flagName(name string) string {
	if c.fromEnv[name] {
		return envName(name)
	}
	return "--" + name
}

// isSet reports whether flag name was given, on the command line or in
// its environment variable; parse must have run.
func (c *command) isSet(name string) bool {
	set := c.fromEnv[name]
	c.fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// cleanFlagErr rewrites the flag package's messages with the "--" this
// command documents.
func cleanFlagErr(err error) string {
	s := err.Error()
	if name, ok := strings.CutPrefix(s, "flag provided but not defined: -"); ok {
		return "unknown flag --" + strings.TrimLeft(name, "-")
	}
	return strings.Replace(s, "flag -", "flag --", 1)
}

// usage writes the command's help: synopsis, description, and every flag
// with its variable and default.
func (c *command) usage(w io.Writer) {
	n := 0
	c.fs.VisitAll(func(*flag.Flag) { n++ })
	synopsis := "Usage: mcpflow " + c.name
	if n > 0 {
		synopsis += " [flags]"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\n", strings.TrimSpace(synopsis+" "+c.args), c.summary)
	if c.details != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(c.details))
	}
	if n == 0 {
		_, _ = io.WriteString(w, b.String())
		return
	}
	b.WriteString("\nFlags (each also settable as the environment variable shown):\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	c.fs.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		arg := ""
		if name != "" {
			arg = " " + name
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "[]" {
			def = " (default " + f.DefValue + ")"
		}
		_, _ = fmt.Fprintf(tw, "  --%s%s\t%s\t%s%s\n", f.Name, arg, envName(f.Name), help, def)
	})
	_ = tw.Flush()
	_, _ = io.WriteString(w, b.String())
}

// listFlag is a repeatable flag that also splits on commas.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// optInt is an int flag that remembers whether it was set.
type optInt struct {
	v   int
	set bool
}

func (o *optInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.v)
}

func (o *optInt) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return errors.New("must be a whole number")
	}
	o.v, o.set = n, true
	return nil
}

// byteSize is a size flag: a whole number of bytes with an optional unit
// (B, KB, KiB, MB, MiB, GB, GiB; case does not matter).
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, errors.New("must be a number of bytes such as 1048576 or 1MiB")
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, errors.New("number too large")
	}
	mult := map[string]int64{
		"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1 << 10, "m": 1000 * 1000, "mb": 1000 * 1000, "mib": 1 << 20,
		"g": 1000 * 1000 * 1000, "gb": 1000 * 1000 * 1000, "gib": 1 << 30,
	}[strings.ToLower(strings.TrimSpace(s[i:]))]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit %q; use B, KiB, MiB or GiB", strings.TrimSpace(s[i:]))
	}
	if n > (1<<62)/mult {
		return 0, errors.New("number too large")
	}
	return n * mult, nil
}

// choiceFlag accepts one of a fixed set of values.
type choiceFlag struct {
	v       string
	choices []string
}

func (c *choiceFlag) String() string {
	if c == nil {
		return ""
	}
	return c.v
}

func (c *choiceFlag) Set(s string) error {
	s = strings.ToLower(strings.TrimSpace(s))
	if slices.Contains(c.choices, s) {
		c.v = s
		return nil
	}
	return fmt.Errorf("must be one of %s", strings.Join(c.choices, ", "))
}

// logFlags are the logging flags every command has.
type logFlags struct {
	level  choiceFlag
	format choiceFlag
}

func addLogFlags(fs *flag.FlagSet, defLevel string) *logFlags {
	l := &logFlags{
		level:  choiceFlag{v: defLevel, choices: []string{"debug", "info", "warn", "error"}},
		format: choiceFlag{v: "text", choices: []string{"text", "json"}},
	}
	fs.Var(&l.level, "log-level", "log `level`: debug (every tool call), info, warn or error")
	fs.Var(&l.format, "log-format", "log `format` on stderr: text or json")
	return l
}

// logger returns a slog.Logger on w (stderr: stdout may carry JSON-RPC).
func (l *logFlags) logger(w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(l.level.v))
	opts := &slog.HandlerOptions{Level: level}
	if l.format.v == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
