package e2e

import (
	"compress/gzip"
	"encoding/base64"
	"io"

	"github.com/chromedp/cdproto/runtime"
)

func gunzip(r io.Reader) ([]byte, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(zr)
}

// awaitPromise makes chromedp.Evaluate wait for a returned promise.
func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams {
	return p.WithAwaitPromise(true)
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
