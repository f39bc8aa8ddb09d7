package server

import (
	"errors"
	"fmt"
)

// The Config fields that a refusal sent to a client can ask the operator to
// change: the keys of Config.SettingNames.
const (
	SettingMaxBodyBytes = "MaxBodyBytes"
	SettingMaxSessions  = "MaxSessions"
	SettingMaxStreams   = "MaxStreams"
	// SettingMaxSubscriptions names Config.MaxSubscriptions.
	SettingMaxSubscriptions = "MaxSubscriptions"
	SettingAllowedHosts     = "AllowedHosts"
	SettingAllowedOrigins   = "AllowedOrigins"
	SettingToken            = "Token"
)

// paren returns " (name)", or "" when name is empty.
func paren(name string) string {
	if name == "" {
		return ""
	}
	return " (" + name + ")"
}

// ErrTokenRequired is wrapped, with ErrInvalidConfig, by the error of an
// HTTP address that is not loopback when Config.Token is empty.
var ErrTokenRequired = errors.New("server: a token is required off loopback")

// ListenError is the error Listen returns when it cannot listen on
// Config.HTTPAddr or cannot write Config.AddrFile or Config.DiscoveryFile.
// Field names that Config field, so that a caller can say which of its own
// settings to change.
type ListenError struct {
	// Field is "HTTPAddr", "AddrFile" or "DiscoveryFile".
	Field string
	// Op is what failed with its target, such as "listen on
	// 127.0.0.1:4242" or "write the address file /tmp/addr".
	Op string
	// Err is the cause.
	Err error
}

// Error says what failed and why.
func (e *ListenError) Error() string {
	return fmt.Sprintf("server: %s: %v", e.Op, e.Err)
}

// Unwrap returns the cause.
func (e *ListenError) Unwrap() error { return e.Err }
