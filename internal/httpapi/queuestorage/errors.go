package queuestorage

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/batonmq/baton/internal/broker"
)

// errorSpec is one row of the error table: an Azure error code, its HTTP
// status and standard message, and the broker code it translates (if any).
// scopeMessage marks rows that apply to message operations only.
type errorSpec struct {
	code         string
	status       int
	message      string
	broker       broker.Code
	scopeMessage bool
}

// errorTable is the face's one error table (STYLE.md §4.3): every Azure
// code the face emits, and the translation of broker codes. Rows with a
// broker code are searched in order, so the message-scope row for a code
// comes before its general row.
var errorTable = []errorSpec{
	{code: "QueueNotFound", status: 404, message: "The specified queue does not exist.", broker: broker.CodeNotFound},
	{code: "QueueAlreadyExists", status: 409, message: "The specified queue already exists.", broker: broker.CodeEntityExists},
	{code: "MessageNotFound", status: 404, message: "The specified message does not exist.", broker: broker.CodeMessageNotFound},
	{code: "PopReceiptMismatch", status: 400, message: "The specified pop receipt did not match the pop receipt for a dequeued message.", broker: broker.CodeInvalidArgument, scopeMessage: true},
	{code: "InvalidInput", status: 400, message: "One of the request inputs is not valid.", broker: broker.CodeInvalidArgument},
	{code: "InvalidInput", status: 400, message: "One of the request inputs is not valid: a Baton limit was reached.", broker: broker.CodeQuotaExceeded},
	{code: "MessageNotFound", status: 404, message: "The specified message does not exist.", broker: broker.CodeLockLost},
	{code: "NotImplemented", status: 501, message: "Baton does not implement this operation yet.", broker: broker.CodeNotImplemented},
	{code: "RequestBodyTooLarge", status: 413, message: "The request body is too large and exceeds the maximum permissible limit.", broker: broker.CodeMessageTooLarge},
	{code: "ServerBusy", status: 503, message: "The server is currently unable to receive requests. Please retry your request.", broker: broker.CodeStoreUnavailable},
	{code: "ServerBusy", status: 503, message: "The server is shutting down. Please retry your request.", broker: broker.CodeClosed},
	{code: "OperationTimedOut", status: 500, message: "Operation could not be completed within the specified time.", broker: broker.CodeTimeout},
	{code: "QueueDisabled", status: 409, message: "The specified queue has been disabled by the administrator.", broker: broker.CodeEntityDisabled},
	{code: "InternalError", status: 500, message: "The server encountered an internal error. Please retry the request.", broker: broker.CodeUnknown},
	{code: "OutOfRangeInput", status: 400, message: "The specified resource name length is not within the permissible limits."},
	{code: "InvalidResourceName", status: 400, message: "The specified resource name contains invalid characters."},
	{code: "InvalidQueryParameterValue", status: 400, message: "Value for one of the query parameters specified in the request URI is invalid."},
	{code: "OutOfRangeQueryParameterValue", status: 400, message: "One of the query parameters specified in the request URI is outside the permissible range."},
	{code: "MissingRequiredQueryParameter", status: 400, message: "A query parameter that's mandatory for this request is not specified."},
	{code: "InvalidXmlDocument", status: 400, message: "XML specified is not syntactically valid."},
	{code: "InvalidMetadata", status: 400, message: "The metadata specified is invalid. It has characters that are not permitted."},
	{code: "EmptyMetadataKey", status: 400, message: "The key for one of the metadata key-value pairs is empty."},
	{code: "MetadataTooLarge", status: 400, message: "The size of the specified metadata exceeds the maximum size permitted."},
	{code: "InvalidAuthenticationInfo", status: 400, message: "Authentication information is not given in the correct format. Check the value of Authorization header."},
	{code: "AuthenticationFailed", status: 403, message: "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature."},
	{code: "NoAuthenticationInformation", status: 401, message: "Server failed to authenticate the request. Please refer to the information in the www-authenticate header."},
	{code: "AuthorizationFailure", status: 403, message: "This request is not authorized to perform this operation."},
	{code: "AuthorizationPermissionMismatch", status: 403, message: "This request is not authorized to perform this operation using this permission."},
	{code: "AuthorizationResourceTypeMismatch", status: 403, message: "This request is not authorized to perform this operation using this resource type."},
	{code: "AuthorizationServiceMismatch", status: 403, message: "This request is not authorized to perform this operation using this service."},
	{code: "AuthorizationProtocolMismatch", status: 403, message: "This request is not authorized to perform this operation using this protocol."},
	{code: "InvalidHeaderValue", status: 400, message: "The value for one of the HTTP headers is not in the correct format."},
	{code: "CorsPreflightFailure", status: 403, message: "CORS not enabled or no matching rule found for this request."},
	{code: "InvalidUri", status: 400, message: "The requested URI does not represent any resource on the server."},
	{code: "UnsupportedHttpVerb", status: 405, message: "The resource doesn't support specified Http Verb."},
	{code: "ResourceNotFound", status: 404, message: "The specified resource does not exist."},
}

