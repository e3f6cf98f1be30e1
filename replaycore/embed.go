// Package replaycore holds the replay core: small ES modules that rebuild a
// recorded document from rrweb-model events inside a sandboxed iframe,
// sanitizing hostile markup, and checkpoint and restore that state for fast
// seeking. The player bundles it; tests load it into Chromium.
//
// The JavaScript API is documented in index.js (class Rebuilder).
package replaycore

import "embed"

// FS holds the replay core's ES modules at its root; index.js is the entry.
// Bundle it with package jsbundle as a package:
//
//	jsbundle.Options{..., Packages: map[string]fs.FS{"replaycore": replaycore.FS}}
//
// and import it as `import { Rebuilder } from "replaycore/index.js"`.
//
//go:embed *.js
var FS embed.FS
