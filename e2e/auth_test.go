package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestPlayerAuthentication: with require_auth the player answers 401 to
// anonymous requests (UI and API alike) and serves what basic_auth or
// forward_auth let through.
func TestPlayerAuthentication(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Token") != "good" {
			http.Error(w, "denied by the gateway", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Remote-User", "ops")
	}))
	defer gateway.Close()

	player := "http://localhost:{$PLAYER_PORT:8090} {\n\tbind 127.0.0.1\n\treplay_player\n}"
	for _, tc := range []struct {
		name, block  string
		good, bad    []string // request headers
		wantBadError string
	}{
		{
			name:         "basic_auth",
			block:        "http://localhost:{$PLAYER_PORT:8090} {\n\tbind 127.0.0.1\n\tbasic_auth {\n\t\tops " + string(hash) + "\n\t}\n\treplay_player {\n\t\trequire_auth\n\t}\n}",
			good:         []string{"Authorization", "Basic " + basic("ops", "s3cret-pass")},
			bad:          []string{"Authorization", "Basic " + basic("ops", "wrong")},
			wantBadError: "",
		},
		{
			name:  "forward_auth",
			block: "http://localhost:{$PLAYER_PORT:8090} {\n\tbind 127.0.0.1\n\tforward_auth " + strings.TrimPrefix(gateway.URL, "http://") + " {\n\t\turi /check\n\t\tcopy_headers Remote-User\n\t}\n\treplay_player {\n\t\trequire_auth\n\t}\n}",
			good:  []string{"X-Token", "good"},
			bad:   []string{"X-Token", "bad"},
		},
		{
			name:         "require_auth without an authenticator",
			block:        "http://localhost:{$PLAYER_PORT:8090} {\n\tbind 127.0.0.1\n\treplay_player {\n\t\trequire_auth\n\t}\n}",
			bad:          []string{},
			wantBadError: "authentication_required",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := StartStack(t, StackOptions{Edit: func(c string) string {
				if !strings.Contains(c, player) {
					t.Fatalf("Caddyfile.example's player block changed; update this test")
				}
				return strings.Replace(c, player, tc.block, 1)
			}})
			for _, path := range []string{"/", "/api/sessions"} {
				// Anonymous and wrong credentials: 401, and nothing of the player.
				for _, h := range [][]string{nil, tc.bad} {
					resp := Get(t, s.Player+path, h...)
					body, _ := io.ReadAll(resp.Body)
					if resp.StatusCode != http.StatusUnauthorized {
						t.Errorf("%s with %v: %d, want 401", path, h, resp.StatusCode)
					}
					if strings.Contains(string(body), "Caddy Replay") || strings.Contains(string(body), "sessions\":") {
						t.Errorf("%s with %v leaked the player: %.200s", path, h, body)
					}
					if tc.wantBadError != "" && !strings.Contains(string(body), tc.wantBadError) {
						t.Errorf("%s: refusal does not say why: %.200s", path, body)
					}
				}
				if tc.good == nil {
					continue
				}
				resp := Get(t, s.Player+path, tc.good...)
				if resp.StatusCode != http.StatusOK {
					body, _ := io.ReadAll(resp.Body)
					t.Errorf("%s authenticated: %d %.200s", path, resp.StatusCode, body)
				}
			}
		})
	}
}

func basic(user, pass string) string {
	return base64Std(user + ":" + pass)
}
