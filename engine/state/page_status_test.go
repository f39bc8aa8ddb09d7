package state

import "testing"

func TestSessionStatusPrecedence(t *testing.T) {
	for _, tc := range []struct {
		status             Status
		paused, gateFailed bool
		want               Status
	}{
		{StatusActive, false, false, StatusActive},
		{StatusActive, false, true, StatusGateFailed},
		{StatusActive, true, false, StatusPaused},
		{StatusActive, true, true, StatusPaused},
		{StatusCompleted, true, true, StatusCompleted},
		{StatusCompleted, false, false, StatusCompleted},
	} {
		if got := SessionStatus(tc.status, tc.paused, tc.gateFailed); got != tc.want {
			t.Errorf("SessionStatus(%s, paused %t, gate failed %t) = %s, want %s", tc.status, tc.paused, tc.gateFailed, got, tc.want)
		}
		sum := &SessionSummary{Status: tc.status, Paused: tc.paused, GateFailed: tc.gateFailed}
		for _, filter := range []Status{StatusGateFailed, StatusPaused} {
			if got := Matches(sum, filter); got != (tc.want == filter) {
				t.Errorf("Matches(%+v, %s) = %t, want %t", *sum, filter, got, !got)
			}
		}
	}
}
