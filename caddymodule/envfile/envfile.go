// Package envfile reads environment files as `caddy run --envfile` does.
//
// `caddy run --envfile <file>` sets environment variables before the
// configuration is adapted, so a Caddyfile's {$VAR} (a data_dir, say) and
// XDG_DATA_HOME (the default data directory) may come from one. The
// `caddy replay` commands take the same flag, so that they find the store
// Caddy uses. Caddy's loader is not exported: this one follows the rules
// Caddy documents for it.
package envfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Load sets the variables of each file that the environment does
// not already have (a variable already set wins, as under `caddy run`).
func Load(paths []string) error {
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("reading the environment file: %v", err)
		}
		vars, err := Parse(f, path)
		f.Close()
		if err != nil {
			return err
		}
		for _, kv := range vars {
			if _, set := os.LookupEnv(kv[0]); set {
				continue
			}
			if err := os.Setenv(kv[0], kv[1]); err != nil {
				return fmt.Errorf("%s: setting %s: %v", path, kv[0], err)
			}
		}
	}
	return nil
}

// Parse reads KEY=VALUE lines: blank lines and lines starting with
// '#' are skipped, a leading "export " is ignored, a '#' after the value
// starts a comment, and a value in single or double quotes may span
// lines (a backslash before the quote keeps it). No expansion is done.
// name is the file's name, for errors. Pairs are returned in file order.
func Parse(r io.Reader, name string) ([][2]string, error) {
	var vars [][2]string
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: not a KEY=VALUE line", name, n)
		}
		key = strings.TrimPrefix(key, "export ")
		if key == "" || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("%s:%d: %q is not a variable name", name, n, key)
		}
		if strings.HasPrefix(val, " ") || strings.HasPrefix(val, "\t") {
			return nil, fmt.Errorf("%s:%d: space before the value of %s", name, n, key)
		}
		if q := val[:min(1, len(val))]; q == `"` || q == "'" {
			// Quoted: up to the closing quote, over more lines if need be.
			first := n
			text := val[1:]
			for {
				if end := closingQuote(text, q[0]); end >= 0 {
					val = strings.ReplaceAll(text[:end], `\`+q, q)
					break
				}
				if !sc.Scan() {
					return nil, fmt.Errorf("%s:%d: the quoted value of %s is not closed", name, first, key)
				}
				n++
				text += "\n" + sc.Text()
			}
		} else if before, _, found := strings.Cut(val, "#"); found {
			val = strings.TrimRight(before, " \t")
		}
		vars = append(vars, [2]string{key, val})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return vars, nil
}

// closingQuote is the index in s of the first quote q not preceded by a
// backslash, or -1.
func closingQuote(s string, q byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == q && (i == 0 || s[i-1] != '\\') {
			return i
		}
	}
	return -1
}
