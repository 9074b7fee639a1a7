package encoding

// This file splits a transfer payload into message sections.
//
// ParseMessage walks the payload once. For every section it records where
// the section starts (its descriptor), where its value starts and where it
// ends, validates the value strictly, and decodes the few sections a broker
// needs on every message (header, message-annotations, properties). The
// application-properties, body and footer are validated with SkipValue,
// which allocates nothing, and stay raw until asked for.
//
// Section order (part 3, section 3.2): header? delivery-annotations?
// message-annotations? properties? application-properties?
// (data+ | amqp-sequence+ | amqp-value)? footer?

// span is the position of one section in the payload.
type span struct {
	start, value, end int // descriptor start, value start, end
	ok                bool
}

func (s span) raw(p []byte) []byte {
	if !s.ok {
		return nil
	}
	return p[s.value:s.end:s.end]
}

// MessageView is a parsed transfer payload. Byte slices it returns alias
// the payload passed to Parse; keep the payload unchanged while the view is
// in use.
type MessageView struct {
	payload []byte

	// HasHeader reports whether the message carried a header section.
	HasHeader bool
	// Header is the decoded header, or the defaults when absent.
	Header Header
	// MessageAnnotations is the decoded message-annotations map, nil when
	// absent.
	MessageAnnotations Map
	// HasProperties reports whether the message carried a properties section.
	HasProperties bool
	// Properties is the decoded properties section.
	Properties Properties
	// Body tells which body sections the message has.
	Body BodyKind
	// DataSections is the number of data sections.
	DataSections int

	header, deliveryAnn, messageAnn, props, appProps, footer span
	bodyStart, bodyEnd                                       int
	firstData                                                []byte
	bareStart                                                int
}

// ParseMessage parses and validates a transfer payload. See MessageView.
func ParseMessage(payload []byte) (*MessageView, error) {
	m := new(MessageView)
	if err := m.Parse(payload); err != nil {
		return nil, err
	}
	return m, nil
}

// section ranks, in the order the sections must appear.
const (
	rankHeader = iota
	rankDeliveryAnn
	rankMessageAnn
	rankProperties
	rankAppProps
	rankBody
	rankFooter
)

// Parse resets m and parses payload into it, so that a MessageView can be
// reused across messages.
func (m *MessageView) Parse(payload []byte) error {
	*m = MessageView{payload: payload, Header: Header{Priority: DefaultPriority}, bareStart: -1}
	var r Reader
	r.Reset(payload)
	if len(payload) == 0 {
		return r.fail(ErrInvalid, "message has no sections")
	}
	last := -1
	for r.Len() > 0 {
		start := r.off
		code, name, err := r.ReadDescriptor()
		if err != nil {
			return err
		}
		if name != nil {
			var ok bool
			if code, ok = sectionCodeByName(name); !ok {
				return r.failAt(start, ErrInvalid, "unknown message section descriptor")
			}
		}
		rank, err := sectionRank(code)
		if err != nil {
			return r.failAt(start, ErrInvalid, "unknown message section descriptor")
		}
		if rank < last || (rank == last && rank != rankBody) {
			return r.failAt(start, ErrInvalid, "message section out of order or repeated")
		}
		if rank >= rankProperties && m.bareStart < 0 {
			m.bareStart = start
		}
		last = rank
		sp := span{start: start, value: r.off, ok: true}
		if err := m.section(&r, code, start); err != nil {
			return err
		}
		sp.end = r.off
		switch rank {
		case rankHeader:
			m.header = sp
		case rankDeliveryAnn:
			m.deliveryAnn = sp
		case rankMessageAnn:
			m.messageAnn = sp
		case rankProperties:
			m.props = sp
		case rankAppProps:
			m.appProps = sp
		case rankBody:
			if m.bodyEnd == 0 {
				m.bodyStart = start
			}
			m.bodyEnd = sp.end
		case rankFooter:
			m.footer = sp
		}
	}
	if m.bareStart < 0 {
		m.bareStart = len(payload)
	}
	return nil
}

func sectionRank(code uint64) (int, error) {
	switch code {
	case SectionHeader:
		return rankHeader, nil
	case SectionDeliveryAnnotations:
		return rankDeliveryAnn, nil
	case SectionMessageAnnotations:
		return rankMessageAnn, nil
	case SectionProperties:
		return rankProperties, nil
	case SectionApplicationProps:
		return rankAppProps, nil
	case SectionData, SectionAMQPSequence, SectionAMQPValue:
		return rankBody, nil
	case SectionFooter:
		return rankFooter, nil
	}
	return 0, ErrInvalid
}

func (m *MessageView) section(r *Reader, code uint64, start int) error {
	switch code {
	case SectionHeader:
		m.HasHeader = true
		return readHeaderFields(r, &m.Header)
	case SectionDeliveryAnnotations, SectionFooter:
		return skipAnnotations(r)
	case SectionMessageAnnotations:
		mp, err := readAnnotations(r)
		m.MessageAnnotations = mp
		return err
	case SectionProperties:
		m.HasProperties = true
		return readPropertiesFields(r, &m.Properties)
	case SectionApplicationProps:
		return skipAppProperties(r)
	}
	// Body sections.
	kind := BodyValue
	switch code {
	case SectionData:
		kind = BodyData
	case SectionAMQPSequence:
		kind = BodySequence
	}
	if m.Body != BodyNone && (m.Body != kind || kind == BodyValue) {
		return r.failAt(start, ErrInvalid, "message body mixes section kinds or repeats amqp-value")
	}
	m.Body = kind
	switch kind {
	case BodyData:
		p, err := r.ReadBinary()
		if err != nil {
			return err
		}
		if m.DataSections == 0 {
			m.firstData = p
		}
		m.DataSections++
		return nil
	case BodySequence:
		c, err := r.PeekCode()
		if err != nil {
			return err
		}
		if c != CodeList0 && c != CodeList8 && c != CodeList32 {
			return r.unexpected("list", c)
		}
		return r.SkipValue()
	}
	return r.SkipValue()
}

