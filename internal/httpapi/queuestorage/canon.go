package queuestorage

// Shared Key canonicalisation (§4.2, §4.3). The server rebuilds the string
// the client signed and compares HMACs. SDKs disagree on details, so
// stringsToSign returns every variant a real client may have signed; the
// verifier accepts a signature matching any of them.

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// headerOrder sorts canonical header names.
type headerOrder int

const (
	orderBytes       headerOrder = iota // A: Go azqueue, Python, Azurite
	orderJSCulture                      // B: JS @azure/storage-common SharedKeyComparator
	orderIgnoreSymbs                    // C: .NET en-US culture with IgnoreSymbols
)

// canonInput is what canonicalisation reads from a request, so that tests
// and the fuzzer can build it without an http.Request.
type canonInput struct {
	method   string
	header   http.Header
	rawPath  string // as on the request line, still percent-encoded
	rawQuery string
}

func inputOf(r *http.Request) canonInput {
	raw := r.RequestURI
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if !strings.HasPrefix(raw, "/") { // absolute-form request target
		raw = r.URL.EscapedPath()
	}
	return canonInput{method: r.Method, header: r.Header, rawPath: raw, rawQuery: r.URL.RawQuery}
}

// canonHeaders returns the CanonicalizedHeaders block in the given order.
func canonHeaders(h http.Header, order headerOrder) string {
	type kv struct{ k, v string }
	var list []kv
	for name, vals := range h {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "x-ms-") {
			continue
		}
		vs := make([]string, len(vals))
		for i, v := range vals {
			vs[i] = strings.TrimSpace(v)
		}
		list = append(list, kv{lower, strings.Join(vs, ",")})
	}
	sort.SliceStable(list, func(i, j int) bool { return headerLess(list[i].k, list[j].k, order) })
	var b strings.Builder
	for _, e := range list {
		b.WriteString(e.k)
		b.WriteByte(':')
		b.WriteString(e.v)
		b.WriteByte('\n')
	}
	return b.String()
}

// headerLess compares two lower-case header names in one of the orders.
func headerLess(a, b string, order headerOrder) bool {
	switch order {
	case orderJSCulture:
		if c := compareWeights(a, b, func(c byte) (int, bool) {
			switch {
			case c == '-':
				return 0, false // ignored at the first level
			case isDigit(c):
				return 1000 + int(c), true
			case isLetter(c):
				return 2000 + int(lower(c)), true
			}
			return int(c), true // other punctuation before digits
		}); c != 0 {
			return c < 0
		}
	case orderIgnoreSymbs:
		if c := compareWeights(a, b, func(c byte) (int, bool) {
			switch {
			case isDigit(c):
				return 1000 + int(c), true
			case isLetter(c):
				return 2000 + int(lower(c)), true
			}
			return 0, false
		}); c != 0 {
			return c < 0
		}
	}
	return a < b
}

// compareWeights compares the weight sequences of a and b; weight returns
// false for ignored characters.
func compareWeights(a, b string, weight func(byte) (int, bool)) int {
	i, j := 0, 0
	for {
		for i < len(a) {
			if _, ok := weight(a[i]); ok {
				break
			}
			i++
		}
		for j < len(b) {
			if _, ok := weight(b[j]); ok {
				break
			}
			j++
		}
		switch {
		case i == len(a) && j == len(b):
			return 0
		case i == len(a):
			return -1
		case j == len(b):
			return 1
		}
		wa, _ := weight(a[i])
		wb, _ := weight(b[j])
		if wa != wb {
			if wa < wb {
				return -1
			}
			return 1
		}
		i++
		j++
	}
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// canonResource returns the CanonicalizedResource for Shared Key: "/" +
// account + raw path, then "\nname:values" per query parameter (names
// lower-cased, values decoded, sorted). keepEmpty keeps parameters with an
// empty value (Go does, JS drops them).
func canonResource(account, rawPath, rawQuery string, keepEmpty bool) string {
	return canonResourceCase(account, rawPath, rawQuery, keepEmpty, true)
}

// eachSignedParam calls fn with each name=value of a raw query, unescaped
// the way the SDKs sign them: a part that does not unescape is used as
// written, and empty parts are skipped.
func eachSignedParam(rawQuery string, fn func(name, val string)) {
	for rest := rawQuery; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			val = v
		}
		fn(name, val)
	}
}

