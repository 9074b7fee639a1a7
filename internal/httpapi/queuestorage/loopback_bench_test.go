package queuestorage

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/memstore"
)

// The loopback benchmarks drive the real handler, over the broker on the
// in-memory store, through a real HTTP server on 127.0.0.1 with Shared Key
// requests shaped like the Go SDK's (azqueue v1.0.0: x-ms-client-request-id,
// x-ms-date, x-ms-version, Content-Type application/xml, a 1 KiB message).
// The client writes raw HTTP/1.1 on one keep-alive connection and signs
// with one reused HMAC, so that what it costs stays small and constant and
// the figures move with the server. B/op, allocs/op and cpu-ns/op (user +
// system CPU time per op, getrusage) are the whole process, client and
// server; ns/op is the round trip's latency. The Direct benchmarks call
// ServeHTTP with no network and count the server alone.
//
//	go test -run '^$' -bench 'Loopback|Direct' -benchmem ./internal/httpapi/queuestorage/

const benchQueue = "benchq"

// benchText is a 1 KiB message, as bench/azurite/sqbench sends by default.
var benchText = strings.Repeat("abcdefghijklmnop", 64)

// benchEngine returns a broker engine on memstore with the bench queue.
func benchEngine(b *testing.B) Engine {
	b.Helper()
	br, err := broker.New(broker.Config{Store: memstore.New()})
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	eng := NewBrokerEngine(br)
	if err := eng.CreateQueue(context.Background(), DevAccount+"/"+benchQueue, nil); err != nil {
		b.Fatal(err)
	}
	return eng
}

// benchHandler returns a handler over a fresh engine.
func benchHandler(b *testing.B) (*Handler, Engine) {
	b.Helper()
	eng := benchEngine(b)
	h, err := New(Config{Engine: eng})
	if err != nil {
		b.Fatal(err)
	}
	return h, eng
}

// rawClient speaks HTTP/1.1 on one connection.
type rawClient struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	mac  hash.Hash
	host string
	date string
	body []byte
}

func dialRaw(b *testing.B, addr string) *rawClient {
	b.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	key, _ := base64.StdEncoding.DecodeString(DevKey)
	return &rawClient{conn: conn, br: bufio.NewReaderSize(conn, 64<<10), bw: bufio.NewWriterSize(conn, 8<<10),
		mac: hmac.New(sha256.New, key), host: addr, date: time.Now().UTC().Format(http.TimeFormat)}
}

