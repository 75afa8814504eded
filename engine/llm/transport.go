package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxErrorBody is how much of a failed answer is read for its message.
const maxErrorBody = 64 << 10

// transport posts JSON to a provider and classifies what goes wrong.
type transport struct {
	client  *http.Client
	key     string
	timeout time.Duration
}

// post sends body as JSON to url with header and decodes a 2xx answer into out. model is
// named in 404 messages; protocol in messages about answers of the wrong shape.
func (t *transport) post(ctx context.Context, url string, header http.Header, body any, model, protocol string, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return &Error{Type: TypeBadRequest, Message: fmt.Sprintf("encode the request: %v", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return &Error{Type: TypeBadRequest, Message: fmt.Sprintf("build the request: %v", err)}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	target := safeURLString(url)

	resp, err := t.client.Do(req)
	if err != nil {
		return transportError(err, target, t.timeout)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		errBody, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return statusError(resp, errBody, model, time.Now())
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return transportError(err, target, t.timeout)
	}
	if len(raw) > maxResponseBytes {
		return &Error{Status: resp.StatusCode, Type: TypeBadResponse,
			Message: fmt.Sprintf("the answer from %s is larger than %d MiB", target, maxResponseBytes>>20)}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &Error{Status: resp.StatusCode, Type: TypeBadResponse,
			Message: fmt.Sprintf("the answer from %s is not a %s response (is the base URL right?): %v", target, protocol, err)}
	}
	return nil
}
