package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/workflows"
	"github.com/mcpflow/mcpflow/internal/filecache"
)

// metadataCache caches each workflow's parsed metadata.json by workflow
// name. Every call compares the file's stamp; only a changed file is read
// and parsed again (see filecache).
type metadataCache = filecache.Cache[checkpoint.WorkflowName, struct{}, *workflows.Metadata]

// openMetadata builds the metadata.json cache over the workflows folder.
// A cached *workflows.Metadata is shared by every caller and must not be
// modified.
func (e *Engine) openMetadata(cfg Config) error {
	var err error
	e.meta, err = filecache.New(filecache.Config[checkpoint.WorkflowName, struct{}, *workflows.Metadata]{
		FS: e.wfFS,
		// 0: the stamp is compared on every call, so that an edit is
		// live on the next start, as the design promises; only a
		// changed file is read and parsed.
		Recheck:  0,
		Clock:    cfg.Clock,
		MaxBytes: workflows.MaxMetadataBytes,
		Name: func(name checkpoint.WorkflowName, _ struct{}) (string, error) {
			return workflows.MetadataPath(name), nil
		},
		Parse: func(name checkpoint.WorkflowName, _ struct{}, _ string, data []byte) (*workflows.Metadata, error) {
			return workflows.DecodeMetadata(name, data)
		},
	})
	return err
}

// metadata returns workflow name's parsed metadata.json, from the cache,
// with the errors of workflows.ReadMetadata. name was checked where it
// entered the program; metadata takes it as it is.
func (e *Engine) metadata(ctx context.Context, name checkpoint.WorkflowName) (*workflows.Metadata, error) {
	if err := zeroName(name); err != nil {
		return nil, err
	}
	m, err := e.meta.Get(ctx, name, struct{}{})
	if err == nil {
		return m, nil
	}
	var fe *filecache.FileError
	switch {
	case !errors.As(err, &fe):
		return nil, err
	case fe.Mode.IsDir():
		// Said as workflows.ReadFile says it.
		return nil, workflows.MetadataReadError(name.String(), fmt.Errorf("%s is not a regular file", fe.Name))
	}
	return nil, workflows.MetadataReadError(name.String(), fe.Err)
}

// zeroName refuses the zero WorkflowName, which library code can hold
// without having parsed a name: the error is the one ParseWorkflowName
// gives an empty name, naming workflow_type.
func zeroName(name checkpoint.WorkflowName) error {
	if !name.IsZero() {
		return nil
	}
	_, err := workflows.ParseName("")
	return err
}