// canonResourceCase is canonResource; lowerNames false keeps parameter
// names as sent (Go azqueue v1.0.0 does not lower-case them).
func canonResourceCase(account, rawPath, rawQuery string, keepEmpty, lowerNames bool) string {
	if rawPath == "" {
		rawPath = "/"
	}
	var b strings.Builder
	b.WriteString("/" + account + rawPath)
	params := map[string][]string{}
	eachSignedParam(rawQuery, func(name, val string) {
		if val == "" && !keepEmpty {
			return
		}
		if lowerNames {
			name = strings.ToLower(name)
		}
		params[name] = append(params[name], val)
	})
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		vals := params[n]
		sort.Strings(vals)
		b.WriteString("\n" + n + ":" + strings.Join(vals, ","))
	}
	return b.String()
}

// hasEmptyParam reports whether the raw query has a parameter with an empty
// value.
func hasEmptyParam(rawQuery string) bool {
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		if _, v, _ := strings.Cut(part, "="); v == "" {
			return true
		}
	}
	return false
}

// stringsToSign returns the Shared Key strings-to-sign a client may have
// produced for the request, most likely first (§4.2).
func stringsToSign(in canonInput, account string) []string {
	h := in.header
	contentLength := h.Get("Content-Length")
	if contentLength == "0" {
		contentLength = ""
	}
	dates := []string{h.Get("Date")}
	if dates[0] != "" && h.Get("x-ms-date") != "" {
		dates = append(dates, "")
	}
	enc, lang := h.Get("Content-Encoding"), h.Get("Content-Language")
	encLang := [][2]string{{enc, lang}}
	if enc != lang {
		encLang = append(encLang, [2]string{lang, enc}) // JS's swapped order
	}
	resources := []string{canonResource(account, in.rawPath, in.rawQuery, true)}
	if hasEmptyParam(in.rawQuery) {
		resources = append(resources, canonResource(account, in.rawPath, in.rawQuery, false))
	}
	if asSent := canonResourceCase(account, in.rawPath, in.rawQuery, true, false); asSent != resources[0] {
		resources = append(resources, asSent)
	}
	var out []string
	seenHeaders := map[string]bool{}
	for _, order := range []headerOrder{orderBytes, orderJSCulture, orderIgnoreSymbs} {
		hdrs := canonHeaders(h, order)
		if seenHeaders[hdrs] {
			continue
		}
		seenHeaders[hdrs] = true
		for _, el := range encLang {
			for _, date := range dates {
				for _, res := range resources {
					out = append(out, strings.Join([]string{
						in.method, el[0], el[1], contentLength, h.Get("Content-MD5"), h.Get("Content-Type"), date,
						h.Get("If-Modified-Since"), h.Get("If-Match"), h.Get("If-None-Match"), h.Get("If-Unmodified-Since"), h.Get("Range"),
					}, "\n")+"\n"+hdrs+res)
				}
			}
		}
	}
	return out
}

// stringToSignLite returns the Shared Key Lite string-to-sign (§4.3).
func stringToSignLite(in canonInput, account string) string {
	h := in.header
	res := "/" + account + in.rawPath
	if in.rawPath == "" {
		res = "/" + account + "/"
	}
	if q, err := url.ParseQuery(in.rawQuery); err == nil {
		for k, v := range q {
			if strings.EqualFold(k, "comp") && len(v) > 0 {
				res += "?comp=" + v[0]
				break
			}
		}
	}
	return in.method + "\n" + h.Get("Content-MD5") + "\n" + h.Get("Content-Type") + "\n" + h.Get("Date") + "\n" +
		canonHeaders(h, orderBytes) + res
}
