package sbadmin

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/isodur"
)

// errBadRequest is wrapped by every request-decoding error; the handler
// answers 400 with the message.
var errBadRequest = errors.New("sbadmin: bad request")

// entryIn is a PUT body: an Atom entry whose content holds one description.
// Elements are matched by local name, so any namespace (or none) is read.
type entryIn struct {
	XMLName xml.Name
	Content *struct {
		Queue        *descIn `xml:"QueueDescription"`
		Topic        *descIn `xml:"TopicDescription"`
		Subscription *descIn `xml:"SubscriptionDescription"`
		Rule         *ruleIn `xml:"RuleDescription"`
	} `xml:"content"`
}

// descIn is a QueueDescription, TopicDescription or SubscriptionDescription
// as a client sends it. Every field is optional; text is parsed by
// toProperties so that errors name the element. Read-only elements (counts,
// times, ...) and elements Baton does not keep are ignored.
type descIn struct {
	LockDuration                              *string `xml:"LockDuration"`
	MaxSizeInMegabytes                        *string `xml:"MaxSizeInMegabytes"`
	RequiresDuplicateDetection                *string `xml:"RequiresDuplicateDetection"`
	RequiresSession                           *string `xml:"RequiresSession"`
	DefaultMessageTimeToLive                  *string `xml:"DefaultMessageTimeToLive"`
	DeadLetteringOnMessageExpiration          *string `xml:"DeadLetteringOnMessageExpiration"`
	DeadLetteringOnFilterEvaluationExceptions *string `xml:"DeadLetteringOnFilterEvaluationExceptions"`
	DuplicateDetectionHistoryTimeWindow       *string `xml:"DuplicateDetectionHistoryTimeWindow"`
	MaxDeliveryCount                          *string `xml:"MaxDeliveryCount"`
	EnableBatchedOperations                   *string `xml:"EnableBatchedOperations"`
	Status                                    *string `xml:"Status"`
	SupportOrdering                           *string `xml:"SupportOrdering"`
	AutoDeleteOnIdle                          *string `xml:"AutoDeleteOnIdle"`
	EnablePartitioning                        *string `xml:"EnablePartitioning"`
	ForwardTo                                 *string `xml:"ForwardTo"`
	ForwardDeadLetteredMessagesTo             *string `xml:"ForwardDeadLetteredMessagesTo"`
	UserMetadata                              *string `xml:"UserMetadata"`
	MaxMessageSizeInKilobytes                 *string `xml:"MaxMessageSizeInKilobytes"`
	// DefaultRuleDescription is the first rule of a subscription being
	// created (ignored on update, as in Service Bus).
	DefaultRuleDescription *ruleIn `xml:"DefaultRuleDescription"`
}

// bodyKind is the kind of description a PUT body carries.
type bodyKind int

const (
	bodyQueue bodyKind = iota + 1
	bodyTopic
	bodySubscription
	bodyRule
)

func (k bodyKind) String() string {
	switch k {
	case bodyQueue:
		return "QueueDescription"
	case bodyTopic:
		return "TopicDescription"
	case bodySubscription:
		return "SubscriptionDescription"
	case bodyRule:
		return "RuleDescription"
	}
	return "no description"
}

// entryBody is a decoded PUT body: its kind and the description (desc for
// queues, topics and subscriptions; rule for rules).
type entryBody struct {
	kind bodyKind
	desc *descIn
	rule *ruleIn
}

// decodeEntry parses a PUT body.
func decodeEntry(body []byte) (*entryBody, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("%w: the request has no body; send an Atom entry holding a description", errBadRequest)
	}
	var e entryIn
	dec := xml.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: the body is not well-formed XML: %w", errBadRequest, err)
	}
	if e.XMLName.Local != "entry" {
		return nil, fmt.Errorf("%w: the document element is <%s>, not an Atom <entry>", errBadRequest, e.XMLName.Local)
	}
	// Anything after the document element other than white space, comments
	// and processing instructions is an error.
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, fmt.Errorf("%w: text after the </entry> element", errBadRequest)
			}
		case xml.StartElement:
			return nil, fmt.Errorf("%w: a second document element <%s> after </entry>", errBadRequest, t.Name.Local)
		}
	}
	c := e.Content
	switch {
	case c == nil:
		return nil, fmt.Errorf("%w: the entry has no <content>", errBadRequest)
	case c.Queue != nil:
		return &entryBody{kind: bodyQueue, desc: c.Queue}, nil
	case c.Topic != nil:
		return &entryBody{kind: bodyTopic, desc: c.Topic}, nil
	case c.Subscription != nil:
		return &entryBody{kind: bodySubscription, desc: c.Subscription}, nil
	case c.Rule != nil:
		return &entryBody{kind: bodyRule, rule: c.Rule}, nil
	}
	return nil, fmt.Errorf("%w: the entry's <content> holds no QueueDescription, TopicDescription, SubscriptionDescription or RuleDescription", errBadRequest)
}

