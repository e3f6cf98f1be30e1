package caddymodule

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/caddy-replay/caddy-replay/caddymodule/envfile"
	"github.com/caddy-replay/caddy-replay/collector"
	"github.com/caddy-replay/caddy-replay/player"
	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/embedded"
)

// The `caddy replay` command works on the recording store directly, so it
// needs no running Caddy (and may run beside one: the store takes care of
// two processes; only reindex wants the store to itself).

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "replay",
		Usage: "sessions|export|delete|reindex [--data-dir <dir> | --config <file> [--adapter <name>]] [--envfile <file>]",
		Short: "Lists, exports and deletes recorded sessions",
		Long: `
Works on the recording store of the replay app: the data directory given
with --data-dir, else the replay app's data_dir in the configuration given
with --config (or ./Caddyfile), else the default (` + "`caddy environ`" + ` shows
Caddy's data directory; recordings are in its "replay" folder). A relative
data_dir is relative to the current directory, as for ` + "`caddy run`" + `: run
these commands in the directory Caddy runs in, or give --data-dir.

With --envfile, the variables of an environment file are set first, as
caddy run --envfile does.

  caddy replay sessions              list sessions, newest first (filters: --help)
  caddy replay export <id>           a session as rrweb JSON (one array of events)
  caddy replay delete <id>...        delete sessions; late segments are refused
  caddy replay delete --user <id>    delete every session of a user
  caddy replay reindex               rebuild the index from the stored segments
                                     (stop Caddy first)

Session ids may start with "-": put them after "--", e.g.
caddy replay export -- -o1OWc5BqraCrXbT0x0-h
`,
		CobraFunc: cliReplayCmd,
	})
}

// cliReplayCmd sets up `caddy replay`: its subcommands, and an error for
// a name that is none of them (cobra would print the help and exit 0, so
// a mistyped `caddy replay sesions` in a script would seem to work).
func cliReplayCmd(cmd *cobra.Command) {
	cmd.AddCommand(cliSessionsCmd(), cliExportCmd(), cliDeleteCmd(), cliReindexCmd())
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			return fmt.Errorf("unknown command %q for %q: use sessions, export, delete or reindex", args[0], c.CommandPath())
		}
		return c.Help()
	}
}

// cliContext is the command's context (cobra leaves it nil unless the
// command was started with one).
func cliContext(c *cobra.Command) context.Context {
	if ctx := c.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// cliStoreFlags adds the flags that locate the store.
func cliStoreFlags(c *cobra.Command) {
	c.Flags().String("data-dir", "", "The replay data directory (overrides the configuration)")
	c.Flags().StringP("config", "c", "", "Caddy configuration to read the replay app's data_dir from")
	c.Flags().StringP("adapter", "a", "", "Name of the adapter for the configuration (e.g. caddyfile)")
	c.Flags().StringSlice("envfile", nil, "Environment file(s) to load first, as caddy run --envfile does")
}

// cliDataDir finds the data directory: --data-dir, else the replay app's
// data_dir in the configuration, else the default. It is made absolute
// against the current directory, as App.Provision does under `caddy run`
// (Caddy resolves its runtime paths against its working directory; only
// the Caddyfile's import is relative to the file). hint says, for error
// messages, where a relative directory came from and how to reach the
// one Caddy uses.
func cliDataDir(c *cobra.Command) (dir, hint string, err error) {
	dir, hint, err = cliConfiguredDataDir(c)
	if err != nil {
		return "", "", err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", fmt.Errorf("data directory %q: %v", dir, err)
	}
	return abs, hint, nil
}

// cliConfiguredDataDir is the data directory as given, before it is made
// absolute, with the hint cliDataDir returns.
func cliConfiguredDataDir(c *cobra.Command) (dir, hint string, err error) {
	const usage = "give the data directory with --data-dir, or the Caddy configuration with --config"
	envfiles, _ := c.Flags().GetStringSlice("envfile")
	if err := envfile.Load(envfiles); err != nil {
		return "", "", err
	}
	if dir, _ := c.Flags().GetString("data-dir"); dir != "" {
		return dir, usage, nil
	}
	cfgFile, _ := c.Flags().GetString("config")
	adapter, _ := c.Flags().GetString("adapter")
	cfg, cfgName, _, err := caddycmd.LoadConfig(cfgFile, adapter)
	if err != nil {
		return "", "", err
	}
	if len(cfg) > 0 {
		var parsed struct {
			Apps struct {
				Replay struct {
					DataDir string `json:"data_dir"`
				} `json:"replay"`
			} `json:"apps"`
		}
		if err := json.Unmarshal(cfg, &parsed); err != nil {
			return "", "", fmt.Errorf("reading the configuration: %v", err)
		}
		if d := parsed.Apps.Replay.DataDir; d != "" {
			if filepath.IsAbs(d) {
				return d, usage, nil
			}
			return d, fmt.Sprintf("data_dir %q of %s, relative to the current directory as for `caddy run`: run this command in the directory Caddy runs in, or give the data directory with --data-dir", d, cfgName), nil
		}
	}
	return DefaultDataDir(), usage, nil
}

// cliOpen opens the store, refusing to create one where there is none (a
// mistyped directory should not silently list nothing).
func cliOpen(c *cobra.Command) (*embedded.Store, error) {
	dir, hint, err := cliDataDir(c)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "index.db")); err != nil {
		if _, perr := os.Stat(filepath.Join(dir, "packs")); perr == nil {
			// Recordings without their index: the case reindex is for,
			// not a wrong directory.
			return nil, fmt.Errorf("the index of the recordings in %s (index.db) is missing: rebuild it with `caddy replay reindex` (Caddy stopped)", dir)
		}
		return nil, fmt.Errorf("no recordings in %s (%s)", dir, hint)
	}
	return embedded.Open(dir, embedded.Options{Summarizer: collector.Summarize})
}

func cliSessionsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "sessions [--json] [filters]",
		Short: "Lists recorded sessions, newest first",
		Long: `
Lists recorded sessions as a table, or with --json as the store's page of
sessions ({"sessions": [...], "next": cursor, "total": n}).

Times (--from, --to) are RFC 3339 ("2026-11-27T08:00:00Z"), a date
("2026-11-27"), or a duration ago ("24h", "7d"). Durations (--min-duration,
--max-duration) are Go durations ("90s", "5m").`,
		Args: cobra.NoArgs,
		RunE: cliSessions,
	}
	cliStoreFlags(c)
	f := c.Flags()
	f.Bool("json", false, "Print JSON instead of a table")
	f.String("from", "", "Sessions that started at or after this time")
	f.String("to", "", "Sessions that started before this time")
	f.String("url", "", "Sessions that visited a URL containing this text")
	f.String("user", "", "Sessions of users whose id, name or email starts with this")
	f.String("min-duration", "", "Sessions at least this long")
	f.String("max-duration", "", "Sessions at most this long")
	f.Bool("errors", false, "Only sessions with errors")
	f.Bool("rage", false, "Only sessions with rage clicks")
	f.Bool("dead", false, "Only sessions with dead clicks")
	f.String("sort", "start", "Sort by start, end, duration, active, clicks, errors, rage_clicks, dead_clicks or pages")
	f.Bool("asc", false, "Ascending order (default: descending)")
	f.Int("limit", 50, "Sessions per page (at most 500)")
	f.String("cursor", "", "Continue a listing (the Next cursor of a previous page)")
	return c
}

func cliSessions(c *cobra.Command, _ []string) error {
	f := c.Flags()
	q := store.Query{}
	var err error
	now := time.Now()
	from, _ := f.GetString("from")
	if q.From, err = cliTime(from, now); err != nil {
		return fmt.Errorf("--from: %v", err)
	}
	to, _ := f.GetString("to")
	if q.To, err = cliTime(to, now); err != nil {
		return fmt.Errorf("--to: %v", err)
	}
	q.URL, _ = f.GetString("url")
	q.User, _ = f.GetString("user")
	for flag, dst := range map[string]*int64{"min-duration": &q.MinDuration, "max-duration": &q.MaxDuration} {
		v, _ := f.GetString(flag)
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("--%s: %q is not a duration like 90s or 5m", flag, v)
		}
		*dst = d.Milliseconds()
	}
	if q.From > 0 && q.To > 0 && q.From > q.To {
		return fmt.Errorf("--from %s is after --to %s: no session can match", from, to)
	}
	if q.MinDuration > 0 && q.MaxDuration > 0 && q.MinDuration > q.MaxDuration {
		return fmt.Errorf("--min-duration is over --max-duration: no session can match")
	}
	q.HasErrors, _ = f.GetBool("errors")
	q.HasRageClicks, _ = f.GetBool("rage")
	q.HasDeadClicks, _ = f.GetBool("dead")
	sort, _ := f.GetString("sort")
	q.Sort = store.SortKey(sort)
	asc, _ := f.GetBool("asc")
	q.Desc = !asc
	q.Limit, _ = f.GetInt("limit")
	q.Cursor, _ = f.GetString("cursor")

	st, err := cliOpen(c)
	if err != nil {
		return err
	}
	defer st.Close()
	page, err := st.ListSessions(cliContext(c), q)
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	if asJSON, _ := f.GetBool("json"); asJSON {
		if page.Sessions == nil {
			page.Sessions = []store.Session{}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(page)
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tSTARTED\tDURATION\tURLS\tCLICKS\tERRORS\tRAGE\tDEAD\tUSER\tENTRY URL")
	for _, s := range page.Sessions {
		user := s.UserID
		if user == "" {
			user = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", s.ID,
			time.UnixMilli(s.Start).Local().Format("2006-01-02 15:04:05"),
			(time.Duration(s.Duration) * time.Millisecond).Round(time.Second),
			len(s.URLs), s.Clicks, s.Errors, s.RageClicks, s.DeadClicks, user, s.EntryURL)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	about := ""
	if page.TotalEstimated {
		about = "about "
	}
	fmt.Fprintf(out, "%d of %s%d sessions", len(page.Sessions), about, page.Total)
	if page.Next != "" {
		fmt.Fprintf(out, "; next page: --cursor %s", page.Next)
	}
	fmt.Fprintln(out)
	return nil
}

// cliTime parses a time flag: RFC 3339, a date, or a duration ago ("24h",
// "7d"). Empty is 0 (no bound).
func cliTime(v string, now time.Time) (int64, error) {
	if v == "" {
		return 0, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UnixMilli(), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, time.Local); err == nil {
		return t.UnixMilli(), nil
	}
	ago := v
	days := strings.HasSuffix(ago, "d")
	if days {
		ago = strings.TrimSuffix(ago, "d") + "h"
	}
	if d, err := time.ParseDuration(ago); err == nil && d >= 0 {
		if days {
			d *= 24
		}
		return now.Add(-d).UnixMilli(), nil
	}
	return 0, fmt.Errorf("%q is not a time (2026-11-27T08:00:00Z, 2026-11-27, or a duration ago like 24h or 7d)", v)
}

func cliExportCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "export <session-id> [--output <file>]",
		Short: "Exports a session as rrweb JSON",
		Long: `
Writes the session's events as one JSON array, in recording order: the
format rrweb's player (and the player's import) reads.`,
		Args: cobra.ExactArgs(1),
		RunE: cliExport,
	}
	cliStoreFlags(c)
	c.Flags().StringP("output", "o", "", "Write to this file instead of stdout")
	return c
}

