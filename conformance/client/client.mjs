// Drives the mcpflow binary with the official MCP TypeScript client (v2,
// pinned in package.json) in protocol revision 2026-07-28, over streamable
// HTTP and over stdio, one scenario at a time. Each scenario reports pass
// or fail on its own line; scenarios named in expected-failures.json (with
// the reason) must fail, and every other one must pass.
//
//   node client.mjs BINARY WORKDIR WORKFLOWS
//
// WORKFLOWS is a folder holding the bug_fix workflow (the repository's
// engine/workflows), copied into each project.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync, createWriteStream, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { Client, ResourceNotFoundError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

const REVISION = '2026-07-28';
const LOG_LEVEL_KEY = 'io.modelcontextprotocol/logLevel';
// A notification that must come: how long to wait for it. The standards
// watcher reindexes a changed file within a second or so.
const EVENT_TIMEOUT_MS = 10_000;

const [bin, work, workflows] = process.argv.slice(2);
if (!bin || !work || !workflows) {
	console.error('usage: node client.mjs BINARY WORKDIR WORKFLOWS');
	process.exit(2);
}
const expected = JSON.parse(readFileSync(new URL('./expected-failures.json', import.meta.url), 'utf8'));

// A project with its own standards (so that the watcher has files to see
// change) and its own workflows folder holding bug_fix (so that a workflow
// can be added).
function project(name) {
	const root = join(work, name);
	const std = join(root, '.mcpflow', 'standards');
	mkdirSync(std, { recursive: true });
	cpSync(join(workflows, 'bug_fix'), join(root, '.mcpflow', 'workflows', 'bug_fix'), { recursive: true });
	writeFileSync(join(std, 'testing.md'), '# Testing\n\n## Table tests\n\nWrite table-driven tests for parsers.\n');
	writeFileSync(join(std, 'reviews.md'), '# Reviews\n\n## Checklist\n\nEvery change gets a second reader.\n');
	return root;
}

function assert(cond, msg) {
	if (!cond) throw new Error(msg);
}

// events records the notifications a client receives, for the scenarios
// to wait for.
class Events {
	constructor() {
		this.list = [];
		this.waiters = [];
	}
	push(method, params) {
		this.list.push({ method, params });
		for (const w of [...this.waiters]) w();
	}
	// waitFor resolves with the first notification from index `from` on
	// that matches, or rejects after EVENT_TIMEOUT_MS.
	waitFor(from, match, what) {
		return new Promise((resolve, reject) => {
			const check = () => {
				const hit = this.list.slice(from).find(e => match(e.method, e.params));
				if (hit) {
					clearTimeout(timer);
					this.waiters = this.waiters.filter(w => w !== check);
					resolve(hit);
				}
			};
			const timer = setTimeout(() => {
				this.waiters = this.waiters.filter(w => w !== check);
				reject(new Error(`no ${what} within ${EVENT_TIMEOUT_MS / 1000} s; got: ${JSON.stringify(this.list.slice(from).map(e => e.method))}`));
			}, EVENT_TIMEOUT_MS);
			this.waiters.push(check);
			check();
		});
	}
}

function newClient(events) {
	const client = new Client(
		{ name: 'mcpflow-client-test', version: '1' },
		{ versionNegotiation: { mode: { pin: REVISION } } },
	);
	for (const method of ['notifications/message', 'notifications/resources/updated', 'notifications/resources/list_changed', 'notifications/prompts/list_changed']) {
		client.setNotificationHandler(method, n => events.push(method, n.params));
	}
	return client;
}

async function waitForFile(path, child, log) {
	for (let i = 0; i < 200; i++) {
		if (existsSync(path) && readFileSync(path, 'utf8').trim() !== '') return readFileSync(path, 'utf8').trim();
		if (child.exitCode !== null) throw new Error(`the server exited with status ${child.exitCode}; see ${log}`);
		await delay(50);
	}
	throw new Error(`the server did not write ${path} within 10 s; see ${log}`);
}

