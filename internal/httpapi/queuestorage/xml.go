package queuestorage

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxMessageBytes is the largest message text, in UTF-8 bytes after XML
// decoding (§3.4).
const MaxMessageBytes = 64 << 10

// errXML is wrapped by every request-body decoding error.
var errXML = errors.New("queuestorage: invalid XML document")

// messageIn is a Put/Update body.
type messageIn struct {
	XMLName xml.Name `xml:"QueueMessage"`
	Text    *string  `xml:"MessageText"`
}

// decodeMessage reads <QueueMessage><MessageText>…</MessageText></QueueMessage>
// and returns the decoded text, which may share body's memory. A body
// without MessageText is an error. The plain shape takes the hand-written
// reader; anything else encoding/xml.
func decodeMessage(body []byte) ([]byte, error) {
	if text, ok := fastMessageText(body); ok {
		return text, nil
	}
	return decodeMessageXML(body)
}

// decodeMessageXML is decodeMessage with encoding/xml alone.
func decodeMessageXML(body []byte) ([]byte, error) {
	var m messageIn
	if err := strictUnmarshal(body, &m); err != nil {
		return nil, err
	}
	if m.Text == nil {
		return nil, fmt.Errorf("%w: QueueMessage has no MessageText element", errXML)
	}
	return []byte(*m.Text), nil
}

// strictUnmarshal decodes exactly one XML document into v.
func strictUnmarshal(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return fmt.Errorf("%w: the body is empty", errXML)
	}
	if !utf8.Valid(body) {
		return fmt.Errorf("%w: the body is not UTF-8", errXML)
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", errXML, err)
	}
	// Only comments, processing instructions and blanks may follow.
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return fmt.Errorf("%w: text after the document element", errXML)
			}
		default:
			return fmt.Errorf("%w: content after the document element", errXML)
		}
	}
	return nil
}

// signedIdentifiers is a Get/Set ACL document (§2.8).
type signedIdentifiers struct {
	XMLName xml.Name           `xml:"SignedIdentifiers"`
	Items   []signedIdentifier `xml:"SignedIdentifier"`
}

type signedIdentifier struct {
	ID     string        `xml:"Id" json:"id"`
	Policy *accessPolicy `xml:"AccessPolicy" json:"policy,omitempty"`
}

// accessPolicy keeps Start/Expiry as normalised ISO 8601 strings ("" when
// absent), which is also what a service SAS reads.
type accessPolicy struct {
	Start      string `xml:"Start,omitempty" json:"start,omitempty"`
	Expiry     string `xml:"Expiry,omitempty" json:"expiry,omitempty"`
	Permission string `xml:"Permission,omitempty" json:"permission,omitempty"`
}

// aclKey is the reserved metadata key holding a queue's stored access
// policies as JSON.
const aclKey = "$acl"

// decodeACLBody parses and validates a Set ACL body: ≤ 5 identifiers, Id ≤
// 64 characters, permissions ⊆ raup, parseable times (normalised to
// seven-digit UTC).
func decodeACLBody(body []byte) ([]signedIdentifier, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	var doc signedIdentifiers
	if err := strictUnmarshal(body, &doc); err != nil {
		return nil, err
	}
	if len(doc.Items) > 5 {
		return nil, fmt.Errorf("%w: %d SignedIdentifier elements; at most 5 are allowed", errXML, len(doc.Items))
	}
	seen := map[string]bool{}
	for i := range doc.Items {
		s := &doc.Items[i]
		s.ID = strings.TrimSpace(s.ID)
		if s.ID == "" || len(s.ID) > 64 {
			return nil, fmt.Errorf("%w: SignedIdentifier Id %q must be 1 to 64 characters", errXML, s.ID)
		}
		if seen[s.ID] {
			return nil, fmt.Errorf("%w: SignedIdentifier Id %q appears twice", errXML, s.ID)
		}
		seen[s.ID] = true
		if s.Policy == nil {
			continue
		}
		for _, c := range s.Policy.Permission {
			if !strings.ContainsRune("raup", c) {
				return nil, fmt.Errorf("%w: permission %q of %q is not one of r, a, u, p", errXML, c, s.ID)
			}
		}
		for _, f := range []*string{&s.Policy.Start, &s.Policy.Expiry} {
			*f = strings.TrimSpace(*f)
			if *f == "" {
				continue
			}
			t, ok := parseSASTime(*f)
			if !ok {
				return nil, fmt.Errorf("%w: %q is not an ISO 8601 time", errXML, *f)
			}
			*f = t.Format("2006-01-02T15:04:05.0000000Z")
		}
	}
	return doc.Items, nil
}

// encodeACL renders identifiers for the reserved metadata key.
func encodeACL(items []signedIdentifier) string {
	if len(items) == 0 {
		return ""
	}
	b, _ := json.Marshal(items)
	return string(b)
}

// decodeACL reads the stored identifiers from queue metadata.
func decodeACL(md map[string]string) []signedIdentifier {
	var items []signedIdentifier
	if v := md[aclKey]; v != "" {
		_ = json.Unmarshal([]byte(v), &items)
	}
	return items
}

// marshalDoc renders v as a compact document with the XML declaration.
func marshalDoc(v any) []byte {
	b, err := xml.Marshal(v)
	if err != nil {
		panic("queuestorage: marshalling a response: " + err.Error()) // our own types: a broken invariant
	}
	return append([]byte(`<?xml version="1.0" encoding="utf-8"?>`), b...)
}
