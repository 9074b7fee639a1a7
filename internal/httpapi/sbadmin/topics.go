package sbadmin

import (
	"net/http"

	"github.com/batonmq/baton/internal/broker"
)

// topicStatsOf reads what topic info's description reports about its
// subscriptions. A topic deleted meanwhile reports none.
func (h *Handler) topicStatsOf(info *broker.EntityInfo) topicStats {
	subs, err := h.b.ListSubscriptions(info.Name)
	if err != nil {
		return topicStats{}
	}
	return statsOf(subs)
}

func (h *Handler) writeTopic(w http.ResponseWriter, r *http.Request, status int, info *broker.EntityInfo) {
	var x xmlWriter
	x.header()
	x.openEntry(h.queueMeta(r, info))
	x.topicDescription(info, h.topicStatsOf(info))
	x.closeEntry()
	write(w, status, contentEntry, x.Bytes())
}

// listTopics serves GET /$Resources/Topics?$skip=N&$top=M, a feed of topic
// entries sorted by name.
func (h *Handler) listTopics(w http.ResponseWriter, r *http.Request) {
	all, err := h.b.Entities(r.Context(), broker.KindTopic)
	if err != nil {
		h.brokerFail(w, r, err)
		return
	}
	h.writeFeed(w, r, "Topics", "$Resources/Topics", len(all), func(x *xmlWriter, i int) {
		x.openEntry(h.queueMeta(r, all[i]))
		x.topicDescription(all[i], h.topicStatsOf(all[i]))
		x.closeEntry()
	})
}
