// Package testutil holds the helpers that the tests of the provider, auth,
// store and fake-upstream packages share: golden files under testdata (see
// [Golden]), sending a signed [schema.Upstream] over net/http (see [Send]),
// and real servers started for a test: redis-server ([StartRedis]) and
// PostgreSQL ([StartPostgres]) on loopback ports.
//
// It is imported only from _test.go files and test-support packages. It
// depends on the standard library, providers/schema and a PostgreSQL client
// (pgx) alone, so that the fakes in internal/fakes can use it without
// importing the provider packages they stand in for.
package testutil
