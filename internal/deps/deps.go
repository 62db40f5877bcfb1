//go:build tools

// Package deps pins the project's direct dependencies in go.mod while the
// packages that use them are being written, so that `go mod tidy` keeps them.
package deps

import (
	_ "cloud.google.com/go/auth/credentials"
	_ "github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	_ "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/credentials"
	_ "github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/openai/openai-go/v3"
	_ "github.com/pkoukk/tiktoken-go"
	_ "github.com/pkoukk/tiktoken-go-loader"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/tidwall/gjson"
	_ "github.com/tidwall/sjson"
	_ "github.com/valyala/fasthttp"
	_ "go.yaml.in/yaml/v3"
)
