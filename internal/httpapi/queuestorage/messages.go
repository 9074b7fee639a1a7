package queuestorage

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Message limits (§3.4).
const (
	maxVisibility  = 604800 // seconds (7 days)
	defaultTTL     = 604800
	maxBatch       = 32
	defaultGetVis  = 30
	neverExpiresAt = "Fri, 31 Dec 9999 23:59:59 GMT"
)

// intParam reads an integer query parameter: absent → def; not an integer
// → InvalidQueryParameterValue; outside [lo, hi] → OutOfRange….
func intParam(q *request, name string, def, lo, hi int64) (int64, bool, error) {
	s, ok := q.get(name)
	if !ok {
		return def, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, true, queryError("InvalidQueryParameterValue", name, s, name+" must be an integer")
	}
	if n < lo || n > hi {
		return 0, true, rangeError(name, s, lo, hi)
	}
	return n, true, nil
}

// readMessageText reads and validates a Put/Update body into buf (a pooled
// buffer the caller returns with putOut once the engine has copied the
// text, which may share buf's memory); empty reports an absent or empty
// body.
func (h *Handler) readMessageText(q *request, buf *outBuf) (text []byte, empty bool, err error) {
	if err := h.readBodyInto(q, buf); err != nil {
		return nil, false, err
	}
	body := buf.b
	if len(body) == 0 {
		return nil, true, nil
	}
	text, err = decodeMessage(body)
	if err != nil {
		return nil, false, xmlError(err)
	}
	if len(text) > MaxMessageBytes {
		return nil, false, newError("RequestBodyTooLarge", "MaxLimit", strconv.Itoa(MaxMessageBytes)).withMessage(
			fmt.Sprintf("The request body is too large and exceeds the maximum permissible limit. The message text is %d bytes after XML decoding; the limit is %d.", len(text), MaxMessageBytes))
	}
	return text, false, nil
}

// putMessage serves POST /{a}/{q}/messages (§2.9).
func (h *Handler) putMessage(q *request) error {
	vis, _, err := intParam(q, "visibilitytimeout", 0, 0, maxVisibility)
	if err != nil {
		return err
	}
	ttlStr, hasTTL := q.get("messagettl")
	ttl := int64(defaultTTL)
	if hasTTL {
		ttl, err = strconv.ParseInt(ttlStr, 10, 64)
		if err != nil {
			return queryError("InvalidQueryParameterValue", "messagettl", ttlStr, "messagettl must be an integer")
		}
		if ttl == 0 || ttl < -1 {
			return queryError("InvalidQueryParameterValue", "messagettl", ttlStr, "messagettl must be at least 1 second, or -1 for no expiry")
		}
	}
	if ttl != -1 && vis >= ttl {
		return queryError("InvalidQueryParameterValue", "visibilitytimeout", strconv.FormatInt(vis, 10),
			"visibilitytimeout must be less than messagettl")
	}
	in := getOut()
	defer putOut(in)
	text, empty, err := h.readMessageText(q, in)
	if err != nil {
		return err
	}
	if empty {
		return newError("InvalidXmlDocument", "Reason", "the body is empty; send <QueueMessage><MessageText>…</MessageText></QueueMessage>")
	}
	ttlDur := time.Duration(-1)
	if ttl != -1 {
		ttlDur = seconds(ttl)
	}
	m, err := h.engine.Put(q.r.Context(), q.entity(), text, seconds(vis), ttlDur)
	if err != nil {
		return fmt.Errorf("putting a message on %s: %w", q.queue, err)
	}
	return writeMessages(q, http.StatusCreated, []*Message{m}, true, false)
}

