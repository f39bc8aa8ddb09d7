package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mcpflow/mcpflow/engine/filestore"
	"github.com/mcpflow/mcpflow/server"
)

// serverSettingNames are the flags that set the server settings its
// refusals name, in the words HTTP and stdio clients read: a body over the
// limit is refused with "... (--max-body)", for example.
var serverSettingNames = map[string]string{
	server.SettingMaxBodyBytes:     "--max-body",
	server.SettingMaxSessions:      "--max-sessions",
	server.SettingMaxStreams:       "--max-streams",
	server.SettingMaxSubscriptions: "--max-subscriptions",
	server.SettingAllowedHosts:     "--allowed-hosts",
	server.SettingAllowedOrigins:   "--allowed-origins",
	server.SettingToken:            "--token or MCPFLOW_TOKEN",
}

// listenFlags names the flags behind the fields of a server.ListenError.
var listenFlags = map[string]string{"HTTPAddr": "http", "AddrFile": "addr-file", "DiscoveryFile": "state"}

// withFlagRemedy appends to err what the operator does about it in terms
// of the flags (or environment variables) they set, where there is such a
// remedy; n names a flag as this command was given it (--state, or
// MCPFLOW_STATE when it came from the environment). The engine's messages
// and the server's messages say what is wrong; this is the one place that
// names flags for them.
func withFlagRemedy(err error, n func(string) string) error {
	if le, ok := errors.AsType[*server.ListenError](err); ok {
		flag := n(listenFlags[le.Field])
		if le.Field == "DiscoveryFile" {
			flag = "in " + flag // the discovery file is inside the state folder
		}
		return fmt.Errorf("server: %s (%s): %w", le.Op, flag, le.Err)
	}
	if errors.Is(err, server.ErrTokenRequired) {
		return fmt.Errorf("%w; set a token (--token or MCPFLOW_TOKEN) or bind to 127.0.0.1", err)
	}
	if errors.Is(err, filestore.ErrFolderInUse) {
		state := n("state")
		sep := "="
		if strings.HasPrefix(state, "--") {
			sep = " "
		}
		return fmt.Errorf("%w; stop that server, or give this one another %s folder (or %s%sredis://... to share sessions between servers)", err, state, state, sep)
	}
	return err
}
