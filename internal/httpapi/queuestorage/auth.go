package queuestorage

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// sasRule is what a SAS must grant for one operation (§4.4, §4.5).
type sasRule struct {
	resourceTypes string // account SAS: any of these srt letters
	accountPerms  string // account SAS: any of these sp letters
	servicePerms  string // service SAS: any of these sp letters; "" = never
}

var sasRules = map[op]sasRule{
	opListQueues:           {"s", "l", ""},
	opGetServiceProperties: {"s", "r", ""},
	opGetServiceStats:      {"s", "r", ""},
	opSetServiceProperties: {"s", "w", ""},
	opCreateQueue:          {"c", "cw", ""},
	opDeleteQueue:          {"c", "d", ""},
	opGetMetadata:          {"c", "r", "r"},
	opSetMetadata:          {"c", "w", ""},
	opPutMessage:           {"o", "a", "a"},
	opGetMessages:          {"o", "p", "p"},
	opPeekMessages:         {"o", "r", "r"},
	opDeleteMessage:        {"oc", "p", "p"},
	opUpdateMessage:        {"oc", "u", "u"},
	opClearMessages:        {"oc", "d", ""},
	// Get/Set ACL: no SAS may authorise them.
}

// authenticate applies the decision order of §4.1.
func (h *Handler) authenticate(q *request) error {
	if auth := q.r.Header.Get("Authorization"); auth != "" {
		scheme, cred, _ := strings.Cut(strings.TrimSpace(auth), " ")
		switch scheme {
		case "SharedKey", "SharedKeyLite":
			return h.sharedKey(q, scheme == "SharedKeyLite", strings.TrimSpace(cred))
		case "Bearer":
			return newError("AuthenticationFailed", "AuthenticationErrorDetail",
				"Baton does not accept OAuth bearer tokens; use Shared Key (the account key) or a SAS.")
		}
		return newError("InvalidAuthenticationInfo", "AuthenticationErrorDetail",
			fmt.Sprintf("The Authorization scheme %q is not supported; use SharedKey or SharedKeyLite.", scheme))
	}
	if q.has("sig") {
		return h.sas(q)
	}
	if h.anon {
		return nil
	}
	return newError("NoAuthenticationInformation")
}

// sharedKey verifies "SharedKey account:signature" (§4.2, §4.3).
func (h *Handler) sharedKey(q *request, lite bool, cred string) error {
	account, sig, ok := strings.Cut(cred, ":")
	if !ok || account == "" || sig == "" {
		return newError("InvalidAuthenticationInfo", "AuthenticationErrorDetail", "The Authorization header must be 'SharedKey <account>:<signature>'.")
	}
	sc := getScratch()
	defer putScratch(sc)
	var got []byte
	var err error
	if base64.StdEncoding.DecodedLen(len(sig)) <= len(sc.sig) {
		sc.buf = append(sc.buf[:0], sig...)
		var n int
		n, err = base64.StdEncoding.Decode(sc.sig[:], sc.buf)
		got = sc.sig[:n]
	} else {
		got, err = base64.StdEncoding.DecodeString(sig)
	}
	if err != nil {
		return newError("InvalidAuthenticationInfo", "AuthenticationErrorDetail", "The signature in the Authorization header is not base64.")
	}
	if account != q.account {
		return newError("AuthenticationFailed", "AuthenticationErrorDetail",
			fmt.Sprintf("The account %q in the Authorization header is not the account %q the request addresses.", account, q.account))
	}
	in := inputOf(q.r)
	macs := h.macs[account]
	if !lite {
		if s, ok := sc.appendPrimary(in, account); ok {
			for _, k := range macs {
				if k.verify(s, got) {
					return nil
				}
			}
		}
	}
	var candidates []string
	if lite {
		candidates = []string{stringToSignLite(in, account)}
	} else {
		candidates = stringsToSign(in, account)
	}
	for _, k := range macs {
		for _, s := range candidates {
			if k.verify([]byte(s), got) {
				return nil
			}
		}
	}
	return newError("AuthenticationFailed", "AuthenticationErrorDetail",
		fmt.Sprintf("The MAC signature found in the HTTP request '%s' is not the same as any computed signature. Server used following string to sign: '%s'.", sig, candidates[0]))
}

// sasFailed is 403 AuthenticationFailed with a detail.
func sasFailed(format string, args ...any) *apiError {
	return newError("AuthenticationFailed", "AuthenticationErrorDetail", fmt.Sprintf(format, args...))
}

// sas verifies an account or service SAS in the query (§4.4, §4.5).
func (h *Handler) sas(q *request) error {
	p := func(name string) string { v, _ := q.get(name); return v }
	sig, err := base64.StdEncoding.DecodeString(p("sig"))
	if err != nil {
		return sasFailed("The sig parameter is not base64.")
	}
	if p("sv") == "" {
		return sasFailed("The SAS has no sv (signed version) parameter.")
	}
	if q.has("ss") {
		if q.has("srt") {
			return h.accountSAS(q, p, sig)
		}
	}
	return h.serviceSAS(q, p, sig)
}

func (h *Handler) verifySig(account, stringToSign string, sig []byte) error {
	for _, k := range h.macs[account] {
		if k.verify([]byte(stringToSign), sig) {
			return nil
		}
	}
	return sasFailed("Signature did not match. String to sign used was %q.", stringToSign)
}

