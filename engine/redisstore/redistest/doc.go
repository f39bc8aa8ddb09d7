// Package redistest runs real redis-server processes for tests: one per
// test or one shared by a test package, each on a free port of 127.0.0.1,
// without persistence, killed at cleanup. It can restart a server (losing
// its data, as a restart without persistence does), pause it with SIGSTOP
// and resume it with SIGCONT, and put a TCP proxy in front of it that cuts
// a client off or loses one reply.
//
// When redis-server is not installed the tests that ask for one are
// skipped, unless the environment sets REDIS_REQUIRED=1: then they fail,
// so that CI cannot pass without running them.
package redistest
