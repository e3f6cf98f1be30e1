//go:build unix

package collector

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
)

// loadClient is the ingest benchmark's HTTP/1.1 client: one keep-alive
// connection, each request written with one write from a reused buffer, the
// response read with a minimal parser. The load generator shares the
// machine's cores with the server it measures, so every microsecond it
// spends per request is one the server does not get; net/http's client
// spends several times more per request than this.
type loadClient struct {
	addr string // host:port
	conn net.Conn
	br   *bufio.Reader
	req  []byte // the request being written
	body []byte // the last response body
}

// post sends one upload and returns the response's status and body (valid
// until the next call). A connection the server closed is reopened once.
func (c *loadClient) post(target string, body []byte) (int, []byte, error) {
	c.req = append(c.req[:0], "POST "...)
	c.req = append(c.req, target...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.addr...)
	c.req = append(c.req, "\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: "...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	for attempt := 0; ; attempt++ {
		if c.conn == nil {
			conn, err := net.Dial("tcp", c.addr)
			if err != nil {
				return 0, nil, err
			}
			c.conn = conn
			if c.br == nil {
				c.br = bufio.NewReaderSize(conn, 4096)
			} else {
				c.br.Reset(conn)
			}
		}
		status, keep, err := c.roundTrip()
		if err != nil {
			c.close()
			// A keep-alive connection the server closed before reading
			// this request: send it again on a new one, as clients do.
			if attempt == 0 && (errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)) {
				continue
			}
			return 0, nil, err
		}
		if !keep {
			c.close()
		}
		return status, c.body, nil
	}
}

func (c *loadClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// roundTrip writes c.req and reads the response: status line, headers
// (only Content-Length and Connection matter), body.
func (c *loadClient) roundTrip() (status int, keep bool, err error) {
	if _, err := c.conn.Write(c.req); err != nil {
		return 0, false, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	keep = line[7] == '1'
	length := -1
	for {
		h, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("malformed header %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, false, fmt.Errorf("malformed Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			keep = false
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, false, errors.New("chunked responses are not expected from the collector")
		}
	}
	if length < 0 {
		return 0, false, errors.New("response without Content-Length")
	}
	if cap(c.body) < length {
		c.body = make([]byte, length)
	}
	c.body = c.body[:length]
	if _, err := io.ReadFull(c.br, c.body); err != nil {
		return 0, false, err
	}
	return status, keep, nil
}
