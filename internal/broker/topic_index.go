package broker

import (
	"slices"
	"strings"

	"github.com/batonmq/baton/internal/filter"
)

// ruleIndex finds the subscriptions a message can match without evaluating
// every subscription's rules. A subscription whose every rule has a
// required equality (filter.Equality: "region = 'eu'", a correlation
// filter's CorrelationId, ...) is filed under those property values; the
// others are scanned for every message. Built from a topic's subscriptions
// under the topic's mu and dropped when subscriptions or rules change.
type ruleIndex struct {
	scan []*entity // evaluated for every message
	keys []eqKey   // the properties the index looks at
	by   map[eqKey]map[string][]*entity
	// props: some rule reads message properties (not a True or False
	// filter, or has an action).
	props bool
}

// eqKey names an indexed property.
type eqKey struct {
	sys  filter.SysProp
	name string
}

func buildRuleIndex(subs []*entity) *ruleIndex {
	ix := &ruleIndex{by: make(map[eqKey]map[string][]*entity)}
	for _, s := range subs {
		for _, r := range s.rules {
			if !r.always && !r.never || r.action != nil {
				ix.props = true
			}
		}
		if len(s.rules) == 0 {
			continue // matches nothing
		}
		indexable := true
		for _, r := range s.rules {
			if !r.indexed && !r.never {
				indexable = false
				break
			}
		}
		if !indexable {
			ix.scan = append(ix.scan, s)
			continue
		}
		for _, r := range s.rules {
			if r.never {
				continue
			}
			k := eqKey{r.eq.Sys, r.eq.Name}
			m := ix.by[k]
			if m == nil {
				m = make(map[string][]*entity)
				ix.by[k] = m
				ix.keys = append(ix.keys, k)
			}
			if l := m[r.eq.Value]; len(l) == 0 || l[len(l)-1] != s {
				m[r.eq.Value] = append(l, s)
			}
		}
	}
	return ix
}

// candidates returns, sorted by key, the subscriptions v's message may
// match. buf is reused.
func (ix *ruleIndex) candidates(v *msgView, buf []*entity) []*entity {
	out := append(buf[:0], ix.scan...)
	for _, k := range ix.keys {
		eq := filter.Equality{Sys: k.sys, Name: k.name}
		val, ok := eq.Lookup(v)
		if !ok {
			continue
		}
		out = append(out, ix.by[k][val]...)
	}
	if len(ix.keys) == 0 {
		return out // scan is already in key order
	}
	slices.SortFunc(out, func(a, b *entity) int { return strings.Compare(a.key, b.key) })
	return slices.Compact(out)
}
