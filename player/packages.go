package player

import (
	"io/fs"

	"github.com/caddy-replay/caddy-replay/replaycore"
)

// uiPackages are the source trees the UI's bare imports resolve to: the
// replay core (`import { Rebuilder } from "replaycore/index.js"`).
func uiPackages() map[string]fs.FS {
	return map[string]fs.FS{"replaycore": replaycore.FS}
}
