package config

import (
	"strings"
	"testing"
)

func TestEventGridValidate(t *testing.T) {
	cases := []struct {
		doc  string
		want string // "" valid; else a substring of the error
	}{
		{`{"eventGrid":{"topics":[{"name":"orders","eventSubscriptions":[{"name":"hook","endpointUrl":"https://x/y"}]}]}}`, ""},
		{`{"eventGrid":{"topics":[{"name":"or"}]}}`, "3–50"},
		{`{"eventGrid":{"topics":[{"name":"orders"},{"name":"ORDERS"}]}}`, "declared twice"},
		{`{"eventGrid":{"topics":[{"name":"orders","inputSchema":"Xml"}]}}`, "inputSchema"},
		{`{"eventGrid":{"topics":[{"name":"orders","eventSubscriptions":[{"name":"hook","endpointUrl":"ftp://x"}]}]}}`, "not an http(s) URL"},
		{`{"eventGrid":{"topics":[{"name":"a-1","eventSubscriptions":[{"name":"hook","endpointUrl":"http://x"}]},{"name":"a-2","eventSubscriptions":[{"name":"HOOK","endpointUrl":"http://x"}]}]}}`, "unique across topics"},
		{`{"eventGrid":{"topics":[{"name":"orders","eventSubscriptions":[{"name":"hook","endpointUrl":"http://x","retryPolicy":{"maxDeliveryAttempts":31}}]}]}}`, "maxDeliveryAttempts 31"},
		{`{"eventGrid":{"topics":[{"name":"orders","eventSubscriptions":[{"name":"hook","destination":{"endpointType":"StorageQueue","properties":{"resourceId":"/x"}}}]}]}}`, "queueName"},
		{`{"eventGrid":{"topics":[{"name":"orders","eventSubscriptions":[{"name":"hook","destination":{"endpointType":"ServiceBusQueue","properties":{"resourceId":"/x/providers/Microsoft.ServiceBus/namespaces/n/queues/q"}}}]}]}}`, ""},
		{`{"eventGrid":{"topics":[{"name":"orders","topicType":"Microsoft.Storage.StorageAccounts"}]}}`, "topicType"},
		{`{"eventGrid":{"namespaceTopics":[{"name":"jobs","eventSubscriptions":[{"name":"w1","receiveLockDurationInSeconds":30}]}]}}`, "60–300"},
		{`{"eventGrid":{"namespaceTopics":[{"name":"jobs","eventSubscriptions":[{"name":"w1","deliveryConfiguration":{"queue":{"maxDeliveryCount":11}}}]}]}}`, "maxDeliveryCount 11"},
		{`{"eventGrid":{"namespaceTopics":[{"name":"jobs","eventSubscriptions":[{"name":"w1","eventTimeToLive":"PT30S"}]}]}}`, "PT1M"},
		{`{"eventGrid":{"retryScale":-1}}`, "retryScale"},
	}
	for _, c := range cases {
		cfg := Default()
		if err := Decode([]byte(c.doc), &cfg); err != nil {
			t.Fatalf("%s: %v", c.doc, err)
		}
		err := cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.doc, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want %q", c.doc, err, c.want)
		}
	}
}
