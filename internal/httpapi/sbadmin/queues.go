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

// entity serves GET, PUT and DELETE on /{name}: a queue or a topic.
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

// notFound answers 404 for name: what a Storage queue or a subscription
// reached by a plain path is to this API.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, what, name string) {
	h.brokerFail(w, r, &broker.Error{Code: broker.CodeNotFound, Message: what + " " + name + " not found"})
}

// getServiceBusEntity returns the queue or topic name, or answers 404 for
// anything else.
func (h *Handler) getServiceBusEntity(w http.ResponseWriter, r *http.Request, name string) (*broker.EntityInfo, bool) {
	info, err := h.b.GetEntity(name)
	if err != nil {
		h.brokerFail(w, r, err)
		return nil, false
	}
	if info.Kind != broker.KindQueue && info.Kind != broker.KindTopic {
		h.notFound(w, r, "entity", name)
		return nil, false
	}
	return info, true
}

func (h *Handler) getEntity(w http.ResponseWriter, r *http.Request, name string) {
	info, ok := h.getServiceBusEntity(w, r, name)
	if !ok {
		return
	}
	if info.Kind == broker.KindTopic {
		h.writeTopic(w, r, http.StatusOK, info)
		return
	}
	h.writeQueue(w, r, http.StatusOK, info)
}

// readEntry reads and decodes a PUT body; on failure it has answered.
func (h *Handler) readEntry(w http.ResponseWriter, r *http.Request) (*entryBody, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.fail(w, r, http.StatusRequestEntityTooLarge, "RequestTooLarge",
				fmt.Sprintf("the request body is larger than %d bytes", h.maxBytes))
			return nil, false
		}
		h.fail(w, r, http.StatusBadRequest, "BadRequest", "reading the request body: "+err.Error())
		return nil, false
	}
	e, err := decodeEntry(body)
	if err != nil {
		h.badRequest(w, r, err)
		return nil, false
	}
	return e, true
}

// badRequest answers 400 with a decoding error's message.
func (h *Handler) badRequest(w http.ResponseWriter, r *http.Request, err error) {
	h.fail(w, r, http.StatusBadRequest, "BadRequest", strings.TrimPrefix(err.Error(), errBadRequest.Error()+": "))
}

// isUpdate reports whether a PUT is an update (If-Match present, "*" from
// the SDKs) rather than a create.
func isUpdate(r *http.Request) bool { return r.Header.Get("If-Match") != "" }

// putEntity creates or updates the queue or topic the body describes.
func (h *Handler) putEntity(w http.ResponseWriter, r *http.Request, name string) {
	e, ok := h.readEntry(w, r)
	if !ok {
		return
	}
	if e.kind != bodyQueue && e.kind != bodyTopic {
		h.fail(w, r, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("a %s does not belong at /%s; send a QueueDescription or a TopicDescription (subscriptions are at /{topic}/Subscriptions/{name}, rules at /{topic}/Subscriptions/{name}/Rules/{rule})", e.kind, name))
		return
	}
	props, err := e.desc.toProperties(e.kind)
	if err != nil {
		h.badRequest(w, r, err)
		return
	}
	ctx := r.Context()
	if !isUpdate(r) {
		var info *broker.EntityInfo
		if e.kind == bodyTopic {
			info, err = h.b.CreateTopic(ctx, name, props)
		} else {
			info, err = h.b.CreateQueue(ctx, name, props)
		}
		if err != nil {
			h.brokerFail(w, r, err)
			return
		}
		h.writeEntity(w, r, http.StatusCreated, info)
		return
	}
	if _, ok := h.getServiceBusEntity(w, r, name); !ok {
		return
	}
	var info *broker.EntityInfo
	if e.kind == bodyTopic {
		info, err = h.b.UpdateTopic(ctx, name, props)
	} else {
		info, err = h.b.UpdateQueue(ctx, name, props)
	}
	if err != nil {
		h.brokerFail(w, r, err)
		return
	}
	h.writeEntity(w, r, http.StatusOK, info)
}

// writeEntity writes a queue's or a topic's entry.
func (h *Handler) writeEntity(w http.ResponseWriter, r *http.Request, status int, info *broker.EntityInfo) {
	if info.Kind == broker.KindTopic {
		h.writeTopic(w, r, status, info)
		return
	}
	h.writeQueue(w, r, status, info)
}

func (h *Handler) deleteEntity(w http.ResponseWriter, r *http.Request, name string) {
	if _, ok := h.getServiceBusEntity(w, r, name); !ok {
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
// entries sorted by name.
func (h *Handler) listQueues(w http.ResponseWriter, r *http.Request) {
	all, err := h.b.Entities(r.Context(), broker.KindQueue)
	if err != nil {
		h.brokerFail(w, r, err)
		return
	}
	h.writeFeed(w, r, "Queues", "$Resources/Queues", len(all), func(x *xmlWriter, i int) {
		x.openEntry(h.queueMeta(r, all[i]))
		x.queueDescription(all[i])
		x.closeEntry()
	})
}

// writeFeed writes a feed of n items paged by the request's $skip and $top
// (by default defaultPageSize a page), calling entry for each item of the
// page. A rel="next" link points at the next page while more remain. path
// is the collection's path, for the feed's id and links.
func (h *Handler) writeFeed(w http.ResponseWriter, r *http.Request, title, path string, n int, entry func(x *xmlWriter, i int)) {
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
	first := min(skip, n)
	last := first + min(top, n-first)
	ver := url.QueryEscape(requestAPIVersion(r))
	self := baseURL(r) + path + "?api-version=" + ver
	var x xmlWriter
	x.header()
	x.WriteString(`<feed xmlns="` + nsAtom + `">`)
	x.WriteString(`<title type="text">`)
	x.text(title)
	x.WriteString(`</title>`)
	x.elem("id", self)
	x.elem("updated", formatTime(h.clock.Now()))
	x.WriteString(`<link rel="self" href="`)
	x.text(self)
	x.WriteString(`"/>`)
	if last < n && last > first {
		x.WriteString(`<link rel="next" href="`)
		x.text(fmt.Sprintf("%s%s?%%24skip=%d&%%24top=%d&api-version=%s", baseURL(r), path, last, top, ver))
		x.WriteString(`"/>`)
	}
	for i := first; i < last; i++ {
		entry(&x, i)
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
