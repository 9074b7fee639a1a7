package queuestorage

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonmq/baton/internal/clock"
)

// serviceProperties is StorageServiceProperties (§2.2, §3.2). Optional
// sections are pointers so that a partial Set keeps what it omits.
type serviceProperties struct {
	XMLName       xml.Name  `xml:"StorageServiceProperties"`
	Logging       *logging  `xml:"Logging"`
	HourMetrics   *metrics  `xml:"HourMetrics"`
	MinuteMetrics *metrics  `xml:"MinuteMetrics"`
	Cors          *corsList `xml:"Cors"`
}

type logging struct {
	Version         string    `xml:"Version"`
	Delete          bool      `xml:"Delete"`
	Read            bool      `xml:"Read"`
	Write           bool      `xml:"Write"`
	RetentionPolicy retention `xml:"RetentionPolicy"`
}

type metrics struct {
	Version         string    `xml:"Version"`
	Enabled         bool      `xml:"Enabled"`
	IncludeAPIs     *bool     `xml:"IncludeAPIs,omitempty"`
	RetentionPolicy retention `xml:"RetentionPolicy"`
}

type retention struct {
	Enabled bool `xml:"Enabled"`
	Days    *int `xml:"Days,omitempty"`
}

type corsList struct {
	Rules []corsRule `xml:"CorsRule"`
}

type corsRule struct {
	AllowedOrigins  string `xml:"AllowedOrigins"`
	AllowedMethods  string `xml:"AllowedMethods"`
	MaxAgeInSeconds int64  `xml:"MaxAgeInSeconds"`
	ExposedHeaders  string `xml:"ExposedHeaders"`
	AllowedHeaders  string `xml:"AllowedHeaders"`
}

func defaultServiceProperties() *serviceProperties {
	return &serviceProperties{
		Logging:       &logging{Version: "1.0"},
		HourMetrics:   &metrics{Version: "1.0"},
		MinuteMetrics: &metrics{Version: "1.0"},
		Cors:          &corsList{},
	}
}

// serviceStore keeps service properties per account: in the engine when
// it is a PropertiesKeeper (shared by every node; cached here for
// propsRefresh, as Azure's own changes take a while to apply), else in
// memory and, with a directory, in service-<account>.xml files there.
type serviceStore struct {
	dir    string
	keeper PropertiesKeeper
	clk    clock.Clock
	mu     sync.Mutex
	m      map[string]*serviceProperties
	at     map[string]time.Time // when the keeper's document was read
}

// propsRefresh is how long a node serves a keeper's document before it
// reads it again: a change made on another node applies here within it.
const propsRefresh = time.Second

func newServiceStore(dir string, keeper PropertiesKeeper, clk clock.Clock) *serviceStore {
	return &serviceStore{dir: dir, keeper: keeper, clk: clk, m: map[string]*serviceProperties{}, at: map[string]time.Time{}}
}

func (s *serviceStore) path(account string) string {
	return filepath.Join(s.dir, "service-"+account+".xml")
}

// get returns a copy of an account's properties. A keeper that fails is
// an error unless a document read before can stand in.
func (s *serviceStore) get(ctx context.Context, account string) (*serviceProperties, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.getLocked(ctx, account)
	if err != nil {
		return nil, err
	}
	cp := *p
	if p.Cors != nil {
		cp.Cors = &corsList{Rules: append([]corsRule(nil), p.Cors.Rules...)}
	}
	return &cp, nil
}

// parseStored returns the defaults with a stored document's sections
// merged over them; an unreadable document counts as none.
func parseStored(data []byte) *serviceProperties {
	p := defaultServiceProperties()
	var stored serviceProperties
	if len(data) > 0 && xml.Unmarshal(data, &stored) == nil {
		merge(p, &stored)
	}
	return p
}

// REQUIRES: s.mu held.
func (s *serviceStore) getLocked(ctx context.Context, account string) (*serviceProperties, error) {
	p, ok := s.m[account]
	if s.keeper != nil {
		if ok && s.clk.Now().Sub(s.at[account]) < propsRefresh {
			return p, nil
		}
		data, err := s.keeper.ServiceProperties(ctx, account)
		if err != nil {
			if ok {
				return p, nil // the last document read, until the keeper answers
			}
			return nil, fmt.Errorf("queuestorage: reading the service properties: %w", err)
		}
		p = parseStored(data)
		s.m[account], s.at[account] = p, s.clk.Now()
		return p, nil
	}
	if !ok {
		var data []byte
		if s.dir != "" {
			data, _ = os.ReadFile(s.path(account))
		}
		p = parseStored(data)
		s.m[account] = p
	}
	return p, nil
}

