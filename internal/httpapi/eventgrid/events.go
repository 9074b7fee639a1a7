package eventgrid

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/batonmq/baton/internal/push"
)

// event is one validated event, ready to store: Raw is the JSON object that
// subscribers will receive (stamped for EventGridEvent, attributes as sent
// for CloudEvents, untouched for custom events) and Fields its decoded form
// for filters.
type event struct {
	Raw    []byte
	Fields map[string]any
	ID     string
}

// limits bounds decoding.
type limits struct {
	maxEvent  int // bytes of one event
	maxEvents int // events in one request
}

// inputError is a refused publish: 400 (or 413) with the field named.
type inputError struct {
	status int
	code   string
	msg    string
}

func (e *inputError) Error() string { return e.msg }

func badInput(format string, args ...any) *inputError {
	return &inputError{status: http.StatusBadRequest, code: "BadRequest", msg: fmt.Sprintf(format, args...)}
}

func tooLarge(format string, args ...any) *inputError {
	return &inputError{status: http.StatusRequestEntityTooLarge, code: "RequestEntityTooLarge", msg: fmt.Sprintf(format, args...)}
}

// decodeObject decodes one JSON object with numbers kept as json.Number.
func decodeObject(raw []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("the event is null, not an object")
	}
	return m, nil
}

// splitArray splits a JSON array into its elements; a single object is
// refused with Azure's wording when array is required.
func splitArray(body []byte, lim limits) ([]json.RawMessage, error) {
	t := bytes.TrimLeft(body, " \t\r\n")
	if len(t) == 0 {
		return nil, badInput("the request body is empty; expected a JSON array of events")
	}
	if t[0] != '[' {
		return nil, badInput("Unexpected token when reading JSON. Expected: StartArray, actual: %s.", tokenName(t[0]))
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		return nil, badInput("the request body is not valid JSON: %v", err)
	}
	if len(elems) == 0 {
		return nil, badInput("the request holds no events")
	}
	if lim.maxEvents > 0 && len(elems) > lim.maxEvents {
		return nil, tooLarge("the request holds %d events; at most %d are allowed per request", len(elems), lim.maxEvents)
	}
	for i, e := range elems {
		if lim.maxEvent > 0 && len(e) > lim.maxEvent {
			return nil, tooLarge("event %d is %d bytes; the limit for one event is %d bytes", i, len(e), lim.maxEvent)
		}
	}
	return elems, nil
}

func tokenName(c byte) string {
	switch c {
	case '{':
		return "StartObject"
	case '"':
		return "String"
	case 'n':
		return "Null"
	case 't', 'f':
		return "Boolean"
	}
	return "Value"
}

// egEvent is the EventGridEvent schema. Data is kept as the client's bytes.
type egEvent struct {
	ID              string          `json:"id"`
	Topic           string          `json:"topic,omitempty"`
	Subject         string          `json:"subject"`
	EventType       string          `json:"eventType"`
	EventTime       string          `json:"eventTime"`
	Data            json.RawMessage `json:"data,omitempty"`
	DataVersion     string          `json:"dataVersion"`
	MetadataVersion string          `json:"metadataVersion"`
}

