package mgmt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// APIError is an error answer from the management API.
type APIError struct {
	Status  int    // HTTP status
	Code    string // broker.Code name, or one of this package's own codes
	Message string
}

// Error returns the message followed by the code in parentheses.
func (e *APIError) Error() string { return e.Message + " (" + e.Code + ")" }

// UnreachableError is returned when the server could not be reached at all.
type UnreachableError struct {
	URL string // the server's base URL
	Err error
}

func (e *UnreachableError) Error() string {
	cause := e.Err
	var ue *url.Error
	if errors.As(cause, &ue) {
		cause = ue.Err // the URL is said already
	}
	return fmt.Sprintf("could not reach the Baton server at %s: %v", e.URL, cause)
}

// Unwrap returns the transport error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Client calls the management API. It is safe for concurrent use.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client of the server at baseURL ("http://host:port").
// A nil hc uses a client without a timeout; requests are bounded by their
// context.
func NewClient(baseURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mgmt: server URL %q is not an http(s) URL such as http://127.0.0.1:8088", baseURL)
	}
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}, nil
}

// BaseURL returns the server URL the client calls.
func (c *Client) BaseURL() string { return c.base }

// queuePath returns the escaped path of a queue (a '/' in the name
// becomes %2F) followed by suffix.
func queuePath(name string, suffix ...string) string {
	p := "/api/v1/queues/" + url.PathEscape(name)
	for _, s := range suffix {
		p += "/" + s
	}
	return p
}

// do sends one request. in, when not nil, is sent as JSON; out, when not
// nil, receives the JSON answer.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	return c.request(ctx, method, path, query, in, out, nil)
}

// doHeader is do with request headers set by header.
func (c *Client) doHeader(ctx context.Context, method, path string, in, out any, header func(http.Header)) error {
	return c.request(ctx, method, path, nil, in, out, header)
}

func (c *Client) request(ctx context.Context, method, path string, query url.Values, in, out any, header func(http.Header)) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("mgmt: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("mgmt: %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if header != nil {
		header(req.Header)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("mgmt: %s %s: %w", method, path, ctx.Err())
		}
		return &UnreachableError{URL: c.base, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return readError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("mgmt: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func readError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb ErrorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
		return &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &APIError{Status: resp.StatusCode, Code: "HTTP" + strconv.Itoa(resp.StatusCode), Message: truncate(msg, 200)}
}

// Health calls /healthz.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil, nil)
}

// Ready calls /readyz; a server that is not ready answers an *APIError
// with Status 503.
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/readyz", nil, nil, nil)
}

