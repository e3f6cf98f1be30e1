package inject

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

type gzWriter struct {
	h  http.Header
	zw *kgzip.Writer
}

func (d *gzWriter) Header() http.Header         { return d.h }
func (d *gzWriter) Write(p []byte) (int, error) { return d.zw.Write(p) }
func (d *gzWriter) WriteHeader(int)             {}

func BenchmarkTmpGzip(b *testing.B) {
	pages := corpus(b)
	in := newInjector(b, nil)
	zw, _ := kgzip.NewWriterLevel(io.Discard, 5)
	for _, mode := range []string{"copy", "wrapper-skip", "rewrite"} {
		b.Run(mode, func(b *testing.B) {
			var total int64
			for _, p := range pages {
				total += int64(len(p))
			}
			b.SetBytes(total)
			for i := 0; i < b.N; i++ {
				for _, page := range pages {
					zw.Reset(io.Discard)
					w := &gzWriter{h: http.Header{}, zw: zw}
					req := httptest.NewRequest("GET", "https://example.com/", nil)
					req.Header.Set("Sec-Fetch-Dest", "document")
					if mode == "wrapper-skip" {
						req.Header.Set("HX-Request", "true")
					}
					var dst http.ResponseWriter = w
					var rw *ResponseWriter
					if mode != "copy" {
						rw = in.Wrap(w, req, true)
						dst = rw
					}
					dst.Header().Set("Content-Type", "text/html; charset=utf-8")
					dst.WriteHeader(200)
					for j := 0; j < len(page); j += chunk {
						dst.Write(page[j:min(j+chunk, len(page))])
					}
					if rw != nil {
						rw.Close()
					}
					zw.Close()
				}
			}
		})
	}
}