// decodeEventGridEvents validates a JSON array of EventGridEvents and stamps
// topic, metadataVersion and dataVersion. The batch is atomic: one bad event
// refuses the request.
func decodeEventGridEvents(body []byte, topicID string, lim limits) ([]event, error) {
	elems, err := splitArray(body, lim)
	if err != nil {
		return nil, err
	}
	out := make([]event, 0, len(elems))
	for i, raw := range elems {
		fields, err := decodeObject(raw)
		if err != nil {
			return nil, badInput("event %d is not a JSON object: %v", i, err)
		}
		var ev egEvent
		reqStr := func(name string, dst *string) error {
			v, ok := fields[name]
			s, isStr := v.(string)
			if !ok || v == nil || !isStr || strings.TrimSpace(s) == "" {
				return badInput("event %d: required property '%s' is missing or empty", i, name)
			}
			*dst = s
			return nil
		}
		for _, f := range []struct {
			name string
			dst  *string
		}{{"id", &ev.ID}, {"subject", &ev.Subject}, {"eventType", &ev.EventType}, {"eventTime", &ev.EventTime}} {
			if err := reqStr(f.name, f.dst); err != nil {
				return nil, err
			}
		}
		if _, err := time.Parse(time.RFC3339Nano, ev.EventTime); err != nil {
			return nil, badInput("event %d: eventTime %q is not an RFC 3339 date-time", i, ev.EventTime)
		}
		optStr := func(name string) (string, bool, error) {
			v, ok := fields[name]
			if !ok || v == nil {
				return "", false, nil
			}
			s, isStr := v.(string)
			if !isStr {
				return "", false, badInput("event %d: property '%s' must be a string", i, name)
			}
			return s, true, nil
		}
		mv, ok, err := optStr("metadataVersion")
		if err != nil {
			return nil, err
		}
		if ok && mv != "1" {
			return nil, badInput("event %d: metadataVersion %q is not supported; it must be \"1\" or absent", i, mv)
		}
		tp, ok, err := optStr("topic")
		if err != nil {
			return nil, err
		}
		if ok && tp != "" && !strings.EqualFold(tp, topicID) {
			return nil, badInput("event %d: property 'topic' is %q but the topic is %q; omit it or give the topic's resource id", i, tp, topicID)
		}
		if ev.DataVersion, _, err = optStr("dataVersion"); err != nil {
			return nil, err
		}
		ev.Topic, ev.MetadataVersion = topicID, "1"
		var rawFields struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(raw, &rawFields); err != nil {
			return nil, badInput("event %d: %v", i, err)
		}
		if len(rawFields.Data) > 0 && !bytes.Equal(rawFields.Data, []byte("null")) {
			ev.Data = rawFields.Data
		}
		stamped := ev.appendJSON(make([]byte, 0, len(raw)+len(topicID)+64))
		fields["topic"], fields["metadataVersion"], fields["dataVersion"] = topicID, "1", ev.DataVersion
		out = append(out, event{Raw: stamped, Fields: fields, ID: ev.ID})
	}
	return out, nil
}

// appendJSON writes the stamped event with data exactly as the client
// sent it (json.Marshal would compact and HTML-escape it).
func (ev *egEvent) appendJSON(b []byte) []byte {
	str := func(b []byte, k, v string) []byte {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
		return appendString(b, v)
	}
	b = str(append(b, '{'), "id", ev.ID)
	b = str(append(b, ','), "topic", ev.Topic)
	b = str(append(b, ','), "subject", ev.Subject)
	b = str(append(b, ','), "eventType", ev.EventType)
	b = str(append(b, ','), "eventTime", ev.EventTime)
	if len(ev.Data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, ev.Data...)
	}
	b = str(append(b, ','), "dataVersion", ev.DataVersion)
	b = str(append(b, ','), "metadataVersion", ev.MetadataVersion)
	return append(b, '}')
}

// appendString appends s as a JSON string without HTML escaping.
func appendString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return append(b, bytes.TrimRight(buf.Bytes(), "\n")...)
}

// decodeCustomEvents accepts a JSON array of arbitrary objects.
func decodeCustomEvents(body []byte, lim limits) ([]event, error) {
	elems, err := splitArray(body, lim)
	if err != nil {
		return nil, err
	}
	out := make([]event, 0, len(elems))
	for i, raw := range elems {
		fields, err := decodeObject(raw)
		if err != nil {
			return nil, badInput("event %d is not a JSON object: %v", i, err)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, raw); err != nil {
			return nil, badInput("event %d: %v", i, err)
		}
		id, _ := lookupString(fields, "id")
		// Filters see a custom event's properties under "data".
		out = append(out, event{Raw: c.Bytes(), Fields: map[string]any{"data": fields}, ID: id})
	}
	return out, nil
}

