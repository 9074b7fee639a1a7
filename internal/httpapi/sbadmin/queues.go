package sbadmin

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/batonmq/baton/internal/broker"
)

// defaultPageSize is the page size of a list without $top, as in Service
// Bus.
const defaultPageSize = 100

// entity serves GET, PUT and DELETE on /{name}.
func (h *Handler) entity(w http.ResponseWriter, r *http.Request, name string) {
	if err := broker.ValidateEntityName(name, h.b.Limits().MaxNameLength); err != nil {
		h.brokerFail(w, r, err)
		return
	}
	switch r.Method {
	case http.MethodGet:
		h.getEntity(w, r, name)
	case http.MethodPut:
		h.putEntity(w, r, name)
	case http.MethodDelete:
		h.deleteEntity(w, r, name)
	default:
		h.methodNotAllowed(w, r, "GET, PUT, DELETE")
	}
}

func (h *Handler) getEntity(w http.ResponseWriter, r *http.Request, name string) {
	info, err := h.b.GetEntity(name)
	if err != nil {
		h.brokerFail(w, r, err)
		return
	}
	if info.Kind != broker.KindQueue {
		if info.Kind == broker.KindStorageQueue {
			// A Storage queue is not a Service Bus entity.
			h.brokerFail(w, r, &broker.Error{Code: broker.CodeNotFound, Message: "entity " + name + " not found"})
			return
		}
		h.notImplemented(w, r, info.Kind.String()+"s")
		return
	}
	h.writeQueue(w, r, http.StatusOK, info)
}

// putEntity creates (no If-Match) or updates (If-Match present, "*" from
// the SDKs) the entity the body describes.
func (h *Handler) putEntity(w http.ResponseWriter, r *http.Request, name string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.fail(w, r, http.StatusRequestEntityTooLarge, "RequestTooLarge",
				fmt.Sprintf("the request body is larger than %d bytes", h.maxBytes))
			return
		}
		h.fail(w, r, http.StatusBadRequest, "BadRequest", "reading the request body: "+err.Error())
		return
	}
	kind, desc, err := decodeEntry(body)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "BadRequest", strings.TrimPrefix(err.Error(), errBadRequest.Error()+": "))
		return
	}
	switch kind {
	case bodyTopic:
		h.notImplemented(w, r, "topics")
		return
	case bodySubscription, bodyRule:
		h.notImplemented(w, r, "subscriptions and rules")
		return
	}
	props, err := desc.toProperties()
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "BadRequest", strings.TrimPrefix(err.Error(), errBadRequest.Error()+": "))
		return
	}
	if r.Header.Get("If-Match") == "" {
		info, err := h.b.CreateQueue(r.Context(), name, props)
		if err != nil {
			h.brokerFail(w, r, err)
			return
		}
		h.writeQueue(w, r, http.StatusCreated, info)
		return
	}
	if cur, err := h.b.GetEntity(name); err != nil {
		h.brokerFail(w, r, err)
		return
	} else if cur.Kind != broker.KindQueue {
		if cur.Kind == broker.KindStorageQueue {
			// A Storage queue is not a Service Bus entity.
			h.brokerFail(w, r, &broker.Error{Code: broker.CodeNotFound, Message: "entity " + name + " not found"})
			return
		}
		h.notImplemented(w, r, cur.Kind.String()+"s")
		return
	}
	info, err := h.b.UpdateQueue(r.Context(), name, props)
	if err != nil {
		h.brokerFail(w, r, err)
		return
	}
	h.writeQueue(w, r, http.StatusOK, info)
}

func (h *Handler) deleteEntity(w http.ResponseWriter, r *http.Request, name string) {
	info, err := h.b.GetEntity(name)
	if err != nil {
		h.brokerFail(w, r, err)
		return
	}
	if info.Kind != broker.KindQueue {
		if info.Kind == broker.KindStorageQueue {
			// A Storage queue is not a Service Bus entity.
			h.brokerFail(w, r, &broker.Error{Code: broker.CodeNotFound, Message: "entity " + name + " not found"})
			return
		}
		h.notImplemented(w, r, info.Kind.String()+"s")
		return
	}
	if err := h.b.DeleteEntity(r.Context(), name); err != nil {
		h.brokerFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// entryURL is the absolute URL of an entity, Service Bus's entry id.
func entryURL(r *http.Request, name string) string {
	return baseURL(r) + name + "?api-version=" + url.QueryEscape(requestAPIVersion(r))
}

func (h *Handler) queueMeta(r *http.Request, info *broker.EntityInfo) entryMeta {
	return entryMeta{
		id:        entryURL(r, info.Name),
		title:     info.Name,
		author:    h.ns,
		published: info.CreatedAt,
		updated:   info.UpdatedAt,
	}
}

func (h *Handler) writeQueue(w http.ResponseWriter, r *http.Request, status int, info *broker.EntityInfo) {
	var x xmlWriter
	x.header()
	x.openEntry(h.queueMeta(r, info))
	x.queueDescription(info)
	x.closeEntry()
	write(w, status, contentEntry, x.Bytes())
}

// listQueues serves GET /$Resources/Queues?$skip=N&$top=M, a feed of queue
// entries sorted by name. Without $top a page holds defaultPageSize
// entries; a rel="next" link points at the next page while more remain.
func (h *Handler) listQueues(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	skip, err := pageParam(q, "$skip", 0)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	top, err := pageParam(q, "$top", defaultPageSize)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	all := h.b.ListEntities(broker.KindQueue)
	page := all[min(skip, len(all)):]
	if len(page) > top {
		page = page[:top]
	}
	ver := url.QueryEscape(requestAPIVersion(r))
	self := baseURL(r) + "$Resources/Queues?api-version=" + ver
	var x xmlWriter
	x.header()
	x.WriteString(`<feed xmlns="` + nsAtom + `">`)
	x.WriteString(`<title type="text">Queues</title>`)
	x.elem("id", self)
	x.elem("updated", formatTime(h.clock.Now()))
	x.WriteString(`<link rel="self" href="`)
	x.text(self)
	x.WriteString(`"/>`)
	if next := skip + len(page); next < len(all) && len(page) > 0 {
		x.WriteString(`<link rel="next" href="`)
		x.text(fmt.Sprintf("%s$Resources/Queues?%%24skip=%d&%%24top=%d&api-version=%s", baseURL(r), next, top, ver))
		x.WriteString(`"/>`)
	}
	for _, info := range page {
		x.openEntry(h.queueMeta(r, info))
		x.queueDescription(info)
		x.closeEntry()
	}
	x.WriteString("</feed>")
	write(w, http.StatusOK, contentFeed, x.Bytes())
}

// pageParam reads a non-negative integer query parameter.
func pageParam(q url.Values, name string, def int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q is not a non-negative integer", name, s)
	}
	return n, nil
}