// connectHTTP starts "mcpflow serve --transport http" on a free loopback
// port and connects to it.
async function connectHTTP(events) {
	const root = project('http');
	const addr = join(work, 'http.addr');
	const log = join(work, 'http.log');
	const child = spawn(bin, ['serve', '--transport', 'http', '--http', '127.0.0.1:0', '--root', root, '--addr-file', addr, '--log-level', 'debug'], {
		stdio: ['ignore', 'ignore', 'pipe'],
	});
	child.stderr.pipe(createWriteStream(log));
	const url = await waitForFile(addr, child, log);
	const client = newClient(events);
	await client.connect(new StreamableHTTPClientTransport(new URL(url)));
	return {
		client, root, log,
		async close() {
			await client.close();
			child.kill('SIGTERM');
			if (child.exitCode === null) await new Promise(r => child.once('exit', r));
		},
	};
}

// connectStdio lets the client start "mcpflow serve --transport stdio".
async function connectStdio(events) {
	const root = project('stdio');
	const log = join(work, 'stdio.log');
	const transport = new StdioClientTransport({
		command: bin,
		args: ['serve', '--transport', 'stdio', '--root', root, '--log-level', 'debug'],
		stderr: 'pipe',
	});
	transport.stderr.pipe(createWriteStream(log));
	const client = newClient(events);
	await client.connect(transport);
	return { client, root, log, close: () => client.close() };
}

function structured(res, tool) {
	assert(!res.isError, `${tool}: ${JSON.stringify(res.content)}`);
	return res.structuredContent;
}

// The evidence each phase of the built-in bug_fix workflow asks for.
const bugFixEvidence = {
	1: { repro_steps: ['go test ./parser -run TestEmpty'], reproduced: true, severity: 2, environment: { go: '1.26' }, expected: 'an error', actual: 'a panic' },
	2: { root_cause: 'the parser indexed an empty slice without a length check', regression_test: 'TestParseEmptyInput', fails_without_fix: true, files_changed: 2 },
	3: { tests_passed: 120, tests_failed: 0, original_repro_fixed: true, confidence: 0.9, test_report: '.mcpflow/test-report.tap' },
};

// writeTestReport writes the TAP report bug_fix's phase 3 reads (120
// passing tests), dated a minute ahead so that it is newer than the phase.
function writeTestReport(root) {
	const lines = ['TAP version 13', '1..120'];
	for (let i = 1; i <= 120; i++) lines.push(`ok ${i} - case ${i}`);
	const file = join(root, '.mcpflow', 'test-report.tap');
	writeFileSync(file, lines.join('\n') + '\n');
	const later = new Date(Date.now() + 60_000);
	utimesSync(file, later, later);
}

