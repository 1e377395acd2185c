// js_peer.mjs MODE COUNT SOURCE EVENT: hl-bench's JavaScript peers. Prints COUNT lines, each the
// nanoseconds of one fresh request: a new JS context, SOURCE (a script defining handler) run in
// it, then JSON.stringify(handler(JSON.parse(EVENT))). MODE:
//   node-vm         node:vm's createContext + runInContext (V8 contexts, no isolation by VM)
//   qjs-emscripten  quickjs-emscripten (QuickJS compiled to WebAssembly): a new runtime and
//                   context per request; its package path comes from $HL_BENCH_QJS_EMSCRIPTEN
import vm from 'node:vm';

const [mode, countText, source, event] = process.argv.slice(2);
const count = Number(countText);
const code = `${source}\nJSON.stringify(handler(JSON.parse(${JSON.stringify(event)})))`;

function nodeVm() {
    const script = new vm.Script(code);
    return () => script.runInContext(vm.createContext({}));
}

async function qjsEmscripten() {
    const { getQuickJS } = await import(process.env.HL_BENCH_QJS_EMSCRIPTEN);
    const QuickJS = await getQuickJS();
    return () => {
        const rt = QuickJS.newRuntime();
        const ctx = rt.newContext();
        const handle = ctx.unwrapResult(ctx.evalCode(code));
        const out = ctx.getString(handle);
        handle.dispose();
        ctx.dispose();
        rt.dispose();
        return out;
    };
}

const once = mode === 'node-vm' ? nodeVm() : await qjsEmscripten();
const expected = once();
const lines = [];
for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    const out = once();
    lines.push(String(process.hrtime.bigint() - t0));
    if (out !== expected) throw new Error(`request ${i}: ${out} != ${expected}`);
}
process.stdout.write(lines.join('\n') + '\n');