// do sends one request; params are the decoded query parameters in sorted
// order (name, value, name, value…). It returns the status and the body,
// valid until the next call.
func (c *rawClient) do(b *testing.B, method, path string, body []byte, params ...string) (int, []byte) {
	var target strings.Builder
	target.WriteString("/" + DevAccount + path)
	res := "/" + DevAccount + "/" + DevAccount + path
	for i := 0; i+1 < len(params); i += 2 {
		if i == 0 {
			target.WriteByte('?')
		} else {
			target.WriteByte('&')
		}
		target.WriteString(params[i] + "=" + url.QueryEscape(params[i+1]))
		res += "\n" + params[i] + ":" + params[i+1]
	}
	cl, ctype := "", ""
	if len(body) > 0 {
		cl, ctype = strconv.Itoa(len(body)), "application/xml"
	}
	sts := method + "\n\n\n" + cl + "\n\n" + ctype + "\n\n\n\n\n\n\n" +
		"x-ms-client-request-id:5d0a4e0c-3b1f-4a55-9d33-0c2f1b1f3a01\nx-ms-date:" + c.date + "\nx-ms-version:2018-03-28\n" + res
	c.mac.Reset()
	c.mac.Write([]byte(sts))
	sig := base64.StdEncoding.EncodeToString(c.mac.Sum(nil))
	w := c.bw
	fmt.Fprintf(w, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: azsdk-go-azqueue/v1.0.0 (go1.26; linux)\r\nAccept: application/xml\r\n", method, target.String(), c.host)
	fmt.Fprintf(w, "X-Ms-Client-Request-Id: 5d0a4e0c-3b1f-4a55-9d33-0c2f1b1f3a01\r\nX-Ms-Date: %s\r\nX-Ms-Version: 2018-03-28\r\nAuthorization: SharedKey %s:%s\r\n", c.date, DevAccount, sig)
	if len(body) > 0 {
		fmt.Fprintf(w, "Content-Type: application/xml\r\nContent-Length: %d\r\n\r\n", len(body))
		w.Write(body)
	} else {
		w.WriteString("Content-Length: 0\r\n\r\n")
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return c.readResponse(b)
}

func (c *rawClient) readResponse(b *testing.B) (int, []byte) {
	line, err := c.br.ReadSlice('\n')
	if err != nil || len(line) < 12 {
		b.Fatalf("status line %q: %v", line, err)
	}
	status, _ := strconv.Atoi(string(line[9:12]))
	n := 0
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			b.Fatal(err)
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && strings.EqualFold(string(k), "Content-Length") {
			n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if cap(c.body) < n {
		c.body = make([]byte, n)
	}
	c.body = c.body[:n]
	if _, err := io.ReadFull(c.br, c.body); err != nil {
		b.Fatal(err)
	}
	return status, c.body
}

// between returns every text between open and close tags.
func between(body []byte, open, close string) []string {
	var out []string
	for {
		i := bytes.Index(body, []byte(open))
		if i < 0 {
			return out
		}
		body = body[i+len(open):]
		j := bytes.Index(body, []byte(close))
		if j < 0 {
			return out
		}
		out = append(out, string(body[:j]))
		body = body[j+len(close):]
	}
}

func putBody() []byte {
	return []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<QueueMessage><MessageText>" + benchText + "</MessageText></QueueMessage>")
}

// fill puts n messages through the engine.
func fill(b *testing.B, eng Engine, n int) {
	for range n {
		if _, err := eng.Put(context.Background(), DevAccount+"/"+benchQueue, []byte(benchText), 0, -1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoopback(b *testing.B) {
	b.Run("Put", func(b *testing.B) {
		h, _ := benchHandler(b)
		srv := httptest.NewServer(h)
		defer srv.Close()
		c := dialRaw(b, srv.Listener.Addr().String())
		body := putBody()
		b.ReportAllocs()
		cpu := startCPU(b)
		defer cpu.report()
		for b.Loop() {
			if st, out := c.do(b, "POST", "/"+benchQueue+"/messages", body); st != 201 {
				b.Fatalf("put: %d %s", st, out)
			}
		}
	})
	b.Run("Get32+Delete", func(b *testing.B) {
		h, eng := benchHandler(b)
		srv := httptest.NewServer(h)
		defer srv.Close()
		c := dialRaw(b, srv.Listener.Addr().String())
		b.ReportAllocs()
		cpu := startCPU(b)
		defer cpu.report()
		for b.Loop() {
			b.StopTimer()
			cpu.pause()
			fill(b, eng, 32)
			cpu.resume()
			b.StartTimer()
			st, out := c.do(b, "GET", "/"+benchQueue+"/messages", nil, "numofmessages", "32", "visibilitytimeout", "300")
			if st != 200 {
				b.Fatalf("get: %d %s", st, out)
			}
			ids, receipts := between(out, "<MessageId>", "</MessageId>"), between(out, "<PopReceipt>", "</PopReceipt>")
			if len(ids) != 32 || len(receipts) != 32 {
				b.Fatalf("get: %d messages", len(ids))
			}
			for i, id := range ids {
				if st, out := c.do(b, "DELETE", "/"+benchQueue+"/messages/"+id, nil, "popreceipt", receipts[i]); st != 204 {
					b.Fatalf("delete: %d %s", st, out)
				}
			}
		}
	})
	b.Run("Peek32", func(b *testing.B) {
		h, eng := benchHandler(b)
		fill(b, eng, 100)
		srv := httptest.NewServer(h)
		defer srv.Close()
		c := dialRaw(b, srv.Listener.Addr().String())
		b.ReportAllocs()
		cpu := startCPU(b)
		defer cpu.report()
		for b.Loop() {
			if st, out := c.do(b, "GET", "/"+benchQueue+"/messages", nil, "numofmessages", "32", "peekonly", "true"); st != 200 {
				b.Fatalf("peek: %d %s", st, out)
			}
		}
	})
}

// cpuMeter measures the process's CPU time over a benchmark's loop, less
// its pauses, and reports it per op as cpu-ns/op.
type cpuMeter struct {
	b             *testing.B
	start, paused int64
	pausedAt      int64
}

func startCPU(b *testing.B) *cpuMeter { return &cpuMeter{b: b, start: processCPU()} }

func (m *cpuMeter) pause()  { m.pausedAt = processCPU() }
func (m *cpuMeter) resume() { m.paused += processCPU() - m.pausedAt }

func (m *cpuMeter) report() {
	if m.b.N > 0 {
		m.b.ReportMetric(float64(processCPU()-m.start-m.paused)/float64(m.b.N), "cpu-ns/op")
	}
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// signedRequest builds a Go-SDK-shaped signed request for ServeHTTP.
func signedRequest(method, target string, body []byte) *http.Request {
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	r.Header.Set("x-ms-client-request-id", "5d0a4e0c-3b1f-4a55-9d33-0c2f1b1f3a01")
	r.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	r.Header.Set("x-ms-version", "2018-03-28")
	r.Header.Set("User-Agent", "azsdk-go-azqueue/v1.0.0 (go1.26; linux)")
	r.Header.Set("Accept", "application/xml")
	if len(body) > 0 {
		r.Header.Set("Content-Type", "application/xml")
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	key, _ := base64.StdEncoding.DecodeString(DevKey)
	r.Header.Set("Authorization", "SharedKey "+DevAccount+":"+testSignature(key, DevAccount, r))
	return r
}

func BenchmarkDirect(b *testing.B) {
	b.Run("Put", func(b *testing.B) {
		h, _ := benchHandler(b)
		body := putBody()
		r := signedRequest("POST", "/"+DevAccount+"/"+benchQueue+"/messages", body)
		rd := bytes.NewReader(body)
		w := &discardWriter{}
		b.ReportAllocs()
		cpu := startCPU(b)
		defer cpu.report()
		for b.Loop() {
			rd.Reset(body)
			r.Body = io.NopCloser(rd)
			w.h, w.status = http.Header{}, 0
			h.ServeHTTP(w, r)
			if w.status != 201 {
				b.Fatalf("put: %d", w.status)
			}
		}
	})
	b.Run("Peek32", func(b *testing.B) {
		h, eng := benchHandler(b)
		fill(b, eng, 100)
		r := signedRequest("GET", "/"+DevAccount+"/"+benchQueue+"/messages?numofmessages=32&peekonly=true", nil)
		w := &discardWriter{}
		b.ReportAllocs()
		cpu := startCPU(b)
		defer cpu.report()
		for b.Loop() {
			w.h, w.status = http.Header{}, 0
			h.ServeHTTP(w, r)
			if w.status != 200 {
				b.Fatalf("peek: %d", w.status)
			}
		}
	})
}
