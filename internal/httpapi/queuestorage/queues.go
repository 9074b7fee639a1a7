package queuestorage

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/batonmq/baton/internal/broker"
)

// maxListResults is the default and largest page of List Queues.
const maxListResults = 5000

// maxMetadataBytes bounds a queue's metadata (names plus values).
const maxMetadataBytes = 8 << 10

// listQueues serves GET /{a}?comp=list (§2.1). The marker is name-based:
// "/{account}/{first queue not returned}".
func (h *Handler) listQueues(q *request) error {
	prefix, hasPrefix := q.get("prefix")
	marker, hasMarker := q.get("marker")
	maxStr, hasMax := q.get("maxresults")
	limit := maxListResults
	if hasMax {
		n, err := strconv.ParseInt(maxStr, 10, 64)
		if err != nil {
			return queryError("InvalidQueryParameterValue", "maxresults", maxStr, "maxresults must be an integer")
		}
		if n < 1 {
			return rangeError("maxresults", maxStr, 1, 1<<31-1)
		}
		if n < maxListResults { // larger values are capped, as Azure does
			limit = int(n)
		}
	}
	withMeta := false
	if inc, ok := q.get("include"); ok {
		for _, part := range strings.Split(inc, ",") {
			switch strings.ToLower(strings.TrimSpace(part)) {
			case "metadata":
				withMeta = true
			case "":
			default:
				return queryError("InvalidQueryParameterValue", "include", inc, "include may only name metadata")
			}
		}
	}
	start := strings.TrimPrefix(marker, "/"+q.account+"/")
	all, err := h.engine.Queues(q.r.Context(), q.account+"/"+prefix)
	if err != nil {
		return fmt.Errorf("listing queues: %w", err)
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="`)
	escape(&b, serviceEndpoint(q))
	b.WriteString(`">`)
	if hasPrefix {
		b.WriteString("<Prefix>")
		escape(&b, prefix)
		b.WriteString("</Prefix>")
	}
	if hasMarker {
		b.WriteString("<Marker>")
		escape(&b, marker)
		b.WriteString("</Marker>")
	}
	if hasMax {
		b.WriteString("<MaxResults>")
		escape(&b, maxStr)
		b.WriteString("</MaxResults>")
	}
	b.WriteString("<Queues>")
	n, next := 0, ""
	for _, qu := range all {
		name := strings.TrimPrefix(qu.Name, q.account+"/")
		if name < start {
			continue
		}
		if n == limit {
			next = "/" + q.account + "/" + name
			break
		}
		n++
		b.WriteString("<Queue><Name>")
		escape(&b, name)
		b.WriteString("</Name>")
		if withMeta {
			b.WriteString("<Metadata>")
			for _, k := range sortedUserKeys(qu.Metadata) {
				b.WriteString("<" + k + ">")
				escape(&b, qu.Metadata[k])
				b.WriteString("</" + k + ">")
			}
			b.WriteString("</Metadata>")
		}
		b.WriteString("</Queue>")
	}
	b.WriteString("</Queues><NextMarker>")
	escape(&b, next)
	b.WriteString("</NextMarker></EnumerationResults>")
	return writeXML(q, http.StatusOK, []byte(b.String()))
}

func serviceEndpoint(q *request) string {
	scheme := "http"
	if q.r.TLS != nil {
		scheme = "https"
	}
	if q.hostStyle {
		return scheme + "://" + q.r.Host + "/"
	}
	return scheme + "://" + q.r.Host + "/" + q.account + "/"
}

// sortedUserKeys returns the metadata names without the reserved ones.
func sortedUserKeys(md map[string]string) []string {
	var keys []string
	for k := range md {
		if !strings.HasPrefix(k, "$") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// requestMetadata reads and validates the x-ms-meta-* headers (§3.4):
// names are lower-cased C# identifiers, 8 KiB in all.
func requestMetadata(r *http.Request) (map[string]string, error) {
	md := map[string]string{}
	size := 0
	for name, vals := range r.Header {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "x-ms-meta-") {
			continue
		}
		key := lower[len("x-ms-meta-"):]
		if key == "" {
			return nil, newError("EmptyMetadataKey")
		}
		if !isIdentifier(key) {
			return nil, newError("InvalidMetadata", "MetadataName", key)
		}
		if len(vals) > 1 {
			return nil, newError("InvalidMetadata", "MetadataName", key).withMessage("The metadata specified is invalid. The name " + key + " is given more than once.")
		}
		md[key] = vals[0]
		size += len(key) + len(vals[0])
	}
	if size > maxMetadataBytes {
		return nil, newError("MetadataTooLarge")
	}
	return md, nil
}

// isIdentifier reports whether s is a C# identifier (ASCII subset).
func isIdentifier(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isLetter(c) || c == '_' || i > 0 && isDigit(c)) {
			return false
		}
	}
	return s != ""
}

