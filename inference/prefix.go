package inference

import (
	"hash/fnv"

	"github.com/tidwall/gjson"
)

// prefixBlock is the unit of prefix affinity: only whole blocks of the
// prompt's start are hashed, as a model server caches whole KV blocks (16
// tokens, some 64 bytes of text).
const prefixBlock = 64

// prefixHash hashes the first whole blocks (at most limit bytes) of the
// prompt in body: the raw JSON of the chat messages, or the completion
// prompt. It is read without decoding the body. ok is false when the prompt
// is shorter than one block: such requests get no affinity.
func prefixHash(body []byte, limit int) (h uint64, ok bool) {
	v := gjson.GetBytes(body, "messages")
	if !v.Exists() {
		v = gjson.GetBytes(body, "prompt")
	}
	raw := v.Raw
	n := min(len(raw), limit) / prefixBlock * prefixBlock
	if n == 0 {
		return 0, false
	}
	return hashBytes([]byte(raw[:n])), true
}

// hashBytes is FNV-1a: stable across processes, so that every replica of
// the gateway sends a prefix to the same server.
func hashBytes(b []byte) uint64 {
	f := fnv.New64a()
	_, _ = f.Write(b)
	return f.Sum64()
}

// mix is splitmix64's finalizer: it spreads a combined hash, so that
// rendezvous hashing (the highest mix(prefix ^ endpoint) wins) moves only
// the prefixes of an endpoint that leaves or joins.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