// specOf returns the table row of an Azure code.
func specOf(code string) errorSpec {
	for _, s := range errorTable {
		if s.code == code {
			return s
		}
	}
	return specOf("InternalError")
}

// apiError is an Azure error answer: a code from errorTable, an optional
// message replacing the standard one, and detail elements.
type apiError struct {
	code    string
	message string      // "" → the table's message
	details [][2]string // extra elements after <Message>, in order
	cause   error       // logged for 5xx
}

func (e *apiError) Error() string {
	msg := e.message
	if msg == "" {
		msg = specOf(e.code).message
	}
	return "queuestorage: " + e.code + ": " + msg
}

func (e *apiError) Unwrap() error { return e.cause }

// newError returns an apiError; details are name/value pairs.
func newError(code string, details ...string) *apiError {
	e := &apiError{code: code}
	for i := 0; i+1 < len(details); i += 2 {
		e.details = append(e.details, [2]string{details[i], details[i+1]})
	}
	return e
}

// withMessage replaces the standard message.
func (e *apiError) withMessage(msg string) *apiError {
	e.message = msg
	return e
}

// fromBroker translates a broker error through errorTable; message says
// whether the operation was a message operation (a malformed pop receipt is
// then PopReceiptMismatch).
func fromBroker(err error, message bool) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	code := broker.CodeOf(err)
	for _, s := range errorTable {
		if s.broker != code || s.code == "" || (s.scopeMessage && !message) {
			continue
		}
		if s.broker == broker.CodeUnknown && err == nil {
			continue
		}
		e := &apiError{code: s.code, cause: err}
		var be *broker.Error
		if errors.As(err, &be) && s.status < 500 && s.code != "QueueNotFound" && s.code != "MessageNotFound" && s.code != "QueueAlreadyExists" {
			e.details = append(e.details, [2]string{"Reason", be.Message})
		}
		return e
	}
	return &apiError{code: "InternalError", cause: err}
}

// queryError is the error for a bad query parameter value.
func queryError(code, name, value, reason string) *apiError {
	e := newError(code, "QueryParameterName", name, "QueryParameterValue", value)
	if reason != "" {
		e.details = append(e.details, [2]string{"Reason", reason})
	}
	return e
}

// rangeError is OutOfRangeQueryParameterValue with the allowed bounds.
func rangeError(name, value string, lo, hi int64) *apiError {
	return newError("OutOfRangeQueryParameterValue", "QueryParameterName", name, "QueryParameterValue", value,
		"MinimumAllowed", strconv.FormatInt(lo, 10), "MaximumAllowed", strconv.FormatInt(hi, 10))
}

// errorBody renders the <Error> document (§5.1).
func errorBody(e *apiError, requestID, when string) []byte {
	msg := e.message
	if msg == "" {
		msg = specOf(e.code).message
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	b.WriteString("<Error><Code>")
	escape(&b, e.code)
	b.WriteString("</Code><Message>")
	escape(&b, msg+"\nRequestId:"+requestID+"\nTime:"+when)
	b.WriteString("</Message>")
	for _, d := range e.details {
		b.WriteString("<" + d[0] + ">")
		escape(&b, d[1])
		b.WriteString("</" + d[0] + ">")
	}
	b.WriteString("</Error>")
	return []byte(b.String())
}

// escape writes s as XML character data the way Azure does: only '&',
// '<' and '>' become entities; newlines and tabs stay literal. (The JS
// SDK's parser decodes the named entities but not numeric references such
// as "&#xA;", which encoding/xml would write for a newline.)
func escape(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteByte(c)
		}
	}
}

// statusOf returns the HTTP status of an Azure code.
func statusOf(code string) int {
	if s := specOf(code); s.code == code {
		return s.status
	}
	return http.StatusInternalServerError
}
