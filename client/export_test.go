package client

// WithClock replaces the client's clock, for tests.
var WithClock = withClock
