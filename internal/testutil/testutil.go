// Package testutil holds the helpers that the tests of the provider, auth,
// store and fake-upstream packages share: golden files under testdata (see
// [Golden]), sending a signed [schema.Upstream] over net/http (see [Send]),
// and a real redis-server on a loopback port (see [StartRedis]).
//
// It is imported only from _test.go files. It depends on the standard library
// and providers/schema alone, so that the fakes in internal/fakes can use it
// without importing the provider packages they stand in for.
package testutil
