package caddymodule

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/caddy-replay/caddy-replay/store/embedded"
)

// emptyStore is a data directory with an empty store in it.
func emptyStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	st, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runCLI runs `caddy replay <args>` in-process, under a root command as
// in the caddy binary (cobra checks a root's arguments itself, not a
// subcommand's).
func runCLI(args ...string) (string, error) {
	root := &cobra.Command{Use: "caddy", SilenceUsage: true, SilenceErrors: true}
	cmd := &cobra.Command{Use: "replay"}
	cliReplayCmd(cmd)
	root.AddCommand(cmd)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"replay"}, args...))
	err := root.Execute()
	return out.String(), err
}

// TestCLIUnknownCommandFails: a mistyped subcommand is an error, not the
// help and exit status 0; no subcommand at all shows the help.
func TestCLIUnknownCommandFails(t *testing.T) {
	if _, err := runCLI("sesions"); err == nil || !strings.Contains(err.Error(), `unknown command "sesions"`) {
		t.Errorf("caddy replay sesions: %v", err)
	}
	if out, err := runCLI(); err != nil || !strings.Contains(out, "reindex") {
		t.Errorf("caddy replay: %v\n%s", err, out)
	}
	if out, err := runCLI("sessions", "--data-dir", emptyStore(t)); err != nil || !strings.Contains(out, "0 of 0 sessions") {
		t.Errorf("caddy replay sessions: %v\n%s", err, out)
	}
}

// TestCLIEmptyRangesFail: a time range that ends before it starts, or a
// minimum duration over the maximum, is a mistake the command names, not
// a listing of nothing.
func TestCLIEmptyRangesFail(t *testing.T) {
	dir := emptyStore(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "2026-03-01T00:00:00Z", "--to", "2026-02-01T00:00:00Z"}, "is after --to"},
		{[]string{"--min-duration", "5m", "--max-duration", "10s"}, "is over --max-duration"},
	} {
		if out, err := runCLI(append([]string{"sessions", "--data-dir", dir}, c.args...)...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("caddy replay sessions %v: %v\n%s", c.args, err, out)
		}
	}
	if out, err := runCLI("sessions", "--data-dir", dir, "--from", "2026-02-01T00:00:00Z", "--to", "2026-03-01T00:00:00Z"); err != nil || !strings.Contains(out, "0 of 0 sessions") {
		t.Errorf("caddy replay sessions over a month: %v\n%s", err, out)
	}
}

// TestCLIFailedExportLeavesNoFile: exporting a session that is not there
// fails and leaves no (empty) output file behind.
func TestCLIFailedExportLeavesNoFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "export.json")
	_, err := runCLI("export", "--data-dir", emptyStore(t), "-o", out, "no-such-session-00001")
	if err == nil || !strings.Contains(err.Error(), "no session") {
		t.Errorf("export of a missing session: %v", err)
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Errorf("a failed export left %s behind (%v)", out, serr)
	}
}

// TestCLILostIndexSaysReindex: with recordings on disk but index.db lost
// (the case reindex exists for), sessions, export and delete said "no
// recordings in <dir>" and pointed at --data-dir, as if the directory were
// wrong; they name the lost index and the command that rebuilds it.
func TestCLILostIndexSaysReindex(t *testing.T) {
	dir := emptyStore(t)
	for _, name := range []string{"index.db", "index.db-wal", "index.db-shm"} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "packs")); err != nil {
		t.Fatalf("the store keeps no packs folder: this test cannot tell (%v)", err)
	}
	for _, args := range [][]string{{"sessions"}, {"export", "some-session-000001"}, {"delete", "some-session-000001"}} {
		_, err := runCLI(append(args, "--data-dir", dir)...)
		if err == nil || !strings.Contains(err.Error(), "caddy replay reindex") || strings.Contains(err.Error(), "no recordings") {
			t.Errorf("caddy replay %s with a lost index: %v, want it to say to run caddy replay reindex", args[0], err)
		}
	}
	// A directory without recordings at all still says so.
	if _, err := runCLI("sessions", "--data-dir", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no recordings") {
		t.Errorf("caddy replay sessions on an empty directory: %v", err)
	}
}

