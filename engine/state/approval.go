package state

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// ApprovalKey is the key of SessionState.Metadata under which a state file
// keeps the approval data (Awaiting and Decisions): prAxIs OS's
// WorkflowState.from_dict keeps metadata as it is, so a file with
// approvals stays readable by it.
const ApprovalKey = "mcpflow_approval"

// The decisions a human can make on a phase that awaits approval.
const (
	DecisionApproved = "approved"
	DecisionRejected = "rejected"
)

// Awaiting is a phase whose evidence passed its gate and that waits for a
// human's decision.
type Awaiting struct {
	Phase       int       `json:"phase"`
	RequestedAt time.Time `json:"requested_at"`
}

// Decision is one human decision on a phase that awaited approval, as the
// session's history keeps it.
type Decision struct {
	Phase    int       `json:"phase"`
	Decision string    `json:"decision"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	Comment  string    `json:"comment,omitempty"`
	// Evidence is the evidence the decision was made on.
	Evidence map[string]any `json:"evidence"`
}

// approvalDoc is the form of the approval data in metadata.
type approvalDoc struct {
	Awaiting  *Awaiting  `json:"awaiting,omitempty"`
	Decisions []Decision `json:"decisions,omitempty"`
}

// LastDecision returns the latest decision on phase, if any.
func (st *SessionState) LastDecision(phase int) (Decision, bool) {
	for _, d := range slices.Backward(st.Decisions) {
		if d.Phase == phase {
			return d, true
		}
	}
	return Decision{}, false
}

// metadataWithApproval returns the metadata to encode for st: md, plus
// the approval data under ApprovalKey when there is any (in a copy: md
// may be st.Metadata).
func metadataWithApproval(md map[string]any, st *SessionState) map[string]any {
	if st.Awaiting == nil && len(st.Decisions) == 0 {
		return md
	}
	m := maps.Clone(md)
	if m == nil {
		m = map[string]any{}
	}
	m[ApprovalKey] = approvalDoc{Awaiting: st.Awaiting, Decisions: st.Decisions}
	return m
}

// takeApproval moves the approval data out of st.Metadata into Awaiting
// and Decisions.
func takeApproval(st *SessionState) error {
	raw, ok := st.Metadata[ApprovalKey]
	if !ok {
		return nil
	}
	// st.Metadata was just decoded: this state owns it.
	delete(st.Metadata, ApprovalKey)
	b, err := json.Marshal(raw)
	if err != nil {
		return fmt.Errorf("metadata.%s: %w", ApprovalKey, err)
	}
	var doc approvalDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("metadata.%s: %w", ApprovalKey, err)
	}
	st.Awaiting, st.Decisions = doc.Awaiting, doc.Decisions
	return nil
}
