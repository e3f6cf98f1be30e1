package browsertest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestChromiumRuns(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><title>t</title><p id=p>hi</p><script>console.log("ready"); document.getElementById("p").textContent += "!"</script>`))
	}))
	defer srv.Close()
	ctx := New(t, 60*time.Second)
	con := WatchConsole(ctx)
	var text string
	if err := chromedp.Run(ctx, chromedp.Navigate(srv.URL), chromedp.Text("#p", &text)); err != nil {
		t.Fatal(err)
	}
	if text != "hi!" {
		t.Fatalf("page script did not run: %q", text)
	}
	msgs, _ := con.Snapshot()
	if len(msgs) == 0 {
		t.Errorf("console message not collected")
	}
}