// toProperties turns a description of kind k into broker properties.
// Absent elements take Service Bus's defaults (the broker fills zero values;
// booleans default to false except EnableBatchedOperations, and a topic's
// SupportOrdering, which default to true). Elements that kind k does not
// have are ignored.
func (q *descIn) toProperties(k bodyKind) (broker.QueueProperties, error) {
	var p broker.QueueProperties
	var errs []error
	dur := func(name string, s *string, dst *time.Duration) {
		if s == nil {
			return
		}
		d, err := isodur.Parse(*s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return
		}
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s %q must be positive", name, strings.TrimSpace(*s)))
			return
		}
		*dst = d
	}
	boolean := func(name string, s *string, dst *bool) {
		if s == nil {
			return
		}
		switch strings.TrimSpace(*s) {
		case "true", "1":
			*dst = true
		case "false", "0":
			*dst = false
		default:
			errs = append(errs, fmt.Errorf("%s %q is not true or false", name, *s))
		}
	}
	integer := func(name string, s *string, bits int) int64 {
		if s == nil {
			return 0
		}
		n, err := strconv.ParseInt(strings.TrimSpace(*s), 10, bits)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not a %d-bit integer", name, *s, bits))
			return 0
		}
		if n <= 0 {
			errs = append(errs, fmt.Errorf("%s %d must be positive", name, n))
			return 0
		}
		return n
	}
	dur("LockDuration", q.LockDuration, &p.LockDuration)
	dur("DefaultMessageTimeToLive", q.DefaultMessageTimeToLive, &p.DefaultMessageTimeToLive)
	dur("DuplicateDetectionHistoryTimeWindow", q.DuplicateDetectionHistoryTimeWindow, &p.DuplicateDetectionHistoryTimeWindow)
	dur("AutoDeleteOnIdle", q.AutoDeleteOnIdle, &p.AutoDeleteOnIdle)
	p.MaxSizeInMegabytes = integer("MaxSizeInMegabytes", q.MaxSizeInMegabytes, 64)
	p.MaxMessageSizeInKilobytes = integer("MaxMessageSizeInKilobytes", q.MaxMessageSizeInKilobytes, 64)
	p.MaxDeliveryCount = int32(integer("MaxDeliveryCount", q.MaxDeliveryCount, 32))
	boolean("RequiresDuplicateDetection", q.RequiresDuplicateDetection, &p.RequiresDuplicateDetection)
	boolean("RequiresSession", q.RequiresSession, &p.RequiresSession)
	boolean("DeadLetteringOnMessageExpiration", q.DeadLetteringOnMessageExpiration, &p.DeadLetteringOnMessageExpiration)
	boolean("EnablePartitioning", q.EnablePartitioning, &p.EnablePartitioning)
	p.EnableBatchedOperations = true
	boolean("EnableBatchedOperations", q.EnableBatchedOperations, &p.EnableBatchedOperations)
	switch k {
	case bodyTopic:
		p.SupportOrdering = true
		boolean("SupportOrdering", q.SupportOrdering, &p.SupportOrdering)
	case bodySubscription:
		boolean("DeadLetteringOnFilterEvaluationExceptions", q.DeadLetteringOnFilterEvaluationExceptions, &p.DeadLetteringOnFilterEvaluationExceptions)
	}
	if q.Status != nil {
		p.Status = broker.Status(strings.TrimSpace(*q.Status))
		switch p.Status {
		case broker.StatusActive, broker.StatusDisabled, broker.StatusSendDisabled, broker.StatusReceiveDisabled:
		default:
			errs = append(errs, fmt.Errorf("Status %q is not one of Active, Disabled, SendDisabled, ReceiveDisabled", *q.Status))
		}
	}
	if q.ForwardTo != nil {
		p.ForwardTo = forwardName(*q.ForwardTo)
	}
	if q.ForwardDeadLetteredMessagesTo != nil {
		p.ForwardDeadLetteredMessagesTo = forwardName(*q.ForwardDeadLetteredMessagesTo)
	}
	if q.UserMetadata != nil {
		p.UserMetadata = *q.UserMetadata
	}
	if len(errs) > 0 {
		return p, fmt.Errorf("%w: %w", errBadRequest, errors.Join(errs...))
	}
	return p, nil
}

// forwardName accepts a ForwardTo target as an entity name or as the
// absolute URL Service Bus also accepts (sb://ns/name, https://ns/name) and
// returns the entity name.
func forwardName(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "://"); i > 0 {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			return strings.Trim(u.Path, "/")
		}
	}
	return s
}