func (h *Handler) accountSAS(q *request, p func(string) string, sig []byte) error {
	fields := []string{q.account, p("sp"), p("ss"), p("srt"), p("st"), p("se"), p("sip"), p("spr"), p("sv")}
	if p("sv") >= "2020-12-06" {
		fields = append(fields, p("ses"))
	}
	if err := h.verifySig(q.account, strings.Join(fields, "\n")+"\n", sig); err != nil {
		return err
	}
	if err := checkWindow(p("st"), p("se"), q.now); err != nil {
		return err
	}
	if !strings.Contains(p("ss"), "q") {
		return newError("AuthorizationServiceMismatch")
	}
	rule, ok := sasRules[q.op]
	if !ok {
		return newError("AuthorizationFailure").withMessage(fmt.Sprintf("This request is not authorized to perform this operation. A SAS cannot authorize %s; use the account key.", q.op))
	}
	if !strings.ContainsAny(p("srt"), rule.resourceTypes) {
		return newError("AuthorizationResourceTypeMismatch")
	}
	if !strings.ContainsAny(p("sp"), rule.accountPerms) {
		return newError("AuthorizationPermissionMismatch").withMessage(fmt.Sprintf(
			"This request is not authorized to perform this operation using this permission. %s needs one of %q in sp; the SAS grants %q.", q.op, rule.accountPerms, p("sp")))
	}
	return nil
}

// serviceSAS verifies a queue SAS; it is scoped to q.queue, so service-level
// calls (q.queue empty) cannot use it.
func (h *Handler) serviceSAS(q *request, p func(string) string, sig []byte) error {
	queue := q.queue
	// The Go SDK signs a doubled account on localhost (§4.5 quirk).
	names := []string{"/queue/" + q.account + "/" + queue, "/queue/" + q.account + "/" + q.account + "/" + queue}
	var err error
	matched := false
	for _, name := range names {
		s := strings.Join([]string{p("sp"), p("st"), p("se"), name, p("si"), p("sip"), p("spr"), p("sv")}, "\n")
		if err = h.verifySig(q.account, s, sig); err == nil {
			matched = true
			break
		}
	}
	if !matched {
		return err
	}
	sp, st, se := p("sp"), p("st"), p("se")
	if si := p("si"); si != "" {
		pol, ok := h.policy(q.r.Context(), q.entity(), si)
		if !ok {
			return sasFailed("The stored access policy %q named by si does not exist on queue %q.", si, queue)
		}
		if (sp != "" && pol.Permission != "") || (st != "" && pol.Start != "") || (se != "" && pol.Expiry != "") {
			return sasFailed("A SAS field (sp, st or se) is given both in the token and in the stored access policy %q.", si)
		}
		if sp == "" {
			sp = pol.Permission
		}
		if st == "" {
			st = pol.Start
		}
		if se == "" {
			se = pol.Expiry
		}
	} else if sp == "" || se == "" {
		return sasFailed("A service SAS without a stored access policy (si) needs sp and se.")
	}
	if err := checkWindow(st, se, q.now); err != nil {
		return err
	}
	rule, ok := sasRules[q.op]
	if !ok || rule.servicePerms == "" || queue == "" {
		return newError("AuthorizationFailure").withMessage(fmt.Sprintf("This request is not authorized to perform this operation. A queue SAS cannot authorize %s.", q.op))
	}
	if !strings.ContainsAny(sp, rule.servicePerms) {
		return newError("AuthorizationPermissionMismatch").withMessage(fmt.Sprintf(
			"This request is not authorized to perform this operation using this permission. %s needs one of %q in sp; the SAS grants %q.", q.op, rule.servicePerms, sp))
	}
	return nil
}

// checkWindow checks now against a SAS's start and expiry.
func checkWindow(st, se string, now time.Time) error {
	if se == "" {
		return sasFailed("The SAS has no expiry (se).")
	}
	exp, ok := parseSASTime(se)
	if !ok {
		return sasFailed("se=%q is not an ISO 8601 UTC time.", se)
	}
	if !now.Before(exp) {
		return sasFailed("Signed expiry time [%s] must be after signed start time and the current time [%s].", exp.UTC().Format(time.RFC1123), now.UTC().Format(time.RFC1123))
	}
	if st != "" {
		start, ok := parseSASTime(st)
		if !ok {
			return sasFailed("st=%q is not an ISO 8601 UTC time.", st)
		}
		if now.Before(start) {
			return sasFailed("The SAS is not valid before its start time %s (now %s).", start.UTC().Format(time.RFC1123), now.UTC().Format(time.RFC1123))
		}
	}
	return nil
}

// parseSASTime reads the ISO 8601 forms SAS and ACL times use (§3.3).
func parseSASTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02", "2006-01-02T15:04:05", "2006-01-02T15:04:05.9999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// policy returns a stored access policy of a queue.
func (h *Handler) policy(ctx context.Context, entity, id string) (accessPolicy, bool) {
	qu, err := h.engine.Queue(ctx, entity)
	if err != nil {
		return accessPolicy{}, false
	}
	for _, s := range decodeACL(qu.Metadata) {
		if s.ID == id && s.Policy != nil {
			return *s.Policy, true
		}
	}
	return accessPolicy{}, false
}