// merge copies the sections present in in over p.
func merge(p, in *serviceProperties) {
	if in.Logging != nil {
		p.Logging = in.Logging
	}
	if in.HourMetrics != nil {
		p.HourMetrics = in.HourMetrics
	}
	if in.MinuteMetrics != nil {
		p.MinuteMetrics = in.MinuteMetrics
	}
	if in.Cors != nil {
		p.Cors = in.Cors
	}
}

// set merges in and persists the result.
func (s *serviceStore) set(ctx context.Context, account string, in *serviceProperties) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keeper != nil {
		var p *serviceProperties
		err := s.keeper.UpdateServiceProperties(ctx, account, func(old []byte) []byte {
			p = parseStored(old)
			merge(p, in)
			return marshalDoc(p)
		})
		if err != nil {
			return fmt.Errorf("queuestorage: storing the service properties: %w", err)
		}
		s.m[account], s.at[account] = p, s.clk.Now()
		return nil
	}
	p, err := s.getLocked(ctx, account)
	if err != nil {
		return err
	}
	cp := *p
	p = &cp
	merge(p, in)
	if s.dir != "" {
		if err := os.MkdirAll(s.dir, 0o755); err != nil {
			return fmt.Errorf("queuestorage: service properties: %w", err)
		}
		tmp := s.path(account) + ".tmp"
		if err := os.WriteFile(tmp, marshalDoc(p), 0o644); err != nil {
			return fmt.Errorf("queuestorage: service properties: %w", err)
		}
		if err := os.Rename(tmp, s.path(account)); err != nil {
			return fmt.Errorf("queuestorage: service properties: %w", err)
		}
	}
	s.m[account] = p
	return nil
}

func (h *Handler) getServiceProperties(q *request) error {
	props, err := h.props.get(q.r.Context(), q.account)
	if err != nil {
		return err
	}
	return writeXML(q, http.StatusOK, marshalDoc(props))
}

var corsMethods = map[string]bool{"DELETE": true, "GET": true, "HEAD": true, "MERGE": true, "POST": true, "OPTIONS": true, "PUT": true, "PATCH": true}

// setServiceProperties serves PUT ?restype=service&comp=properties: 202.
func (h *Handler) setServiceProperties(q *request) error {
	body, err := h.readBody(q)
	if err != nil {
		return err
	}
	var in serviceProperties
	if err := strictUnmarshal(body, &in); err != nil {
		return xmlError(err)
	}
	if in.Cors != nil {
		if len(in.Cors.Rules) > 5 {
			return newError("InvalidXmlDocument", "Reason", fmt.Sprintf("%d CORS rules; at most 5 are allowed", len(in.Cors.Rules)))
		}
		for _, r := range in.Cors.Rules {
			if r.MaxAgeInSeconds < 0 {
				return newError("InvalidXmlDocument", "Reason", "MaxAgeInSeconds must not be negative")
			}
			if strings.TrimSpace(r.AllowedOrigins) == "" || strings.TrimSpace(r.AllowedMethods) == "" {
				return newError("InvalidXmlDocument", "Reason", "a CORS rule needs AllowedOrigins and AllowedMethods")
			}
			for _, m := range splitList(r.AllowedMethods) {
				if !corsMethods[strings.ToUpper(m)] {
					return newError("InvalidXmlDocument", "Reason", fmt.Sprintf("%q is not an HTTP method CORS rules may allow", m))
				}
			}
		}
	}
	if err := h.props.set(q.r.Context(), q.account, &in); err != nil {
		return err
	}
	return writeEmpty(q, http.StatusAccepted)
}

type serviceStats struct {
	XMLName        xml.Name `xml:"StorageServiceStats"`
	GeoReplication struct {
		Status       string `xml:"Status"`
		LastSyncTime string `xml:"LastSyncTime"`
	} `xml:"GeoReplication"`
}