func cliExport(c *cobra.Command, args []string) (err error) {
	st, err := cliOpen(c)
	if err != nil {
		return err
	}
	defer st.Close()
	out := c.OutOrStdout()
	if path, _ := c.Flags().GetString("output"); path != "" && path != "-" {
		// Not f, err := ...: that err would shadow the result the deferred
		// func reads, and a failed export would leave an empty file.
		f, cerr := os.Create(path)
		if cerr != nil {
			return cerr
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(path)
			}
		}()
		out = f
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	if err := ExportRRWeb(cliContext(c), st, args[0], bw); err != nil {
		return err
	}
	return bw.Flush()
}

// ExportRRWeb writes a session's events to w as one rrweb JSON array, the
// same recording the player's export serves (player.Export): views merged
// in timestamp order, stylesheet links sent as rr_css written with their
// text as rrweb's _cssText.
func ExportRRWeb(ctx context.Context, st player.ExportStore, session string, w io.Writer) error {
	exp, err := player.OpenExport(ctx, st, session, player.ExportOptions{})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no session %q", session)
	}
	if err != nil {
		return err
	}
	defer exp.Close()
	_, err = exp.WriteTo(w)
	return err
}

func cliDeleteCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "delete <session-id>... | --user <user-id>",
		Short: "Deletes sessions, or every session of a user",
		Long: `
Deletes sessions: their segments are erased from disk and their ids
remembered, so a recorder still uploading to them cannot bring them back.`,
		RunE: cliDelete,
	}
	cliStoreFlags(c)
	c.Flags().String("user", "", "Delete every session whose user id is this (set with SessionReplay.setUser)")
	return c
}

func cliDelete(c *cobra.Command, args []string) error {
	user, _ := c.Flags().GetString("user")
	if (user == "") == (len(args) == 0) {
		return errors.New("give session ids, or --user and no session id")
	}
	st, err := cliOpen(c)
	if err != nil {
		return err
	}
	defer st.Close()
	out := c.OutOrStdout()
	if user != "" {
		n, err := st.DeleteUser(cliContext(c), user)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "deleted %d sessions of user %q\n", n, user)
		return nil
	}
	var failed []string
	for _, id := range args {
		switch err := st.DeleteSession(cliContext(c), id); {
		case err == nil:
			fmt.Fprintf(out, "deleted %s\n", id)
		case errors.Is(err, store.ErrNotFound):
			failed = append(failed, id)
			fmt.Fprintf(c.ErrOrStderr(), "no session %s\n", id)
		default:
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d sessions not found", len(failed), len(args))
	}
	return nil
}

func cliReindexCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "reindex",
		Short: "Rebuilds the session index from the stored segments",
		Long: `
Rebuilds the whole index (sessions, their metadata, search) from the
segments alone, for a damaged or lost index.db. It needs the store to
itself: stop Caddy first.`,
		Args: cobra.NoArgs,
		RunE: cliReindex,
	}
	cliStoreFlags(c)
	return c
}

func cliReindex(c *cobra.Command, _ []string) error {
	dir, hint, err := cliDataDir(c)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "packs")); err != nil {
		return fmt.Errorf("no recordings in %s (%s)", dir, hint)
	}
	// Reindex may start from a lost index.db, so open without requiring it.
	st, err := embedded.Open(dir, embedded.Options{Summarizer: collector.Summarize})
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	stats, err := st.Reindex(cliContext(c), collector.Summarize)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.OutOrStdout(), "reindexed %d sessions, %d segments, %d assets in %s", stats.Sessions, stats.Segments, stats.Assets,
		time.Since(start).Round(time.Millisecond))
	if stats.Skipped > 0 {
		fmt.Fprintf(c.OutOrStdout(), "; skipped %d damaged records", stats.Skipped)
	}
	fmt.Fprintln(c.OutOrStdout())
	return nil
}
