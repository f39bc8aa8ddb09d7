//go:build !unix

package regfile

// openFlags is empty where opening cannot block on a named pipe in the
// way Unix does.
const openFlags = 0