// ListQueues lists every queue with its counts.
func (c *Client) ListQueues(ctx context.Context) ([]*Queue, error) {
	var out QueueList
	if err := c.do(ctx, http.MethodGet, "/api/v1/queues", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Queues, nil
}

// CreateQueue creates a queue; unset properties take the defaults.
func (c *Client) CreateQueue(ctx context.Context, name string, props QueueProperties) (*Queue, error) {
	var out Queue
	if err := c.do(ctx, http.MethodPut, queuePath(name), nil, props, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetQueue returns a queue's properties and counts.
func (c *Client) GetQueue(ctx context.Context, name string) (*Queue, error) {
	var out Queue
	if err := c.do(ctx, http.MethodGet, queuePath(name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateQueue changes the properties set in props and keeps the others.
func (c *Client) UpdateQueue(ctx context.Context, name string, props QueueProperties) (*Queue, error) {
	var out Queue
	if err := c.do(ctx, http.MethodPatch, queuePath(name), nil, props, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteQueue deletes a queue and its messages.
func (c *Client) DeleteQueue(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, queuePath(name), nil, nil, nil)
}

// Send sends a batch atomically and returns the sequence numbers (0 for a
// message dropped by duplicate detection).
func (c *Client) Send(ctx context.Context, queue string, msgs ...SendMessage) ([]int64, error) {
	var out SendResult
	if err := c.do(ctx, http.MethodPost, queuePath(queue, "messages"), nil, SendRequest{Messages: msgs}, &out); err != nil {
		return nil, err
	}
	return out.SequenceNumbers, nil
}

// PeekOptions select the messages a peek returns.
type PeekOptions struct {
	From      int64 // first sequence number
	Max       int   // default 1
	DLQ       bool  // peek the dead-letter sub-queue
	SessionID string
}

// Peek returns messages without locking them.
func (c *Client) Peek(ctx context.Context, queue string, opts PeekOptions) ([]*Message, error) {
	q := url.Values{}
	if opts.From != 0 {
		q.Set("from", strconv.FormatInt(opts.From, 10))
	}
	if opts.Max != 0 {
		q.Set("max", strconv.Itoa(opts.Max))
	}
	if opts.DLQ {
		q.Set("dlq", "true")
	}
	if opts.SessionID != "" {
		q.Set("sessionId", opts.SessionID)
	}
	var out MessageList
	if err := c.do(ctx, http.MethodGet, queuePath(queue, "messages"), q, nil, &out); err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// Receive receives messages; no messages and no error means none came
// within the wait.
func (c *Client) Receive(ctx context.Context, queue string, req ReceiveRequest) ([]*Message, error) {
	var out MessageList
	if err := c.do(ctx, http.MethodPost, queuePath(queue, "receive"), nil, req, &out); err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// Settle settles a locked message.
func (c *Client) Settle(ctx context.Context, queue string, req SettleRequest) error {
	return c.do(ctx, http.MethodPost, queuePath(queue, "settle"), nil, req, nil)
}

// Complete completes a locked message.
func (c *Client) Complete(ctx context.Context, queue, lockToken string, dlq bool) error {
	return c.Settle(ctx, queue, SettleRequest{LockToken: lockToken, Disposition: DispositionComplete, DLQ: dlq})
}

// RenewLocks extends message locks and returns their new expiries.
func (c *Client) RenewLocks(ctx context.Context, queue string, req RenewRequest) ([]time.Time, error) {
	var out RenewResult
	if err := c.do(ctx, http.MethodPost, queuePath(queue, "renew"), nil, req, &out); err != nil {
		return nil, err
	}
	return out.LockedUntil, nil
}

// ReceiveDeferred receives deferred messages by sequence number.
func (c *Client) ReceiveDeferred(ctx context.Context, queue string, req DeferredRequest) ([]*Message, error) {
	var out MessageList
	if err := c.do(ctx, http.MethodPost, queuePath(queue, "deferred"), nil, req, &out); err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// CancelScheduled removes scheduled messages.
func (c *Client) CancelScheduled(ctx context.Context, queue string, seqs ...int64) error {
	return c.do(ctx, http.MethodPost, queuePath(queue, "cancel-scheduled"), nil, CancelScheduledRequest{SequenceNumbers: seqs}, nil)
}

// ResubmitDeadLetters moves up to max dead-lettered messages back to the
// queue (max 0: all of them).
func (c *Client) ResubmitDeadLetters(ctx context.Context, queue string, max int) (*ResubmitResult, error) {
	var out ResubmitResult
	if err := c.do(ctx, http.MethodPost, queuePath(queue, "dlq", "resubmit"), nil, ResubmitRequest{Max: max}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListSessionsOptions page through sessions.
type ListSessionsOptions struct {
	Skip, Top    int
	UpdatedSince time.Time
}

// ListSessions lists the sessions of a session queue.
func (c *Client) ListSessions(ctx context.Context, queue string, opts ListSessionsOptions) ([]string, error) {
	q := url.Values{}
	if opts.Skip != 0 {
		q.Set("skip", strconv.Itoa(opts.Skip))
	}
	if opts.Top != 0 {
		q.Set("top", strconv.Itoa(opts.Top))
	}
	if !opts.UpdatedSince.IsZero() {
		q.Set("updatedSince", opts.UpdatedSince.Format(time.RFC3339Nano))
	}
	var out SessionList
	if err := c.do(ctx, http.MethodGet, queuePath(queue, "sessions"), q, nil, &out); err != nil {
		return nil, err
	}
	return out.Sessions, nil
}

// AcceptSession locks a session (sessionID "" : the next available one,
// waiting up to wait).
func (c *Client) AcceptSession(ctx context.Context, queue, sessionID string, wait time.Duration) (*SessionLock, error) {
	req := AcceptSessionRequest{SessionID: sessionID}
	if wait > 0 {
		d := Duration(wait)
		req.Wait = &d
	}
	var out SessionLock
	if err := c.do(ctx, http.MethodPost, queuePath(queue, "sessions", "accept"), nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RenewSession extends a session lock.
func (c *Client) RenewSession(ctx context.Context, queue string, l *SessionLock) (*SessionLock, error) {
	var out SessionLock
	if err := c.do(ctx, http.MethodPost, queuePath(queue, "sessions", url.PathEscape(l.SessionID), "renew"), nil,
		SessionLockRequest{LockToken: l.LockToken}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReleaseSession gives up a session lock.
func (c *Client) ReleaseSession(ctx context.Context, queue string, l *SessionLock) error {
	return c.do(ctx, http.MethodPost, queuePath(queue, "sessions", url.PathEscape(l.SessionID), "release"), nil,
		SessionLockRequest{LockToken: l.LockToken}, nil)
}

// GetSessionState returns a held session's state (nil when none is set).
func (c *Client) GetSessionState(ctx context.Context, queue string, l *SessionLock) ([]byte, error) {
	var out SessionState
	q := url.Values{"lockToken": {l.LockToken}}
	if err := c.do(ctx, http.MethodGet, queuePath(queue, "sessions", url.PathEscape(l.SessionID), "state"), q, nil, &out); err != nil {
		return nil, err
	}
	switch {
	case out.State != nil:
		return []byte(*out.State), nil
	case out.StateBase64 != "":
		b, err := decodeBase64("stateBase64", out.StateBase64)
		if err != nil {
			return nil, fmt.Errorf("mgmt: session state: %w", err)
		}
		return b, nil
	}
	return nil, nil
}

// SetSessionState sets (nil: clears) a held session's state.
func (c *Client) SetSessionState(ctx context.Context, queue string, l *SessionLock, state []byte) error {
	req := SessionState{LockToken: l.LockToken}
	if state != nil {
		req.State, req.StateBase64 = textOrBase64(state)
	}
	return c.do(ctx, http.MethodPut, queuePath(queue, "sessions", url.PathEscape(l.SessionID), "state"), nil, req, nil)
}

// IsCode reports whether err is an *APIError with the given code.
func IsCode(err error, code string) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code
}