// readHeaderFields decodes the header section's field list.
func readHeaderFields(r *Reader, h *Header) error {
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if f.Next() {
		if h.Durable, err = r.ReadBool(); err != nil {
			return err
		}
	}
	if f.Next() {
		if h.Priority, err = r.ReadUint8(); err != nil {
			return err
		}
	}
	if f.Next() {
		if h.TTL, err = r.ReadUint32(); err != nil {
			return err
		}
		h.HasTTL = true
	}
	if f.Next() {
		if h.FirstAcquirer, err = r.ReadBool(); err != nil {
			return err
		}
	}
	if f.Next() {
		if h.DeliveryCount, err = r.ReadUint32(); err != nil {
			return err
		}
	}
	return f.Finish()
}

// annotationKey checks the type of an annotations map key. The spec allows
// symbol and ulong; string is accepted too because rhea (the JavaScript
// SDK's AMQP library) writes message-annotations keys such as
// x-opt-partition-key as strings. AppendDelivery re-emits them as symbols.
func annotationKey(r *Reader) error {
	c, err := r.PeekCode()
	if err != nil {
		return err
	}
	switch c {
	case CodeSym8, CodeSym32, CodeUlong0, CodeSmallUlong, CodeUlong, CodeStr8, CodeStr32:
		return r.SkipValue()
	}
	return r.unexpected("symbol, ulong or string annotation key", c)
}

func skipAnnotations(r *Reader) error {
	n, end, err := r.ReadMapHeader()
	if err != nil {
		return err
	}
	for range n {
		if err := annotationKey(r); err != nil {
			return err
		}
		if err := r.SkipValue(); err != nil {
			return err
		}
	}
	return r.checkEnd(end, "map")
}

func readAnnotations(r *Reader) (Map, error) {
	start := r.off
	if err := skipAnnotations(r); err != nil {
		return nil, err
	}
	r.off = start
	return r.ReadMap()
}

func skipAppProperties(r *Reader) error {
	n, end, err := r.ReadMapHeader()
	if err != nil {
		return err
	}
	for range n {
		c, err := r.PeekCode()
		if err != nil {
			return err
		}
		if c != CodeStr8 && c != CodeStr32 {
			return r.unexpected("string application-property key", c)
		}
		if err := r.SkipValue(); err != nil {
			return err
		}
		if err := r.SkipValue(); err != nil {
			return err
		}
	}
	return r.checkEnd(end, "map")
}

// stringPool turns string fields of one section into substrings of a
// single allocated copy of the section, so decoding properties costs one
// allocation however many string fields there are.
type stringPool struct {
	base int    // payload offset of s[0]
	s    string // copy of the section bytes
	src  []byte
	from int
}

func (p *stringPool) get(r *Reader, b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if p.s == "" {
		p.s = string(p.src[p.from:])
		p.base = p.from
	}
	end := r.off - p.base
	if end < len(b) || end > len(p.s) {
		return string(b) // malformed list; the caller reports the error
	}
	return p.s[end-len(b) : end]
}

func readID(r *Reader, pool *stringPool) (MessageID, error) {
	c, err := r.PeekCode()
	if err != nil {
		return MessageID{}, err
	}
	switch c {
	case CodeStr8, CodeStr32:
		b, err := r.ReadStringBytes()
		if err != nil {
			return MessageID{}, err
		}
		return MessageID{Kind: IDString, Str: pool.get(r, b)}, nil
	case CodeUlong0, CodeSmallUlong, CodeUlong:
		v, err := r.ReadUint64()
		return MessageID{Kind: IDUlong, Ulong: v}, err
	case CodeUUID:
		v, err := r.ReadUUID()
		return MessageID{Kind: IDUUID, UUID: v}, err
	case CodeVbin8, CodeVbin32:
		v, err := r.ReadBinary()
		return MessageID{Kind: IDBinary, Binary: v}, err
	}
	return MessageID{}, r.unexpected("message-id (string, ulong, uuid or binary)", c)
}

// readPropertiesFields decodes the properties section's field list.
func readPropertiesFields(r *Reader, p *Properties) error {
	from := r.off
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	// The pool copies at most this list.
	pool := stringPool{src: r.buf[:f.end], from: from}
	var b []byte
	for i := 0; i < 13; i++ {
		if !f.Next() {
			continue
		}
		switch i {
		case 0:
			p.MessageID, err = readID(r, &pool)
		case 1:
			p.UserID, err = r.ReadBinary()
		case 2, 3, 4, 10, 12:
			if b, err = r.ReadStringBytes(); err == nil {
				s := pool.get(r, b)
				switch i {
				case 2:
					p.To = s
				case 3:
					p.Subject = s
				case 4:
					p.ReplyTo = s
				case 10:
					p.GroupID = s
				default:
					p.ReplyToGroupID = s
				}
			}
		case 5:
			p.CorrelationID, err = readID(r, &pool)
		case 6, 7:
			if b, err = r.ReadSymbolBytes(); err == nil {
				if i == 6 {
					p.ContentType = Symbol(pool.get(r, b))
				} else {
					p.ContentEncoding = Symbol(pool.get(r, b))
				}
			}
		case 8:
			p.AbsoluteExpiryTime, err = r.ReadTimestamp()
		case 9:
			p.CreationTime, err = r.ReadTimestamp()
		case 11:
			p.GroupSequence, err = r.ReadUint32()
			p.HasGroupSequence = err == nil
		}
		if err != nil {
			return err
		}
	}
	return f.Finish()
}
