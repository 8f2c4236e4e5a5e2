package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"hotrow/hub/wire"
	"hotrow/rooms"
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
	if err.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hotrow"`)
	}
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

// serviceError maps a room service's error to its HTTP answer: a field
// error 400, no such room 404, a taken id 409, anything else (a store
// failure, logged here) 503. what names the room for the message ("auction
// lamp").
func serviceError(log *slog.Logger, err error, what string) *apiError {
	var fe *rooms.FieldError
	switch {
	case errors.As(err, &fe):
		return badRequest("%s", fe.Error())
	case errors.Is(err, rooms.ErrNotFound):
		return notFound("%s does not exist", what)
	case errors.Is(err, rooms.ErrExists):
		return &apiError{http.StatusConflict, "conflict", what + " already exists"}
	}
	log.Error("room service failed", "room", what, "err", err)
	return &apiError{http.StatusServiceUnavailable, wire.CodeUnavailable, "the store could not answer for " + what + "; try again"}
}

// roomID reads the {id} path value, which must be a valid room id.
func roomID(r *http.Request) (string, *apiError) {
	id := r.PathValue("id")
	if !rooms.ValidID(id) {
		return "", badRequest("the id in the path %s", rooms.IDRule)
	}
	return id, nil
}
