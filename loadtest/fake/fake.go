// Package fake is the fake model upstream of the load tests: a fasthttp
// handler answering the OpenAI chat completions API (JSON and SSE) and the
// Bedrock Converse API with fixed bodies, cheaply enough never to be the
// bottleneck of a benchmark.
package fake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
)

// Config sets the shape of streamed answers.
type Config struct {
	// Chunks is the number of content chunks of a streamed answer.
	Chunks int
	// Gap is the pause between two chunks.
	Gap time.Duration
	// Delay is the pause before the first chunk (the upstream's own TTFT).
	Delay time.Duration
	// Response selects the non-streamed chat answer: "" or ResponseFixed for
	// the 643-byte answer the harness has always used, ResponseOpenAI for a
	// 591-byte answer shaped as OpenAI's are today (usage with
	// prompt_tokens_details and completion_tokens_details,
	// system_fingerprint, refusal, logprobs).
	Response string
}

// The non-streamed answers of Config.Response.
const (
	ResponseFixed  = "fixed"
	ResponseOpenAI = "openai"
)

// Completion returns the non-streamed chat answer named by response (see
// Config.Response), or an error naming the known ones.
func Completion(response string) ([]byte, error) {
	switch response {
	case "", ResponseFixed:
		return chatCompletion, nil
	case ResponseOpenAI:
		return openAICompletion, nil
	}
	return nil, fmt.Errorf("fake: unknown response %q (want %s or %s)", response, ResponseFixed, ResponseOpenAI)
}

// Server is the fake upstream. Its zero value is not usable: call New.
// Handle is safe for concurrent use.
type Server struct {
	cfg      Config
	answer   []byte // the non-streamed chat answer
	requests atomic.Int64
	streams  atomic.Int64
	start    time.Time
}

// New returns a Server answering as cfg says. An unknown cfg.Response is an
// error.
func New(cfg Config) (*Server, error) {
	if cfg.Chunks <= 0 {
		cfg.Chunks = 20
	}
	answer, err := Completion(cfg.Response)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, answer: answer, start: time.Now()}, nil
}

// ChatCompletion is the fixed non-streamed answer (about 600 bytes).
var chatCompletion = []byte(`{"id":"chatcmpl-loadtest0000000000000000000001","object":"chat.completion","created":1760000000,` +
	`"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_loadtest01","choices":[{"index":0,"message":{"role":"assistant",` +
	`"content":"The quick brown fox jumps over the lazy dog. This fixed answer is returned by the Switchyard load-test ` +
	`upstream for every request, so that the measured cost is the gateway's and not the model's. It is about six ` +
	`hundred bytes long, close to a short real answer.","refusal":null},"logprobs":null,"finish_reason":"stop"}],` +
	`"usage":{"prompt_tokens":25,"completion_tokens":52,"total_tokens":77},"service_tier":"default"}`)

// openAICompletion is a 591-byte answer as OpenAI's API sends one today
// (compact JSON, the members in OpenAI's order): a short message with
// refusal, logprobs, usage with its two details objects, and
// system_fingerprint last, so that a usage lookup walks the whole answer.
var openAICompletion = []byte(`{"id":"chatcmpl-BjT4loadtest0000000000000001","object":"chat.completion","created":1760000000,` +
	`"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant",` +
	`"content":"Hi! How can I help you with your code today?","refusal":null},` +
	`"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":25,"completion_tokens":12,"total_tokens":37,` +
	`"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,` +
	`"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},` +
	`"system_fingerprint":"fp_loadtest01"}`)

// converseAnswer is the fixed Bedrock Converse answer.
var converseAnswer = []byte(`{"output":{"message":{"role":"assistant","content":[{"text":"The quick brown fox jumps over ` +
	`the lazy dog. This fixed answer is returned by the Switchyard load-test Bedrock fake for every request."}]}},` +
	`"stopReason":"end_turn","usage":{"inputTokens":25,"outputTokens":30,"totalTokens":55},"metrics":{"latencyMs":1}}`)

var (
	pathChat  = []byte("/v1/chat/completions")
	pathStats = []byte("/stats")
	prefModel = []byte("/model/")
	sufConv   = []byte("/converse")
)

// Handle serves one request. Every path but /stats and the Bedrock paths is
// answered as a chat completion, so that plain-HTTP passthrough routes work.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	switch {
	case bytes.Equal(path, pathStats):
		s.writeStats(ctx)
		return
	case bytes.HasPrefix(path, prefModel) && bytes.HasSuffix(path, sufConv):
		s.requests.Add(1)
		ctx.SetContentType("application/json")
		ctx.SetBody(converseAnswer)
		return
	}
	s.requests.Add(1)
	if ctx.IsPost() && bytes.Equal(path, pathChat) && streamRequested(ctx.PostBody()) {
		s.streams.Add(1)
		s.stream(ctx)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(s.answer)
}

// streamRequested reports a body with "stream": true. The load generator puts
// stream last, as the SDKs do: the flag is looked for in the body's tail
// first, so that the fake does not walk a 256 KB prompt per request (its CPU
// would then limit the large-body scenarios); other bodies are looked up.
func streamRequested(body []byte) bool {
	tail := body[max(0, len(body)-96):] // room for a gateway's stream_options
	switch {
	case bytes.Contains(tail, streamTrue):
		return true
	case bytes.Contains(tail, streamFalse):
		return false
	}
	return gjson.GetBytes(body, "stream").Bool()
}

var (
	streamTrue  = []byte(`"stream":true`)
	streamFalse = []byte(`"stream":false`)
)

// Stats is the JSON body of GET /stats.
type Stats struct {
	// Requests counts the answered requests (streamed or not).
	Requests int64 `json:"requests"`
	// Streams counts the streamed answers.
	Streams int64 `json:"streams"`
	// CPUSeconds is the user+system CPU time of the whole process.
	CPUSeconds float64 `json:"cpu_seconds"`
	// MaxRSSBytes is the peak resident set size of the process.
	MaxRSSBytes int64 `json:"max_rss_bytes"`
	// UptimeSeconds is the time since New.
	UptimeSeconds float64 `json:"uptime_seconds"`
}

// Snapshot returns the counters and the process's resource usage.
func (s *Server) Snapshot() Stats {
	st := Stats{Requests: s.requests.Load(), Streams: s.streams.Load(), UptimeSeconds: time.Since(s.start).Seconds()}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		st.CPUSeconds = tv(ru.Utime) + tv(ru.Stime)
		st.MaxRSSBytes = ru.Maxrss * 1024
	}
	return st
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func (s *Server) writeStats(ctx *fasthttp.RequestCtx) {
	b, err := json.Marshal(s.Snapshot())
	if err != nil {
		ctx.Error("stats: "+err.Error(), fasthttp.StatusInternalServerError)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// ChunkEvent returns the SSE event of content chunk i (exported for tests).
func ChunkEvent(i int) []byte {
	b := make([]byte, 0, 256)
	b = append(b, `data: {"id":"chatcmpl-loadtest","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{`...)
	if i == 0 {
		b = append(b, `"role":"assistant",`...)
	}
	b = append(b, `"content":"tok`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, ` "},"finish_reason":null}]}`+"\n\n"...)
	return b
}

var (
	finalEvent = []byte(`data: {"id":"chatcmpl-loadtest","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n")
	usageEvent = []byte(`data: {"id":"chatcmpl-loadtest","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":25,"completion_tokens":20,"total_tokens":45}}` + "\n\n")
	doneEvent  = []byte("data: [DONE]\n\n")
)
