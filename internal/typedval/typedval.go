// Package typedval reads a value written with a Service Bus type name —
// string, long, double, bool, datetime or timespan — as rule parameters and
// correlation-filter properties arrive in Baton's JSON configuration, its
// JSON management API and its CLI. It is a leaf package.
package typedval

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Parse converts v (a string, a JSON number or a boolean) to the type named
// typ: string, long (int, int64, integer), double (float, float64,
// number), bool (boolean), datetime (time; RFC 3339) or timespan (duration;
// read by parseDuration). The result is a string, int64, float64, bool,
// time.Time in UTC or time.Duration.
func Parse(typ string, v any, parseDuration func(string) (time.Duration, error)) (any, error) {
	var text string
	switch x := v.(type) {
	case string:
		text = x
	case json.Number:
		text = x.String()
	case float64:
		text = strconv.FormatFloat(x, 'g', -1, 64)
	case int64:
		text = strconv.FormatInt(x, 10)
	case bool:
		text = strconv.FormatBool(x)
	case nil:
		return nil, errors.New("value is null; a null value needs no type")
	default:
		return nil, fmt.Errorf("a typed value must be a string, number or boolean, not %T", v)
	}
	switch strings.ToLower(typ) {
	case "string":
		return text, nil
	case "long", "int", "int64", "integer":
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", truncate(text))
		}
		return i, nil
	case "double", "float", "float64", "number":
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("%q is not a finite number", truncate(text))
		}
		return f, nil
	case "bool", "boolean":
		b, err := strconv.ParseBool(text)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", truncate(text))
		}
		return b, nil
	case "datetime", "time":
		t, err := time.Parse(time.RFC3339Nano, text)
		if err != nil {
			return nil, fmt.Errorf("%q is not an RFC 3339 time such as 2026-01-02T03:04:05Z", truncate(text))
		}
		return t.UTC(), nil
	case "timespan", "duration":
		d, err := parseDuration(text)
		if err != nil {
			return nil, err
		}
		return d, nil
	case "":
		return nil, errors.New("type is missing: use string, long, double, bool, datetime or timespan")
	}
	return nil, fmt.Errorf("type %q is not string, long, double, bool, datetime or timespan", truncate(typ))
}

// truncate keeps error messages short for hostile input.
func truncate(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
