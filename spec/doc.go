// Package spec reads the tasks.md of a prAxIs OS spec into a Plan: the
// phases of the work and the tasks of each phase, which the engine serves
// as the dynamic phases of a workflow such as spec_execution_v1.
//
// A tasks.md is parsed as CommonMark by goldmark (block structure only),
// and read as people write it. A phase is a heading "Phase N: Name" at any
// level; it ends at the next heading of its level or above, except its own
// sub-headings ("Phase N Tasks"). A task is a heading "Task N.M: Name" or a
// list item "- **Task N.M**: Name" (with a checkbox, an estimate such as
// "(S - 1 hour)", and its fields as sub-items), where N is the number of
// its phase. Paragraphs that open with a bold label ("**Description:**",
// "**Acceptance Criteria:**", ...) are fields; a label followed by a list
// takes the list's items. The lists of a "Phase N Validation Gate" section
// are phase N's gate, wherever it stands.
//
// Sections after the phases mention phases and tasks without defining
// them: a phase heading whose number is already defined opens a section
// that defines nothing, and a task met outside its phase stands for the
// task of that ID. A file with no phase, a task defined twice in its
// phase, and a task whose ID no phase defines are errors that name the
// line. A "```markdown" block holding fenced blocks of its own ends where
// its author closed it.
//
// A Loader caches the Plan of each tasks.md in a shard.Cache and notices
// edits by the file's modification time and size, looked at once per
// LoaderConfig.Recheck, as checkpoint.Loader does for gates. Render fills a
// phase or task template's placeholders ([PHASE_NUMBER], [TASK_NAME],
// [VALIDATION_GATE], ...) from a Plan.
package spec
