package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"hotrow/hub/wire"
)

// apiError is an HTTP error with the JSON body {"error": {code, message}}.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func badRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, wire.CodeBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *apiError {
	return &apiError{http.StatusNotFound, wire.CodeNotFound, fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, err *apiError) {
	writeJSON(w, err.status, map[string]any{"error": map[string]string{"code": err.code, "message": err.message}})
}

// maxBody bounds request bodies.
const maxBody = 64 << 10

// decodeBody reads one JSON object into v, rejecting unknown fields,
// trailing data and oversized bodies with a message saying which.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) *apiError {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return &apiError{http.StatusRequestEntityTooLarge, wire.CodeTooLarge, fmt.Sprintf("the body is over %d bytes", maxBody)}
		case errors.Is(err, io.EOF):
			return badRequest("the body must be a JSON object")
		}
		return badRequest("invalid JSON body: %v", err)
	}
	if dec.More() {
		return badRequest("the body must hold one JSON object")
	}
	return nil
}