const scenarios = {
	// server/discover negotiated the pinned revision.
	async discover({ client }) {
		assert(client.getNegotiatedProtocolVersion() === REVISION, `negotiated ${client.getNegotiatedProtocolVersion()}`);
		assert(client.getProtocolEra() === 'modern', `era ${client.getProtocolEra()}`);
		assert(client.getServerVersion()?.name === 'mcpflow', `server ${JSON.stringify(client.getServerVersion())}`);
		const tools = await client.listTools();
		assert(tools.tools.some(t => t.name === 'start_workflow'), 'tools/list lacks start_workflow');
	},

	// Capabilities advertise only what works in this revision: no
	// resources.subscribe (subscriptions/listen replaces it), and the
	// primitives this server serves.
	async capabilities({ client }) {
		const caps = client.getServerCapabilities() ?? {};
		for (const c of ['tools', 'resources', 'prompts', 'completions']) assert(caps[c], `capability ${c} missing: ${JSON.stringify(caps)}`);
		assert(!caps.resources?.subscribe, `resources.subscribe advertised, but resources/subscribe is not in ${REVISION}: ${JSON.stringify(caps)}`);
	},

	// resources/list, resources/templates/list, resources/read of a
	// standards file and of a workflow file.
	async resources({ client }) {
		const list = await client.listResources();
		const uris = list.resources.map(r => r.uri);
		assert(uris.includes('standards://testing.md') && uris.includes('standards://reviews.md'), `resources/list: ${uris}`);
		const read = await client.readResource({ uri: 'standards://testing.md' });
		assert(read.contents[0]?.text?.includes('table-driven'), `resources/read: ${JSON.stringify(read.contents)}`);
		const tpl = await client.listResourceTemplates();
		const t = tpl.resourceTemplates.find(r => r.uriTemplate.startsWith('workflow://'));
		assert(t, `resources/templates/list: ${JSON.stringify(tpl.resourceTemplates)}`);
		const phase = await client.readResource({ uri: 'workflow://bug_fix/phases/1/phase.md' });
		assert(phase.contents[0]?.text?.includes('Reproduce'), `workflow file: ${JSON.stringify(phase.contents).slice(0, 200)}`);
	},

	// An unknown resource is -32002 (resource not found).
	async 'resource-not-found'({ client }) {
		let err;
		try {
			await client.readResource({ uri: 'standards://no-such-file.md' }, { cacheMode: 'bypass' });
		} catch (e) {
			err = e;
		}
		assert(err, 'reading an unknown resource succeeded');
		// The server answers -32002 with data {uri}. The SDK turns a
		// resource-not-found error (-32002, or -32602 with data {uri}) into a
		// ResourceNotFoundError, whose code it reports as -32602: the code on
		// the wire is checked by the Go tests (server/modern_test.go).
		assert(err instanceof ResourceNotFoundError && err.uri === 'standards://no-such-file.md',
			`not a resource-not-found error: ${err.constructor?.name} code ${err.code} (${err.message}) data ${JSON.stringify(err.data)}`);
	},

	// prompts/list and prompts/get, for a workflow and for resuming one.
	async prompts({ client }) {
		const list = await client.listPrompts();
		const names = list.prompts.map(p => p.name);
		assert(names.includes('bug_fix') && names.includes('resume_workflow'), `prompts/list: ${names}`);
		const p = await client.getPrompt({ name: 'bug_fix', arguments: { target_file: 'parser/parse.go' } });
		const text = p.messages.map(m => m.content.text).join('\n');
		assert(text.includes('parser/parse.go') && text.includes('bug_fix'), `prompts/get: ${text.slice(0, 200)}`);
		let err;
		try {
			await client.getPrompt({ name: 'bug_fix', arguments: {} });
		} catch (e) {
			err = e;
		}
		assert(err && err.message.includes('target_file'), `a missing argument: ${err?.message}`);
	},

	// completion/complete for the workflow file template and a prompt.
	async completion({ client }) {
		const ref = { type: 'ref/resource', uri: 'workflow://{workflow_type}/phases/{phase}/{file}' };
		const wf = await client.complete({ ref, argument: { name: 'workflow_type', value: 'bu' } });
		assert(JSON.stringify(wf.completion.values) === '["bug_fix"]', `workflow_type: ${JSON.stringify(wf.completion)}`);
		const phase = await client.complete({ ref, argument: { name: 'phase', value: '' }, context: { arguments: { workflow_type: 'bug_fix' } } });
		assert(JSON.stringify(phase.completion.values) === '["1","2","3"]', `phase: ${JSON.stringify(phase.completion)}`);
		const file = await client.complete({ ref, argument: { name: 'file', value: 'gate' }, context: { arguments: { workflow_type: 'bug_fix', phase: '2' } } });
		assert(file.completion.values.includes('gate-definition.yaml'), `file: ${JSON.stringify(file.completion)}`);
	},

	// A whole bug_fix workflow: start, read each phase, a refused gate,
	// complete every phase, read the state.
	async workflow({ client, root }) {
		const started = structured(await client.callTool({ name: 'start_workflow', arguments: { workflow_type: 'bug_fix', target_file: 'parser/parse.go' } }), 'start_workflow');
		const id = started.session_id;
		assert(started.current_phase === 1, `start_workflow: ${JSON.stringify(started).slice(0, 200)}`);
		const refused = await client.callTool({ name: 'complete_phase', arguments: { session_id: id, phase: 1, evidence: { reproduced: true } } });
		assert(refused.isError || refused.structuredContent?.checkpoint_passed === false, `incomplete evidence passed the gate: ${JSON.stringify(refused)}`);
		for (const phase of [1, 2, 3]) {
			const cur = structured(await client.callTool({ name: 'get_current_phase', arguments: { session_id: id } }), 'get_current_phase');
			assert(cur.current_phase === phase, `get_current_phase: ${cur.current_phase}, want ${phase}`);
			if (phase === 3) {
				assert(cur.checks?.[0]?.kind === 'test_report', `phase 3 lists its test-report check: ${JSON.stringify(cur.checks)}`);
				writeTestReport(root);
			}
			const done = structured(await client.callTool({ name: 'complete_phase', arguments: { session_id: id, phase, evidence: bugFixEvidence[phase] } }), `complete_phase ${phase}`);
			assert(done.checkpoint_passed !== false, `complete_phase ${phase}: ${JSON.stringify(done)}`);
		}
		const state = structured(await client.callTool({ name: 'get_workflow_state', arguments: { session_id: id } }), 'get_workflow_state');
		assert(JSON.stringify(state.completed_phases) === '[1,2,3]', `completed_phases: ${JSON.stringify(state.completed_phases)}`);
		assert(state.is_complete === true || state.status === 'completed' || state.completed === true, `state: ${JSON.stringify(state).slice(0, 300)}`);
	},

	// A retried complete_phase (2026-07-28 has no stream resumption: a
	// client whose answer was lost asks again) answers as the first call
	// did; with other evidence, it says the phase is already completed.
	async 'retry-complete-phase'({ client }) {
		const started = structured(await client.callTool({ name: 'start_workflow', arguments: { workflow_type: 'bug_fix', target_file: 'retry.go' } }), 'start_workflow');
		const args = { session_id: started.session_id, phase: 1, evidence: bugFixEvidence[1] };
		const first = structured(await client.callTool({ name: 'complete_phase', arguments: args }), 'complete_phase');
		const again = structured(await client.callTool({ name: 'complete_phase', arguments: args }), 'complete_phase retried');
		assert(JSON.stringify(again) === JSON.stringify(first), `the retry answered differently:\n${JSON.stringify(first)}\n${JSON.stringify(again)}`);
		const other = await client.callTool({ name: 'complete_phase', arguments: { ...args, evidence: { ...bugFixEvidence[1], severity: 3 } } });
		const text = JSON.stringify(other.content);
		assert(other.isError && /already completed/i.test(text), `other evidence for a completed phase: ${text}`);
	},

	// A request that asks for logs in its _meta gets the notifications its
	// own work causes (a refused gate) at that level or above; one that
	// does not ask gets none.
	async 'logs-per-request'({ client, events }) {
		const started = structured(await client.callTool({ name: 'start_workflow', arguments: { workflow_type: 'bug_fix', target_file: 'logs.go' } }), 'start_workflow');
		const id = started.session_id;
		const gateFailed = e => e.method === 'notifications/message' && e.params?.data?.event === 'gate_failed' && e.params?.data?.session_id === id;
		let from = events.list.length;
		await client.callTool({ name: 'complete_phase', arguments: { session_id: id, phase: 1, evidence: {} } });
		assert(!events.list.slice(from).some(gateFailed), 'a request that asked for no logs got a gate_failed notification');
		from = events.list.length;
		await client.callTool({ name: 'complete_phase', arguments: { session_id: id, phase: 1, evidence: {} }, _meta: { [LOG_LEVEL_KEY]: 'warning' } });
		const got = events.list.slice(from).find(gateFailed);
		assert(got, `no gate_failed notifications/message for a request with _meta ${LOG_LEVEL_KEY}=warning; got: ${JSON.stringify(events.list.slice(from))}`);
		assert(got.params.level === 'warning', `level ${got.params.level}`);
		// At a higher level than the event's, nothing.
		from = events.list.length;
		await client.callTool({ name: 'complete_phase', arguments: { session_id: id, phase: 1, evidence: {} }, _meta: { [LOG_LEVEL_KEY]: 'error' } });
		assert(!events.list.slice(from).some(gateFailed), 'a request that asked for errors only got a warning');
	},

	// subscriptions/listen: a changed standards file sends
	// notifications/resources/updated for its URI.
	async 'listen-resource-updated'({ client, events, root }) {
		const uri = 'standards://testing.md';
		const sub = await client.listen({ resourceSubscriptions: [uri] });
		try {
			assert(sub.honoredFilter.resourceSubscriptions?.includes(uri), `honoredFilter: ${JSON.stringify(sub.honoredFilter)}`);
			const from = events.list.length;
			writeFileSync(join(root, '.mcpflow', 'standards', 'testing.md'), '# Testing\n\n## Table tests\n\nWrite table-driven tests for every parser.\n');
			await events.waitFor(from, (m, p) => m === 'notifications/resources/updated' && p?.uri === uri, `notifications/resources/updated for ${uri}`);
		} finally {
			await sub.close();
		}
	},

	// subscriptions/listen: an added standards file sends
	// notifications/resources/list_changed.
	async 'listen-resources-list-changed'({ client, events, root }) {
		const sub = await client.listen({ resourcesListChanged: true });
		try {
			assert(sub.honoredFilter.resourcesListChanged === true, `honoredFilter: ${JSON.stringify(sub.honoredFilter)}`);
			const from = events.list.length;
			writeFileSync(join(root, '.mcpflow', 'standards', 'logging.md'), '# Logging\n\n## Levels\n\nErrors at error level.\n');
			await events.waitFor(from, m => m === 'notifications/resources/list_changed', 'notifications/resources/list_changed');
		} finally {
			await sub.close();
		}
	},

	// subscriptions/listen: a workflow added to the folder sends
	// notifications/prompts/list_changed (the server watches the folder),
	// with no prompts request in between; the list then has it.
	async 'listen-prompts-list-changed'({ client, events, root }) {
		const sub = await client.listen({ promptsListChanged: true });
		try {
			assert(sub.honoredFilter.promptsListChanged === true, `honoredFilter: ${JSON.stringify(sub.honoredFilter)}`);
			const from = events.list.length;
			const wf = join(root, '.mcpflow', 'workflows');
			cpSync(join(wf, 'bug_fix'), join(wf, 'hotfix'), { recursive: true });
			const meta = join(wf, 'hotfix', 'metadata.json');
			writeFileSync(meta, readFileSync(meta, 'utf8').replace('"workflow_type": "bug_fix"', '"workflow_type": "hotfix"'));
			await events.waitFor(from, m => m === 'notifications/prompts/list_changed', 'notifications/prompts/list_changed');
			const list = await client.listPrompts(undefined, { cacheMode: 'bypass' });
			assert(list.prompts.some(p => p.name === 'hotfix'), `prompts/list lacks the added workflow: ${list.prompts.map(p => p.name)}`);
		} finally {
			await sub.close();
		}
	},
};

