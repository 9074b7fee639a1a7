package mgmt

import (
	"context"
	"net/http"
	"net/url"
)

// topicPath returns the escaped path of a topic followed by suffix.
func topicPath(name string, suffix ...string) string {
	p := "/api/v1/topics/" + url.PathEscape(name)
	for _, s := range suffix {
		p += "/" + s
	}
	return p
}

// subPath returns the escaped path of a subscription followed by suffix.
func subPath(topic, sub string, suffix ...string) string {
	return topicPath(topic, append([]string{"subscriptions", url.PathEscape(sub)}, suffix...)...)
}

// ListTopics lists every topic.
func (c *Client) ListTopics(ctx context.Context) ([]*Topic, error) {
	var out TopicList
	if err := c.do(ctx, http.MethodGet, "/api/v1/topics", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Topics, nil
}

// CreateTopic creates a topic; unset properties take the defaults.
func (c *Client) CreateTopic(ctx context.Context, name string, props TopicProperties) (*Topic, error) {
	var out Topic
	if err := c.do(ctx, http.MethodPut, topicPath(name), nil, props, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetTopic returns a topic's properties and counts.
func (c *Client) GetTopic(ctx context.Context, name string) (*Topic, error) {
	var out Topic
	if err := c.do(ctx, http.MethodGet, topicPath(name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateTopic changes the properties set in props and keeps the others.
func (c *Client) UpdateTopic(ctx context.Context, name string, props TopicProperties) (*Topic, error) {
	var out Topic
	if err := c.do(ctx, http.MethodPatch, topicPath(name), nil, props, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteTopic deletes a topic with its subscriptions and their messages.
func (c *Client) DeleteTopic(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, topicPath(name), nil, nil, nil)
}

// ListSubscriptions lists a topic's subscriptions with their counts.
func (c *Client) ListSubscriptions(ctx context.Context, topic string) ([]*Subscription, error) {
	var out SubscriptionList
	if err := c.do(ctx, http.MethodGet, topicPath(topic, "subscriptions"), nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Subscriptions, nil
}

// CreateSubscription creates a subscription; props.DefaultRule, when set,
// replaces the $Default TrueFilter rule.
func (c *Client) CreateSubscription(ctx context.Context, topic, sub string, props SubscriptionProperties) (*Subscription, error) {
	var out Subscription
	if err := c.do(ctx, http.MethodPut, subPath(topic, sub), nil, props, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSubscription returns a subscription's properties and counts.
func (c *Client) GetSubscription(ctx context.Context, topic, sub string) (*Subscription, error) {
	var out Subscription
	if err := c.do(ctx, http.MethodGet, subPath(topic, sub), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateSubscription changes the properties set in props and keeps the
// others.
func (c *Client) UpdateSubscription(ctx context.Context, topic, sub string, props SubscriptionProperties) (*Subscription, error) {
	var out Subscription
	if err := c.do(ctx, http.MethodPatch, subPath(topic, sub), nil, props, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteSubscription deletes a subscription and its messages.
func (c *Client) DeleteSubscription(ctx context.Context, topic, sub string) error {
	return c.do(ctx, http.MethodDelete, subPath(topic, sub), nil, nil, nil)
}

// ListRules lists a subscription's rules in the order they were added.
func (c *Client) ListRules(ctx context.Context, topic, sub string) ([]*Rule, error) {
	var out RuleList
	if err := c.do(ctx, http.MethodGet, subPath(topic, sub, "rules"), nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Rules, nil
}

// GetRule returns one rule.
func (c *Client) GetRule(ctx context.Context, topic, sub, rule string) (*Rule, error) {
	var out Rule
	if err := c.do(ctx, http.MethodGet, subPath(topic, sub, "rules", url.PathEscape(rule)), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AddRule adds rule r (r.Name names it); with replace, it replaces the
// existing rule of that name instead.
func (c *Client) AddRule(ctx context.Context, topic, sub string, r Rule, replace bool) (*Rule, error) {
	var out Rule
	err := c.doHeader(ctx, http.MethodPut, subPath(topic, sub, "rules", url.PathEscape(r.Name)), r, &out, func(h http.Header) {
		if replace {
			h.Set("If-Match", "*")
		}
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteRule removes a rule.
func (c *Client) DeleteRule(ctx context.Context, topic, sub, rule string) error {
	return c.do(ctx, http.MethodDelete, subPath(topic, sub, "rules", url.PathEscape(rule)), nil, nil, nil)
}