// TestCLIRelativeDataDirAsCaddyRun: a relative data_dir in the
// configuration is relative to the current directory for `caddy replay`,
// as for `caddy run` (App.Provision makes it absolute against the working
// directory, as Caddy does for its other runtime paths; only `import` is
// relative to the Caddyfile). Run from another directory, the command
// said "no recordings in rec", naming neither the directory it looked in
// nor why: it names the absolute directory, the data_dir it came from,
// and what to do.
func TestCLIRelativeDataDirAsCaddyRun(t *testing.T) {
	root := t.TempDir()
	conf := filepath.Join(root, "conf")
	if err := os.Mkdir(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	caddyfile := filepath.Join(conf, "Caddyfile")
	if err := os.WriteFile(caddyfile, []byte("{\n\treplay {\n\t\tdata_dir rec\n\t}\n}\n\nhttp://localhost:1 {\n\treplay\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The directory `caddy run --config conf/Caddyfile` uses from root.
	t.Chdir(root)
	app := &App{DataDir: "rec"}
	want, err := filepath.Abs(app.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(want, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// From the same directory, the command finds that store.
	if out, err := runCLI("sessions", "--config", "conf/Caddyfile"); err != nil || !strings.Contains(out, "0 of 0 sessions") {
		t.Fatalf("caddy replay sessions --config conf/Caddyfile from Caddy's directory: %v\n%s", err, out)
	}
	// From elsewhere, it says where it looked and why.
	elsewhere := t.TempDir()
	t.Chdir(elsewhere)
	_, err = runCLI("sessions", "--config", caddyfile)
	if err == nil {
		t.Fatal("found recordings in a directory that has none")
	}
	for _, part := range []string{filepath.Join(elsewhere, "rec"), `data_dir "rec"`, "current directory", "--data-dir"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("the error %q does not say %q", err, part)
		}
	}
}

// TestCLIEnvFileAsCaddyRun: `caddy run --envfile` sets the variables a
// Caddyfile's {$VAR} reads (and XDG_DATA_HOME, which moves the default
// data directory) before the configuration is adapted. `caddy replay`
// had no --envfile, so with `data_dir {$REPLAY_DATA}` set in one it read
// another directory than Caddy (or failed to adapt): it takes the same
// flag, with the same rules (KEY=VALUE lines, # comments, "export ",
// quotes; variables already set win).
func TestCLIEnvFileAsCaddyRun(t *testing.T) {
	dir := emptyStore(t)
	root := t.TempDir()
	caddyfile := filepath.Join(root, "Caddyfile")
	if err := os.WriteFile(caddyfile, []byte("{\n\treplay {\n\t\tdata_dir {$K4_TEST_REPLAY_DATA:/nonexistent/replay}\n\t}\n}\n\nhttp://localhost:1 {\n\treplay\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	envfile := filepath.Join(root, "caddy.env")
	env := "# the recordings\nexport K4_TEST_REPLAY_DATA=\"" + dir + "\" # quoted\n\nOTHER=1\n"
	if err := os.WriteFile(envfile, []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Unsetenv("K4_TEST_REPLAY_DATA"); os.Unsetenv("OTHER") })
	if out, err := runCLI("sessions", "--config", caddyfile, "--envfile", envfile); err != nil || !strings.Contains(out, "0 of 0 sessions") {
		t.Fatalf("caddy replay sessions --envfile: %v\n%s", err, out)
	}
	// A variable already set wins over the file, as under caddy run.
	os.Unsetenv("K4_TEST_REPLAY_DATA")
	t.Setenv("K4_TEST_REPLAY_DATA", filepath.Join(root, "elsewhere"))
	if _, err := runCLI("sessions", "--config", caddyfile, "--envfile", envfile); err == nil || !strings.Contains(err.Error(), filepath.Join(root, "elsewhere")) {
		t.Errorf("the file's value replaced the environment's: %v", err)
	}
	// A line that is not KEY=VALUE is an error that names the file and line.
	bad := filepath.Join(root, "bad.env")
	if err := os.WriteFile(bad, []byte("A=1\nnot a pair\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI("sessions", "--config", caddyfile, "--envfile", bad); err == nil || !strings.Contains(err.Error(), "bad.env:2") {
		t.Errorf("a bad env file: %v, want its name and line 2", err)
	}
	if _, err := runCLI("sessions", "--envfile", filepath.Join(root, "missing.env")); err == nil || !strings.Contains(err.Error(), "missing.env") {
		t.Errorf("a missing env file: %v", err)
	}
}
