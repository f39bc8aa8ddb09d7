package server

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckBind(t *testing.T) {
	cases := []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:4242", "", true},
		{"127.0.0.1:0", "", true},
		{"localhost:4242", "", true},
		{"[::1]:4242", "", true},
		{"127.1.2.3:80", "", true},
		{"0.0.0.0:4242", "", false},
		{":4242", "", false},
		{"[::]:4242", "", false},
		{"192.168.1.5:4242", "", false},
		{"example.com:4242", "", false},
		{"0.0.0.0:4242", "tok", true},
		{"192.168.1.5:4242", "tok", true},
		{"127.0.0.1", "", false},
		{"127.0.0.1:", "", false},
		{"not an address", "", false},
	}
	for _, c := range cases {
		err := CheckBind(c.addr, c.token)
		if c.ok {
			require.NoError(t, err, c.addr)
			continue
		}
		require.Error(t, err, c.addr)
		require.ErrorIs(t, err, ErrInvalidConfig)
		assert.Contains(t, err.Error(), c.addr)
	}
}
