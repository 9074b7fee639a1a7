package queuestorage

// Shared Key verification without per-request garbage. The string-to-sign
// nearly every client signs — stringsToSign's first variant: byte-ordered
// headers, lower-cased query names, empty parameters kept — is built into a
// pooled buffer and checked with a pooled HMAC of each account key. Only
// when that fails does sharedKey build stringsToSign's full list of
// variants, so the accepted signatures and the error answers are those of
// stringsToSign.

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// keyMAC reuses HMAC-SHA256 states of one account key.
type keyMAC struct {
	key  []byte
	pool sync.Pool // *macState
}

type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func newKeyMAC(key []byte) *keyMAC { return &keyMAC{key: key} }

// verify reports whether sig is the HMAC of msg, compared in constant time.
func (k *keyMAC) verify(msg, sig []byte) bool {
	st, _ := k.pool.Get().(*macState)
	if st == nil {
		st = &macState{h: hmac.New(sha256.New, k.key)}
	} else {
		st.h.Reset()
	}
	st.h.Write(msg)
	ok := hmac.Equal(st.h.Sum(st.sum[:0]), sig)
	k.pool.Put(st)
	return ok
}

// signScratch is the pooled memory of one verification.
type signScratch struct {
	buf    []byte // the string to sign
	sig    [64]byte
	hdrs   []canonHeader
	params []canonParam
}

type canonHeader struct {
	name string // as in the header map; written lower-cased
	vals []string
}

type canonParam struct{ name, value string }

var scratchPool = sync.Pool{New: func() any { return &signScratch{buf: make([]byte, 0, 512)} }}

func getScratch() *signScratch { return scratchPool.Get().(*signScratch) }

func putScratch(s *signScratch) {
	if cap(s.buf) > 16<<10 || cap(s.hdrs) > 64 || cap(s.params) > 64 {
		return
	}
	clear(s.hdrs[:cap(s.hdrs)])
	clear(s.params[:cap(s.params)])
	s.buf, s.hdrs, s.params = s.buf[:0], s.hdrs[:0], s.params[:0]
	scratchPool.Put(s)
}

// hget is Header.Get for a key already in canonical form, without
// canonicalising it again.
func hget(h http.Header, canonicalKey string) string {
	if v := h[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// appendPrimary builds stringsToSign(in, account)[0] into s.buf. ok is
// false for the rare requests where it would not be exactly that string
// (a header name outside ASCII, two names equal but for case); the caller
// then uses stringsToSign alone.
func (s *signScratch) appendPrimary(in canonInput, account string) (out []byte, ok bool) {
	h := in.header
	b := append(s.buf[:0], in.method...)
	b = append(b, '\n')
	enc, lang := hget(h, "Content-Encoding"), hget(h, "Content-Language")
	b = append(append(b, enc...), '\n')
	b = append(append(b, lang...), '\n')
	if cl := hget(h, "Content-Length"); cl != "0" {
		b = append(b, cl...)
	}
	b = append(b, '\n')
	for _, k := range [...]string{"Content-Md5", "Content-Type", "Date", "If-Modified-Since", "If-Match", "If-None-Match", "If-Unmodified-Since"} {
		b = append(append(b, hget(h, k)...), '\n')
	}
	b = append(append(b, hget(h, "Range")...), '\n')

	// CanonicalizedHeaders, byte order of the lower-cased names.
	hdrs := s.hdrs[:0]
	for name, vals := range h {
		if len(name) < 5 || lower(name[0]) != 'x' || name[1] != '-' || lower(name[2]) != 'm' || lower(name[3]) != 's' || name[4] != '-' {
			continue
		}
		for i := 0; i < len(name); i++ {
			if name[i] >= 0x80 {
				s.buf, s.hdrs = b, hdrs
				return nil, false
			}
		}
		hdrs = append(hdrs, canonHeader{name, vals})
	}
	slices.SortFunc(hdrs, func(x, y canonHeader) int { return compareLower(x.name, y.name) })
	for i := 1; i < len(hdrs); i++ {
		if compareLower(hdrs[i-1].name, hdrs[i].name) == 0 {
			s.buf, s.hdrs = b, hdrs
			return nil, false
		}
	}
	for _, e := range hdrs {
		for i := 0; i < len(e.name); i++ {
			b = append(b, lower(e.name[i]))
		}
		b = append(b, ':')
		for i, v := range e.vals {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, strings.TrimSpace(v)...)
		}
		b = append(b, '\n')
	}
	s.hdrs = hdrs

	// CanonicalizedResource: canonResource(account, rawPath, rawQuery, true).
	b = append(append(b, '/'), account...)
	if in.rawPath == "" {
		b = append(b, '/')
	} else {
		b = append(b, in.rawPath...)
	}
	params := s.params[:0]
	eachSignedParam(in.rawQuery, func(name, val string) {
		params = append(params, canonParam{strings.ToLower(name), val})
	})
	slices.SortFunc(params, func(x, y canonParam) int {
		if c := strings.Compare(x.name, y.name); c != 0 {
			return c
		}
		return strings.Compare(x.value, y.value)
	})
	for i, p := range params {
		if i > 0 && params[i-1].name == p.name {
			b = append(append(b, ','), p.value...)
			continue
		}
		b = append(append(append(append(b, '\n'), p.name...), ':'), p.value...)
	}
	s.params = params
	s.buf = b
	return b, true
}

// compareLower compares two ASCII strings as strings.ToLower would leave
// them.
func compareLower(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if ca, cb := lower(a[i]), lower(b[i]); ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}
