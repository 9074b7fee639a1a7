package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/httpapi/mgmt"
)

// egClient calls the Event Grid management API (/api/v1/eventgrid/…) of a
// running server.
type egClient struct {
	base string
	hc   *http.Client
}

// egClient returns a client of the --server URL.
func (cf *clientFlags) egClient() (*egClient, error) {
	u, err := url.Parse(cf.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &usageError{fmt.Sprintf("--server: %q is not an http(s) URL", cf.server)}
	}
	return &egClient{base: strings.TrimSuffix(cf.server, "/") + "/api/v1/eventgrid", hc: &http.Client{Timeout: 2 * time.Minute}}, nil
}

// egPath joins escaped path segments.
func egPath(segs ...string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// resolve replaces a leading "{ns}" with the server's namespace path.
func (c *egClient) resolve(ctx context.Context, path string) (string, error) {
	rest, ok := strings.CutPrefix(path, "{ns}")
	if !ok {
		return path, nil
	}
	ns, err := nsPathOf(ctx, c)
	if err != nil {
		return "", err
	}
	return ns + rest, nil
}

// do sends a request and decodes a JSON answer into out (when not nil).
// It returns the status.
func (c *egClient) do(ctx context.Context, method, path string, in, out any) (int, error) {
	path, err := c.resolve(ctx, path)
	if err != nil {
		return 0, err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	if in != nil || method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, &mgmt.UnreachableError{URL: c.base, Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			msg := e.Error.Message
			if i := strings.Index(msg, " Report '"); i > 0 {
				msg = msg[:i]
			}
			return resp.StatusCode, errors.New(e.Error.Code + ": " + msg)
		}
		return resp.StatusCode, fmt.Errorf("the server answered %s", resp.Status)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decoding the answer: %w", err)
		}
	}
	return resp.StatusCode, nil
}

// egResource is the part of an ARM resource the CLI prints.
type egResource struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Properties map[string]any `json:"properties"`
}

// prop reads a nested property ("destination.endpointType").
func (r egResource) prop(path string) any {
	var v any = r.Properties
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// propText formats a nested property for a table ("-" when missing).
func (r egResource) propText(path string) string {
	switch v := r.prop(path).(type) {
	case nil:
		return "-"
	case string:
		if v == "" {
			return "-"
		}
		return v
	case float64:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprint(v)
	}
}