func lookupString(m map[string]any, k string) (string, bool) {
	s, ok := m[k].(string)
	return s, ok
}

// decodeCloudEvents validates CloudEvents in the JSON format: one object
// (batch false) or an array (batch true).
func decodeCloudEvents(body []byte, batch bool, lim limits) ([]event, error) {
	if !batch {
		t := bytes.TrimLeft(body, " \t\r\n")
		if len(t) == 0 || t[0] != '{' {
			return nil, badInput("a structured CloudEvent (application/cloudevents+json) must be one JSON object")
		}
		if lim.maxEvent > 0 && len(body) > lim.maxEvent {
			return nil, tooLarge("the event is %d bytes; the limit for one event is %d bytes", len(body), lim.maxEvent)
		}
		ev, err := decodeCloudEvent(body, 0)
		if err != nil {
			return nil, err
		}
		return []event{ev}, nil
	}
	elems, err := splitArray(body, lim)
	if err != nil {
		return nil, err
	}
	out := make([]event, 0, len(elems))
	for i, raw := range elems {
		ev, err := decodeCloudEvent(raw, i)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// ceContext lists the CloudEvents 1.0 context attributes that are strings.
var ceStringAttrs = []string{"id", "source", "specversion", "type", "subject", "time", "datacontenttype", "dataschema"}

// decodeCloudEvent validates one CloudEvent (CloudEvents 1.0 §3 and the JSON
// format) and drops null attributes (null means absent).
func decodeCloudEvent(raw []byte, i int) (event, error) {
	fields, err := decodeObject(raw)
	if err != nil {
		return event{}, badInput("event %d is not a JSON object: %v", i, err)
	}
	if err := validateCloudEvent(fields, i); err != nil {
		return event{}, err
	}
	hadNull := false
	for k, v := range fields {
		if v == nil && k != "data" {
			delete(fields, k)
			hadNull = true
		}
	}
	var c bytes.Buffer
	if hadNull {
		// Rebuild without the null attributes; data keeps its bytes.
		var rawMap map[string]json.RawMessage
		if err := json.Unmarshal(raw, &rawMap); err != nil {
			return event{}, badInput("event %d: %v", i, err)
		}
		for k := range rawMap {
			if _, ok := fields[k]; !ok {
				delete(rawMap, k)
			}
		}
		b, err := json.Marshal(rawMap)
		if err != nil {
			return event{}, badInput("event %d: %v", i, err)
		}
		c.Write(b)
	} else if err := json.Compact(&c, raw); err != nil {
		return event{}, badInput("event %d: %v", i, err)
	}
	id, _ := lookupString(fields, "id")
	return event{Raw: c.Bytes(), Fields: fields, ID: id}, nil
}

func validateCloudEvent(f map[string]any, i int) error {
	for _, name := range ceStringAttrs {
		v, ok := f[name]
		if !ok || v == nil {
			continue
		}
		s, isStr := v.(string)
		if !isStr {
			return badInput("event %d: CloudEvents attribute `%s` must be a string", i, name)
		}
		if s == "" && name != "datacontenttype" && name != "dataschema" {
			return badInput("event %d: `%s` must be non-empty string", i, name)
		}
	}
	for _, name := range []string{"id", "source", "specversion", "type"} {
		if s, _ := f[name].(string); s == "" {
			return badInput("event %d: `%s` must be non-empty string", i, name)
		}
	}
	if sv := f["specversion"].(string); sv != "1.0" {
		return badInput("event %d: specversion %q is not supported; only \"1.0\" is", i, sv)
	}
	if t, ok := f["time"].(string); ok {
		if _, err := time.Parse(time.RFC3339Nano, t); err != nil {
			return badInput("event %d: `time` %q is not an RFC 3339 timestamp", i, t)
		}
	}
	_, hasData := f["data"]
	if b64, ok := f["data_base64"]; ok && b64 != nil {
		if hasData {
			return badInput("event %d: `data` and `data_base64` are mutually exclusive", i)
		}
		s, isStr := b64.(string)
		if !isStr {
			return badInput("event %d: `data_base64` must be a base64 string", i)
		}
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			return badInput("event %d: `data_base64` is not valid base64: %v", i, err)
		}
	}
	for k, v := range f {
		if k == "data" || k == "data_base64" || v == nil {
			continue
		}
		if !validExtensionName(k) {
			return badInput("event %d: attribute name %q is invalid; CloudEvents attribute names are lower-case letters and digits", i, k)
		}
		switch v.(type) {
		case map[string]any, []any:
			return badInput("event %d: extension attribute %q must be a string, number or boolean", i, k)
		}
	}
	return nil
}

func validExtensionName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// decodeBinaryCloudEvent reads a CloudEvent in the HTTP binary mode: ce-*
// headers carry the attributes, Content-Type is datacontenttype and the
// body is the data.
func decodeBinaryCloudEvent(h http.Header, body []byte, lim limits) (event, error) {
	if lim.maxEvent > 0 && len(body) > lim.maxEvent {
		return event{}, tooLarge("the event is %d bytes; the limit for one event is %d bytes", len(body), lim.maxEvent)
	}
	if h.Get("ce-datacontenttype") != "" {
		return event{}, badInput("binary mode: the ce-datacontenttype header must not be sent; Content-Type carries it")
	}
	rawAttrs := map[string]json.RawMessage{}
	fields := map[string]any{}
	for name, vals := range h {
		lname := strings.ToLower(name)
		if !strings.HasPrefix(lname, "ce-") || len(vals) == 0 {
			continue
		}
		attr := lname[3:]
		if !validExtensionName(attr) {
			return event{}, badInput("binary mode: header %s does not name a valid CloudEvents attribute", name)
		}
		v, err := decodeHeaderValue(vals[0])
		if err != nil {
			return event{}, badInput("binary mode: header %s: %v", name, err)
		}
		fields[attr] = v
		b, _ := json.Marshal(v)
		rawAttrs[attr] = b
	}
	ct := h.Get("Content-Type")
	if ct != "" {
		fields["datacontenttype"] = ct
		rawAttrs["datacontenttype"], _ = json.Marshal(ct)
	}
	if err := validateCloudEvent(fields, 0); err != nil {
		return event{}, err
	}
	if len(body) > 0 {
		mt := strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
		switch {
		case mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "/json"):
			if !json.Valid(body) {
				return event{}, badInput("binary mode: the body is not valid JSON but Content-Type is %q", ct)
			}
			var c bytes.Buffer
			_ = json.Compact(&c, body)
			rawAttrs["data"] = c.Bytes()
			d, err := decodeAny(body)
			if err == nil {
				fields["data"] = d
			}
		case strings.HasPrefix(mt, "text/") && utf8.Valid(body):
			rawAttrs["data"], _ = json.Marshal(string(body))
			fields["data"] = string(body)
		default:
			enc := base64.StdEncoding.EncodeToString(body)
			rawAttrs["data_base64"], _ = json.Marshal(enc)
			fields["data_base64"] = enc
		}
	}
	raw, err := json.Marshal(rawAttrs)
	if err != nil {
		return event{}, badInput("binary mode: %v", err)
	}
	id, _ := lookupString(fields, "id")
	return event{Raw: raw, Fields: fields, ID: id}, nil
}

func decodeAny(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// decodeHeaderValue undoes the CloudEvents HTTP binding's percent-encoding
// (and legacy double quotes), refusing invalid UTF-8.
func decodeHeaderValue(v string) (string, error) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	s, err := url.PathUnescape(v)
	if err != nil {
		return "", fmt.Errorf("bad percent-encoding: %w", err)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("the value is not valid UTF-8")
	}
	return s, nil
}

// pushEvent is the event as filters see it.
func (e event) pushEvent(s push.Schema) push.Event { return push.Event{Schema: s, Fields: e.Fields} }
