// Command caddy is Caddy with its standard modules and Caddy Replay's
// modules (the replay app and the replay and replay_player handlers).
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-replay/caddy-replay/caddymodule"
)

func main() {
	caddycmd.Main()
}