// getServiceStats answers on the primary too (§2.3, lenient).
func (h *Handler) getServiceStats(q *request) error {
	var st serviceStats
	st.GeoReplication.Status = "live"
	st.GeoReplication.LastSyncTime = rfc1123(q.now)
	return writeXML(q, http.StatusOK, marshalDoc(st))
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// matchCORS returns the first rule allowing origin and method.
func matchCORS(rules []corsRule, origin, method string) (corsRule, bool) {
	for _, r := range rules {
		originOK := false
		for _, o := range splitList(r.AllowedOrigins) {
			if o == "*" || o == origin {
				originOK = true
				break
			}
		}
		if !originOK {
			continue
		}
		for _, m := range splitList(r.AllowedMethods) {
			if strings.EqualFold(m, method) {
				return r, true
			}
		}
	}
	return corsRule{}, false
}

// headerAllowed reports whether name matches an allowed-headers list
// (exact, "*" or a prefix wildcard such as x-ms-meta-*).
func headerAllowed(list []string, name string) bool {
	name = strings.ToLower(name)
	for _, a := range list {
		a = strings.ToLower(a)
		if a == "*" || a == name || strings.HasSuffix(a, "*") && strings.HasPrefix(name, strings.TrimSuffix(a, "*")) {
			return true
		}
	}
	return false
}

// preflight answers a CORS preflight OPTIONS request (§2.15).
func (h *Handler) preflight(q *request) error {
	origin := q.r.Header.Get("Origin")
	method := q.r.Header.Get("Access-Control-Request-Method")
	if origin == "" || method == "" {
		name := "Origin"
		if origin != "" {
			name = "Access-Control-Request-Method"
		}
		return newError("InvalidHeaderValue", "HeaderName", name, "HeaderValue", "").withMessage("A CORS preflight request needs the Origin and Access-Control-Request-Method headers.")
	}
	props, err := h.props.get(q.r.Context(), q.account)
	if err != nil {
		return err
	}
	var rules []corsRule
	if props.Cors != nil {
		rules = props.Cors.Rules
	}
	rule, ok := matchCORS(rules, origin, method)
	if !ok {
		return newError("CorsPreflightFailure")
	}
	allowed := splitList(rule.AllowedHeaders)
	var reqHeaders []string
	for _, hname := range splitList(q.r.Header.Get("Access-Control-Request-Headers")) {
		if !headerAllowed(allowed, hname) {
			return newError("CorsPreflightFailure").withMessage("CORS rule does not allow the request header " + hname + ".")
		}
		reqHeaders = append(reqHeaders, hname)
	}
	hd := q.w.Header()
	if strings.Contains(rule.AllowedOrigins, "*") && !containsExact(splitList(rule.AllowedOrigins), origin) {
		hd.Set("Access-Control-Allow-Origin", "*")
	} else {
		hd.Set("Access-Control-Allow-Origin", origin)
		hd.Set("Access-Control-Allow-Credentials", "true")
		hd.Add("Vary", "Origin")
	}
	hd.Set("Access-Control-Allow-Methods", strings.ToUpper(method))
	if len(reqHeaders) > 0 {
		hd.Set("Access-Control-Allow-Headers", strings.Join(reqHeaders, ","))
	}
	hd.Set("Access-Control-Max-Age", strconv.FormatInt(rule.MaxAgeInSeconds, 10))
	return writeEmpty(q, http.StatusOK)
}

func containsExact(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// corsHeaders adds the CORS answer headers to an actual request from a
// browser whose origin a rule allows.
func (h *Handler) corsHeaders(q *request) {
	origin := q.r.Header.Get("Origin")
	if origin == "" {
		return
	}
	props, err := h.props.get(q.r.Context(), q.account)
	if err != nil || props.Cors == nil {
		return // without the rules, no CORS headers (the request goes on)
	}
	rule, ok := matchCORS(props.Cors.Rules, origin, q.r.Method)
	if !ok {
		return
	}
	hd := q.w.Header()
	if containsExact(splitList(rule.AllowedOrigins), origin) {
		hd.Set("Access-Control-Allow-Origin", origin)
		hd.Set("Access-Control-Allow-Credentials", "true")
	} else {
		hd.Set("Access-Control-Allow-Origin", "*")
	}
	hd.Add("Vary", "Origin")
	if rule.ExposedHeaders != "" {
		hd.Set("Access-Control-Expose-Headers", rule.ExposedHeaders)
	}
}
