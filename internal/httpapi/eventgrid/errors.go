package eventgrid

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/batonmq/baton/internal/broker"
)

// errorRow is one row of the face's one error table (STYLE.md §4.3): a broker
// code, the HTTP status and Azure error code it becomes.
type errorRow struct {
	broker broker.Code
	status int
	code   string
}

// errorTable maps every broker code. Status codes that azcore retries (408,
// 429, 5xx) are used only for conditions that are really transient.
var errorTable = []errorRow{
	{broker.CodeNotFound, http.StatusNotFound, "NotFound"},
	{broker.CodeEntityExists, http.StatusConflict, "Conflict"},
	{broker.CodeLockLost, http.StatusBadRequest, "TokenLost"},
	{broker.CodeSessionLockLost, http.StatusBadRequest, "TokenLost"},
	{broker.CodeSessionCannotBeLocked, http.StatusConflict, "Conflict"},
	{broker.CodeMessageNotFound, http.StatusNotFound, "NotFound"},
	{broker.CodeMessageTooLarge, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge"},
	{broker.CodeQuotaExceeded, http.StatusForbidden, "QuotaExceeded"},
	{broker.CodeEntityDisabled, http.StatusForbidden, "Forbidden"},
	{broker.CodeInvalidArgument, http.StatusBadRequest, "BadRequest"},
	{broker.CodeNotImplemented, http.StatusNotImplemented, "NotImplemented"},
	{broker.CodeStoreUnavailable, http.StatusServiceUnavailable, "ServiceUnavailable"},
	{broker.CodeClosed, http.StatusServiceUnavailable, "ServiceUnavailable"},
	{broker.CodeTimeout, http.StatusServiceUnavailable, "ServiceUnavailable"},
	{broker.CodeUnknown, http.StatusInternalServerError, "InternalServerError"},
}

// apiError is an error answered with Azure's envelope.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func newError(status int, code, msg string) *apiError {
	return &apiError{status: status, code: code, msg: msg}
}

// toAPIError maps any error the handlers meet onto the envelope.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var ie *inputError
	if errors.As(err, &ie) {
		return &apiError{status: ie.status, code: ie.code, msg: ie.msg}
	}
	c := broker.CodeOf(err)
	for _, r := range errorTable {
		if r.broker == c {
			msg := err.Error()
			var be *broker.Error
			if errors.As(err, &be) {
				msg = be.Message
			}
			return &apiError{status: r.status, code: r.code, msg: msg}
		}
	}
	return &apiError{status: http.StatusInternalServerError, code: "InternalServerError", msg: err.Error()}
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type errorBody struct {
	Error struct {
		Code    string        `json:"code"`
		Message string        `json:"message"`
		Details []errorDetail `json:"details,omitempty"`
	} `json:"error"`
}

// writeError writes {"error":{code,message,details}} with x-ms-error-code.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	var b errorBody
	b.Error.Code, b.Error.Message = ae.code, ae.msg+" Report '"+w.Header().Get("x-ms-request-id")+"' if you file an issue."
	if ae.status == http.StatusBadRequest {
		b.Error.Details = []errorDetail{{Code: "InputJsonInvalid", Message: ae.msg}}
	}
	body, _ := json.Marshal(b)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("x-ms-error-code", ae.code)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(ae.status)
	_, _ = w.Write(body)
}

// writeJSON writes a 200 with a JSON body.
func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
