// Package spec reads the tasks.md of a prAxIs OS spec into a Plan: the
// phases of the work and the tasks of each phase, which the engine serves
// as the dynamic phases of a workflow such as spec_execution_v1.
//
// A tasks.md is parsed as CommonMark by goldmark (block structure only).
// Its phases are the level-2 headings that read "Phase N: Name" and its
// tasks the level-4 headings that read "Task N.M: Name", where N is the
// number of the enclosing phase and M the task's number within it. Under
// each heading, paragraphs that open with a bold label ("**Description:**",
// "**Acceptance Criteria:**", "**Validation Gate:**", ...) are fields; a
// label followed by a list takes the list's items. A task may also be
// written as a list item, "- **Task N.M**: Name", with its fields as
// sub-items, the form prAxIs OS's parsing guide shows. Any other level-2
// heading ends the phase before it. A file with no phase, a task outside a
// phase or under another phase's number, and a task or phase number used
// twice are errors that name the line.
//
// A Loader caches the Plan of each tasks.md in a shard.Cache and notices
// edits by the file's modification time and size, looked at once per
// LoaderConfig.Recheck, as checkpoint.Loader does for gates. Render fills a
// phase or task template's placeholders ([PHASE_NUMBER], [TASK_NAME],
// [VALIDATION_GATE], ...) from a Plan.
package spec
