// prelude.js: the standard globals of a JavaScript guest, run once when the guest starts (so
// every snapshot already has them). `native` holds the C functions of js_engine.c. Returns the
// functions the guest's C code calls later.
(function (native) {
    'use strict';
    const define = (obj, name, value) =>
        Object.defineProperty(obj, name, { value, writable: true, configurable: true });
    const isBytes = (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v);
    const toUint8 = (v) => v instanceof ArrayBuffer ? new Uint8Array(v)
        : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

    // ---- console: stdout or stderr, and a log record at the method's level ----
    function inspect(v, seen) {
        if (typeof v === 'string') return v;
        if (v instanceof Error) return v.stack ? `${v.name}: ${v.message}\n${v.stack}`.trimEnd()
            : `${v.name}: ${v.message}`;
        if (typeof v === 'function') return `[Function ${v.name || '(anonymous)'}]`;
        if (typeof v === 'bigint') return `${v}n`;
        if (typeof v === 'symbol' || v === undefined || v === null) return String(v);
        if (typeof v !== 'object') return String(v);
        try {
            return JSON.stringify(v, (k, x) => typeof x === 'bigint' ? `${x}n`
                : isBytes(x) ? `<${toUint8(x).length} bytes>` : x) ?? String(v);
        } catch (e) {
            return String(v);
        }
    }
    const LOG = { error: 1, warn: 2, info: 3, debug: 4 };
    const write = (stream, level) => function (...args) {
        native.write(stream, level, args.map((a) => inspect(a)).join(' '));
    };
    const console = {};
    define(console, 'log', write(1, LOG.info));
    define(console, 'info', write(1, LOG.info));
    define(console, 'debug', write(1, LOG.debug));
    define(console, 'warn', write(2, LOG.warn));
    define(console, 'error', write(2, LOG.error));
    define(globalThis, 'console', console);

    // ---- text ----
    class TextEncoder {
        get encoding() { return 'utf-8'; }
        encode(s = '') { return new Uint8Array(native.utf8Encode(String(s))); }
        encodeInto(s, dest) {
            const bytes = this.encode(s);
            const n = Math.min(bytes.length, dest.length);
            dest.set(bytes.subarray(0, n));
            return { read: n === bytes.length ? String(s).length : undefined, written: n };
        }
    }
    class TextDecoder {
        constructor(label = 'utf-8') {
            if (!/^(utf-?8|unicode-1-1-utf-8)$/i.test(String(label).trim()))
                throw new RangeError(`TextDecoder: only utf-8 is supported, not '${label}'`);
        }
        get encoding() { return 'utf-8'; }
        decode(bytes) {
            if (bytes === undefined) return '';
            if (!isBytes(bytes)) throw new TypeError('TextDecoder.decode: not an ArrayBuffer or view');
            let s = native.utf8Decode(toUint8(bytes));
            return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
        }
    }
    define(globalThis, 'TextEncoder', TextEncoder);
    define(globalThis, 'TextDecoder', TextDecoder);

    // ---- base64 (atob/btoa: Latin-1 strings, as in browsers) ----
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));
    function btoa(s) {
        s = String(s);
        let out = '';
        for (let i = 0; i < s.length; i += 3) {
            const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
            if (a > 255 || b > 255 || c > 255)
                throw new DOMException('btoa: the string has characters outside Latin-1',
                    'InvalidCharacterError');
            const n = (a << 16) | ((b || 0) << 8) | (c || 0);
            out += B64[n >> 18] + B64[(n >> 12) & 63] +
                (i + 1 < s.length ? B64[(n >> 6) & 63] : '=') + (i + 2 < s.length ? B64[n & 63] : '=');
        }
        return out;
    }
    function atob(s) {
        s = String(s).replace(/[\t\n\f\r ]/g, '');
        if (s.length % 4 === 0) s = s.replace(/==?$/, '');
        if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s))
            throw new DOMException('atob: the string is not correctly encoded',
                'InvalidCharacterError');
        let out = '';
        for (let i = 0; i < s.length; i += 4) {
            const n = (B64_INDEX.get(s[i]) << 18) | (B64_INDEX.get(s[i + 1]) << 12) |
                ((B64_INDEX.get(s[i + 2]) ?? 0) << 6) | (B64_INDEX.get(s[i + 3]) ?? 0);
            out += String.fromCharCode(n >> 16);
            if (i + 2 < s.length) out += String.fromCharCode((n >> 8) & 255);
            if (i + 3 < s.length) out += String.fromCharCode(n & 255);
        }
        return out;
    }
    class DOMException extends Error {
        constructor(message = '', name = 'Error') { super(message); this.name = name; }
    }
    define(globalThis, 'DOMException', DOMException);
    define(globalThis, 'btoa', btoa);
    define(globalThis, 'atob', atob);

    define(globalThis, 'queueMicrotask', function queueMicrotask(fn) {
        if (typeof fn !== 'function') throw new TypeError('queueMicrotask: not a function');
        Promise.resolve().then(() => fn());
    });

    // ---- randomness: fresh in every sandbox and after every restore ----
    define(Math, 'random', native.random);
    const crypto = {};
    define(crypto, 'getRandomValues', function getRandomValues(view) {
        if (!ArrayBuffer.isView(view) || view instanceof Float32Array || view instanceof Float64Array
            || view instanceof DataView)
            throw new TypeError('getRandomValues: an integer typed array is needed');
        native.fillRandom(toUint8(view));
        return view;
    });
    define(crypto, 'randomUUID', function randomUUID() {
        const b = crypto.getRandomValues(new Uint8Array(16));
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
        return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    });
    define(globalThis, 'crypto', crypto);

    // ---- host functions: JSON plus binary parts, {"__bytes__": i} in place of part i ----
    const BYTES_KEY = '__bytes__';
    function callHost(name, args) {
        const parts = [];
        const json = JSON.stringify(args, function (k, v) {
            const raw = this[k];
            if (isBytes(raw)) { parts.push(toUint8(raw)); return { [BYTES_KEY]: parts.length - 1 }; }
            return typeof v === 'bigint' ? String(v) : v;
        });
        const r = native.hostCall(name, json, parts);
        if (r === undefined) return undefined;
        return typeof r === 'string' ? JSON.parse(r) : new Uint8Array(r);
    }
    function defineHost(names) {
        const host = {};
        for (const name of names.split('\n')) {
            if (name === '') continue;
            Object.defineProperty(host, name, {
                value: { [name]: (...args) => callHost(name, args) }[name], enumerable: true
            });
        }
        define(globalThis, 'host', Object.freeze(host));
    }
    return { defineHost };
})
