/* js/js_wire.h: how libhyperlight_js and the JavaScript guest talk, on top of hyperlight's typed
 * calls (compiled into both sides; docs/JS.md shows the same). Every guest function of the JS
 * guest returns BYTES: a reply, whose first byte says what follows. Events, and the results of
 * host functions, use the same first bytes. */
#ifndef HL_JS_JS_WIRE_H
#define HL_JS_JS_WIRE_H

/* Guest functions of js.elf, and their parameters (all return BYTES, a reply):
 *   JsSetup(u64 memory_limit, u64 stack_limit, string host_names)   names '\n'-separated
 *   JsLoadModule(string name, string source)
 *   JsLinkAll()                       before a snapshot: runs every module body not yet run,
 *                                     then collects garbage
 *   JsCall(string module, string export, string event)    event: JSON text; module "": the
 *                                                         module loaded last
 *   JsCallBytes(string module, string export, bytes event) event: a Uint8Array in JS
 *   JsEval(string source)             a global script; its completion value is the result */
#define HL_JS_FN_SETUP "JsSetup"
#define HL_JS_FN_LOAD "JsLoadModule"
#define HL_JS_FN_LINK "JsLinkAll"
#define HL_JS_FN_CALL "JsCall"
#define HL_JS_FN_CALL_BYTES "JsCallBytes"
#define HL_JS_FN_EVAL "JsEval"

/* The one host function the guest calls for every `host.<name>(...)`:
 *   JsHost(bytes request) -> bytes (a value: HL_JS_KIND_JSON or HL_JS_KIND_BYTES first)
 * request: u32 name length, name, u32 JSON length, JSON text of the argument array, u32 count of
 * binary parts, then each part as u32 length + bytes (little-endian). In the JSON, the binary
 * argument (Uint8Array, other views, ArrayBuffer) number i, at any depth, is {"__bytes__": i}.
 * A failing host function fails the hyperlight host call with its message (a STRING). */
#define HL_JS_FN_HOST "JsHost"
#define HL_JS_MODULE_NAME_MAX 256
#define HL_JS_BYTES_KEY "__bytes__"

/* First byte of a reply or of a host function's result. */
#define HL_JS_KIND_JSON 'j'      /* JSON text follows; in a guest's reply, with a NUL after it */
#define HL_JS_KIND_BYTES 'b'     /* raw bytes follow (a Uint8Array in JS) */
#define HL_JS_KIND_UNDEFINED 'u' /* nothing follows */
#define HL_JS_KIND_OK 'k'        /* nothing follows (setup, load, link) */
#define HL_JS_KIND_ERROR 'e'     /* name NUL message NUL stack NUL: a JS exception */

#endif