// seconds converts whole seconds to a Duration, saturating.
func seconds(n int64) time.Duration {
	if n > int64(1<<63-1)/int64(time.Second) {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(n) * time.Second
}

// neverExpires reports whether an expiration time is "never": zero or
// year ≥ 9999.
func neverExpires(t time.Time) bool { return t.IsZero() || t.UTC().Year() >= 9999 }

// getMessages serves GET /{a}/{q}/messages (§2.10).
func (h *Handler) getMessages(q *request) error {
	n, _, err := intParam(q, "numofmessages", 1, 1, maxBatch)
	if err != nil {
		return err
	}
	vis, _, err := intParam(q, "visibilitytimeout", defaultGetVis, 1, maxVisibility)
	if err != nil {
		return err
	}
	msgs, err := h.engine.Get(q.r.Context(), q.entity(), int(n), seconds(vis))
	if err != nil {
		return fmt.Errorf("getting messages from %s: %w", q.queue, err)
	}
	return writeMessages(q, http.StatusOK, msgs, true, true)
}

// peekMessages serves GET …/messages?peekonly=true (§2.11).
func (h *Handler) peekMessages(q *request) error {
	n, _, err := intParam(q, "numofmessages", 1, 1, maxBatch)
	if err != nil {
		return err
	}
	msgs, err := h.engine.Peek(q.r.Context(), q.entity(), int(n))
	if err != nil {
		return fmt.Errorf("peeking messages of %s: %w", q.queue, err)
	}
	return writeMessages(q, http.StatusOK, msgs, false, true)
}

// writeMessages answers a QueueMessagesList (see appendMessage for receipt
// and text).
func writeMessages(q *request, status int, msgs []*Message, receipt, text bool) error {
	out := getOut()
	defer putOut(out)
	b := append(out.b[:0], xmlDecl+"<QueueMessagesList>"...)
	for _, m := range msgs {
		b = appendMessage(b, m, receipt, text)
	}
	out.b = append(b, "</QueueMessagesList>"...)
	return writeXML(q, status, out.b)
}

// popReceipt returns the required popreceipt parameter.
func popReceipt(q *request) (string, error) {
	pr, ok := q.get("popreceipt")
	if !ok {
		return "", newError("MissingRequiredQueryParameter", "QueryParameterName", "popreceipt")
	}
	if pr == "" {
		return "", newError("PopReceiptMismatch")
	}
	return pr, nil
}

// deleteMessage serves DELETE …/messages/{id}?popreceipt= (§2.12).
func (h *Handler) deleteMessage(q *request) error {
	pr, err := popReceipt(q)
	if err != nil {
		return err
	}
	if err := h.engine.DeleteMessage(q.r.Context(), q.entity(), q.msgID, pr); err != nil {
		return fmt.Errorf("deleting message %s of %s: %w", q.msgID, q.queue, err)
	}
	return writeEmpty(q, http.StatusNoContent)
}

// updateMessage serves PUT …/messages/{id}?popreceipt=&visibilitytimeout=
// (§2.13). An absent or empty body keeps the text.
func (h *Handler) updateMessage(q *request) error {
	pr, err := popReceipt(q)
	if err != nil {
		return err
	}
	vis, present, err := intParam(q, "visibilitytimeout", 0, 0, maxVisibility)
	if err != nil {
		return err
	}
	if !present {
		return newError("MissingRequiredQueryParameter", "QueryParameterName", "visibilitytimeout")
	}
	in := getOut()
	defer putOut(in)
	text, empty, err := h.readMessageText(q, in)
	if err != nil {
		return err
	}
	if empty {
		text = nil
	} else if text == nil {
		text = []byte{}
	}
	m, err := h.engine.Update(q.r.Context(), q.entity(), q.msgID, pr, seconds(vis), text)
	if err != nil {
		return fmt.Errorf("updating message %s of %s: %w", q.msgID, q.queue, err)
	}
	hd := q.w.Header()
	hd.Set("x-ms-popreceipt", m.Receipt)
	hd.Set("x-ms-time-next-visible", rfc1123(m.VisibleAt))
	return writeEmpty(q, http.StatusNoContent)
}

// clearMessages serves DELETE /{a}/{q}/messages (§2.14).
func (h *Handler) clearMessages(q *request) error {
	if err := h.engine.Clear(q.r.Context(), q.entity()); err != nil {
		return fmt.Errorf("clearing %s: %w", q.queue, err)
	}
	return writeEmpty(q, http.StatusNoContent)
}
