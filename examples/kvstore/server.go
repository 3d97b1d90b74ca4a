package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mjpitz/myago/paxos"
)

// Limits of the HTTP API.
const (
	maxKeyBytes    = 256
	requestTimeout = 5 * time.Second
)

// api serves the key-value store of one member over HTTP JSON:
//
//	PUT    /kv/{key}  {"value": "..."}  -> {"key", "value", "position"}
//	GET    /kv/{key}                    -> {"key", "value", "position"} or 404
//	DELETE /kv/{key}                    -> {"key", "position"}
//	GET    /status                      -> the member's paxos.Status
//
// Writes are log entries; reads go through a barrier, so they are
// linearizable on every member.
type api struct {
	node          *paxos.Node
	store         *store
	maxValueBytes int
}

type kvReply struct {
	Key      string `json:"key"`
	Value    string `json:"value,omitempty"`
	Position uint64 `json:"position"`
}

type errReply struct {
	Error string `json:"error"`
}

func (a *api) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /kv/{key}", a.put)
	mux.HandleFunc("GET /kv/{key}", a.get)
	mux.HandleFunc("DELETE /kv/{key}", a.del)
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, a.node.Status())
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, format string, args ...interface{}) {
	writeJSON(w, code, errReply{Error: fmt.Sprintf(format, args...)})
}

func validKey(k string) error {
	switch {
	case k == "":
		return errors.New("empty key")
	case len(k) > maxKeyBytes:
		return fmt.Errorf("key longer than %d bytes", maxKeyBytes)
	case !utf8.ValidString(k) || strings.ContainsAny(k, "\x00"):
		return errors.New("key is not valid UTF-8 text")
	}
	return nil
}

// propose writes o through the log and returns its position.
func (a *api) propose(ctx context.Context, w http.ResponseWriter, o op) (uint64, bool) {
	pos, err := a.node.ProposeIndex(ctx, o.encode())
	if err != nil {
		code := http.StatusServiceUnavailable
		if errors.Is(err, context.DeadlineExceeded) {
			code = http.StatusGatewayTimeout
		}
		fail(w, code, "write not confirmed (it may or may not have happened: %v)", err)
		return 0, false
	}
	return pos, true
}

func (a *api) put(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if err := validKey(key); err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(a.maxValueBytes)+1024))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		fail(w, http.StatusRequestEntityTooLarge, "value larger than %d bytes", a.maxValueBytes)
		return
	}
	if err != nil {
		fail(w, http.StatusBadRequest, "reading the body: %v", err)
		return
	}
	var in struct {
		Value *string `json:"value"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.Value == nil {
		fail(w, http.StatusBadRequest, `the body must be {"value": "..."}`)
		return
	}
	if len(*in.Value) > a.maxValueBytes {
		fail(w, http.StatusRequestEntityTooLarge, "value larger than %d bytes", a.maxValueBytes)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	pos, ok := a.propose(ctx, w, op{Op: "put", Key: key, Value: *in.Value})
	if ok {
		writeJSON(w, http.StatusOK, kvReply{Key: key, Value: *in.Value, Position: pos})
	}
}

func (a *api) del(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if err := validKey(key); err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	if pos, ok := a.propose(ctx, w, op{Op: "delete", Key: key}); ok {
		writeJSON(w, http.StatusOK, kvReply{Key: key, Position: pos})
	}
}

func (a *api) get(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if err := validKey(key); err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	pos, err := a.node.Barrier(ctx)
	if err == nil {
		err = a.node.WaitRecorded(ctx, pos)
	}
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "no linearizable read: %v", err)
		return
	}
	v, ok, applied := a.store.get(key)
	if !ok {
		writeJSON(w, http.StatusNotFound, kvReply{Key: key, Position: applied})
		return
	}
	writeJSON(w, http.StatusOK, kvReply{Key: key, Value: v, Position: applied})
}