// sameMetadata compares user metadata, ignoring reserved keys (§2.4).
func sameMetadata(stored, req map[string]string) bool {
	keys := sortedUserKeys(stored)
	if len(keys) != len(req) {
		return false
	}
	for _, k := range keys {
		v, ok := req[strings.ToLower(k)]
		if !ok || v != stored[k] {
			return false
		}
	}
	return true
}

// createQueue serves PUT /{a}/{q} (§2.4): 201 new, 204 identical, 409
// different metadata.
func (h *Handler) createQueue(q *request) error {
	md, err := requestMetadata(q.r)
	if err != nil {
		return err
	}
	ctx := q.r.Context()
	err = h.engine.CreateQueue(ctx, q.entity(), md)
	if err == nil {
		return writeEmpty(q, http.StatusCreated)
	}
	if broker.CodeOf(err) != broker.CodeEntityExists {
		return fmt.Errorf("creating queue %s: %w", q.queue, err)
	}
	existing, gerr := h.engine.Queue(ctx, q.entity())
	if gerr != nil {
		return fmt.Errorf("reading queue %s: %w", q.queue, gerr)
	}
	if sameMetadata(existing.Metadata, md) {
		return writeEmpty(q, http.StatusNoContent)
	}
	return newError("QueueAlreadyExists").withMessage("The specified queue already exists with different metadata.")
}

func (h *Handler) deleteQueue(q *request) error {
	if err := h.engine.DeleteQueue(q.r.Context(), q.entity()); err != nil {
		return fmt.Errorf("deleting queue %s: %w", q.queue, err)
	}
	return writeEmpty(q, http.StatusNoContent)
}

// getMetadata serves GET|HEAD ?comp=metadata (§2.6).
func (h *Handler) getMetadata(q *request) error {
	qu, err := h.engine.Queue(q.r.Context(), q.entity())
	if err != nil {
		return fmt.Errorf("reading queue %s: %w", q.queue, err)
	}
	hd := q.w.Header()
	for _, k := range sortedUserKeys(qu.Metadata) {
		hd["x-ms-meta-"+k] = []string{qu.Metadata[k]}
	}
	count := qu.ApproximateCount
	if count > 1<<31-1 {
		count = 1<<31 - 1
	}
	hd.Set("x-ms-approximate-messages-count", strconv.FormatInt(count, 10))
	return writeEmpty(q, http.StatusOK)
}

// setMetadata serves PUT ?comp=metadata (§2.7); the stored ACL is kept.
func (h *Handler) setMetadata(q *request) error {
	md, err := requestMetadata(q.r)
	if err != nil {
		return err
	}
	err = h.engine.UpdateMetadata(q.r.Context(), q.entity(), func(old map[string]string) map[string]string {
		if v := old[aclKey]; v != "" {
			md[aclKey] = v
		}
		return md
	})
	if err != nil {
		return fmt.Errorf("setting metadata of %s: %w", q.queue, err)
	}
	return writeEmpty(q, http.StatusNoContent)
}

// getACL serves GET|HEAD ?comp=acl (§2.8).
func (h *Handler) getACL(q *request) error {
	qu, err := h.engine.Queue(q.r.Context(), q.entity())
	if err != nil {
		return fmt.Errorf("reading queue %s: %w", q.queue, err)
	}
	doc := signedIdentifiers{Items: decodeACL(qu.Metadata)}
	return writeXML(q, http.StatusOK, marshalDoc(doc))
}

// setACL serves PUT ?comp=acl (§2.8): the identifiers replace the stored
// set, kept in the reserved metadata key.
func (h *Handler) setACL(q *request) error {
	body, err := h.readBody(q)
	if err != nil {
		return err
	}
	items, err := decodeACLBody(body)
	if err != nil {
		return xmlError(err)
	}
	acl := encodeACL(items)
	err = h.engine.UpdateMetadata(q.r.Context(), q.entity(), func(old map[string]string) map[string]string {
		md := map[string]string{}
		for _, k := range sortedUserKeys(old) {
			md[k] = old[k]
		}
		if acl != "" {
			md[aclKey] = acl
		}
		return md
	})
	if err != nil {
		return fmt.Errorf("setting the ACL of %s: %w", q.queue, err)
	}
	return writeEmpty(q, http.StatusNoContent)
}

// xmlError turns a decoding error into 400 InvalidXmlDocument with the
// reason.
func xmlError(err error) error {
	if errors.Is(err, errXML) {
		return newError("InvalidXmlDocument", "Reason", strings.TrimPrefix(err.Error(), errXML.Error()+": "))
	}
	return err
}