const transports = { http: connectHTTP, stdio: connectStdio };
let failed = 0;
let passed = 0;
let xfailed = 0;
for (const [tname, connect] of Object.entries(transports)) {
	const events = new Events();
	let conn;
	try {
		conn = await connect(events);
	} catch (e) {
		console.log(`  FAIL  ${tname}: connecting in ${REVISION}: ${e.message}`);
		failed += Object.keys(scenarios).length;
		continue;
	}
	for (const [name, run] of Object.entries(scenarios)) {
		const id = `${tname}/${name}`;
		let err;
		try {
			await run({ client: conn.client, events, root: conn.root });
		} catch (e) {
			err = e;
		}
		const reason = expected[id];
		if (!err && reason === undefined) {
			passed++;
			console.log(`  pass  ${id}`);
		} else if (err && reason !== undefined) {
			xfailed++;
			console.log(`  xfail ${id}: ${err.message.split('\n')[0].slice(0, 100)} (expected: ${reason.split(':')[0]})`);
		} else if (err) {
			failed++;
			console.log(`  FAIL  ${id}: ${err.message}`);
		} else {
			failed++;
			console.log(`  FAIL  ${id}: passes, but expected-failures.json lists it (${reason}): remove it from there`);
		}
	}
	await conn.close().catch(e => console.log(`  (closing ${tname}: ${e.message})`));
	if (failed > 0) console.log(`  the ${tname} server's log is ${conn.log}`);
}
const stale = Object.keys(expected).filter(id => {
	const [t, s] = id.split('/');
	return !(t in transports) || !(s in scenarios);
});
for (const id of stale) {
	failed++;
	console.log(`  FAIL  expected-failures.json names ${id}, which is no scenario`);
}
console.log(`client: ${passed} passed, ${failed} failed, ${xfailed} failed as expected-failures.json expects`);
process.exit(failed > 0 ? 1 : 0);
