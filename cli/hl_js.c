/* hl_js.c: hl-js: run a JavaScript handler (or an expression) in a JS sandbox, print the result. */
#include <errno.h>
#include <getopt.h>
#include <hyperlight/js.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

#define EXIT_USAGE 2

static const char usage[] =
    "usage: hl-js [options] SCRIPT.js [HANDLER] [EVENT]\n"
    "       hl-js [options] --snapshot FILE [HANDLER] [EVENT]\n"
    "       hl-js [options] -e EXPR\n"
    "Loads SCRIPT.js as an ES module (named after the file), calls its export HANDLER (default\n"
    "handler) with EVENT (JSON text, default null) in a JS sandbox and prints the result as JSON\n"
    "on stdout (a Uint8Array result as an array of its bytes; undefined as null). EVENT - reads\n"
    "one JSON event per line from stdin and answers each on its own line, each from the state\n"
    "right after loading; a failed event is answered {\"error\": TEXT}. -e evaluates EXPR as a\n"
    "script and prints its value. console.log/info/debug go to stdout, warn/error to stderr.\n"
    "\n"
    "options:\n"
    "  --heap SIZE            guest heap (default 64M; K, M, G suffixes)\n"
    "  --stack SIZE           guest stack (default 1M)\n"
    "  --memory-limit SIZE    most memory scripts may use (default 3/4 of the heap)\n"
    "  --buffer SIZE          largest event, result or host call (default 4M)\n"
    "  --time-limit-ms N      time limit of each load and call, 0 = none (default 5000)\n"
    "  --save-snapshot FILE   write a snapshot of the loaded script (taken before the call;\n"
    "                         without HANDLER nothing is called)\n"
    "  --snapshot FILE        start from such a snapshot instead of SCRIPT.js\n"
    "  -e, --eval EXPR        evaluate EXPR instead of calling a handler\n"
    "  --core-dir DIR         when the JS guest faults, write its ELF core file into DIR\n"
    "  --gdb PORT             wait before the JS guest's first instruction for gdb on\n"
    "                         127.0.0.1:PORT (gdb js.elf -ex 'target remote :PORT'; js.elf is\n"
    "                         the JS guest with its symbols, docs/DEBUGGING.md)\n"
    "  --hot                  run a hot sandbox: its vCPU keeps running on its own thread and\n"
    "                         takes calls through shared memory, without VM exits (docs/HOT.md)\n"
    "  --hot-spin-us N        how long a hot guest spins for an answer before parking\n"
    "                         (default 200)\n"
    "  -h, --help             show this help\n"
    "  --version              show the version\n"
    "\n"
    "Exit status: 0 on success, 1 when the script or the sandbox fails (one line on stderr,\n"
    "e.g. \"hl-js: TypeError: x is undefined at handler (script.js:3:12)\"), 2 on bad usage.\n";

typedef struct options {
    hl_js_config cfg;
    const char *save_snapshot, *snapshot, *eval;
    const char *script, *handler, *event;
    int call;
} options;

static int usage_error(const char *fmt, const char *arg)
{
    fputs("hl-js: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n(try hl-js --help)\n", stderr);
    return EXIT_USAGE;
}

static void write_stream(void *user, hl_stream stream, const uint8_t *bytes, size_t len)
{
    (void)user;
    FILE *to = stream == HL_STREAM_STDERR ? stderr : stdout;
    fwrite(bytes, 1, len, to);
    fflush(to);
}

enum {
    OPT_HEAP = 256,
    OPT_STACK,
    OPT_MEMLIMIT,
    OPT_BUFFER,
    OPT_TIME,
    OPT_SAVE,
    OPT_SNAP,
    OPT_VER,
    OPT_CORE,
    OPT_GDB,
    OPT_HOT,
    OPT_HOT_SPIN,
};

static int parse_size_option(const char *arg, size_t *out)
{
    return hl_cli_parse_size(arg, out) ? usage_error("bad size '%s'", arg) : 0;
}

static int parse_option(int c, const char *arg, options *o)
{
    switch (c) {
    case OPT_HEAP:
        return parse_size_option(arg, &o->cfg.heap_size);
    case OPT_STACK:
        return parse_size_option(arg, &o->cfg.stack_size);
    case OPT_MEMLIMIT:
        return parse_size_option(arg, &o->cfg.memory_limit);
    case OPT_BUFFER:
        return parse_size_option(arg, &o->cfg.buffer_size);
    case OPT_TIME:
        return hl_cli_parse_u32(arg, &o->cfg.time_limit_ms) ? usage_error("bad time '%s'", arg) : 0;
    case OPT_SAVE:
        o->save_snapshot = arg;
        return 0;
    case OPT_SNAP:
        o->snapshot = arg;
        return 0;
    case 'e':
        o->eval = arg;
        return 0;
    case OPT_CORE:
        o->cfg.core_dir = arg;
        return arg[0] ? 0 : usage_error("%s", "empty --core-dir");
    case OPT_GDB:
        return hl_cli_parse_port(arg, &o->cfg.gdb_port) ? usage_error("bad port '%s'", arg) : 0;
    case OPT_HOT:
        o->cfg.hot = true;
        return 0;
    case OPT_HOT_SPIN:
        return hl_cli_parse_u32(arg, &o->cfg.hot_spin_us) || !o->cfg.hot_spin_us
                   ? usage_error("bad spin time '%s'", arg)
                   : 0;
    default:
        return EXIT_USAGE;
    }
}

/* Options, then SCRIPT.js (not with --snapshot or -e), HANDLER, EVENT. -1: exit 0 (help). */
static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longs[] = {
        {"heap", required_argument, 0, OPT_HEAP},
        {"stack", required_argument, 0, OPT_STACK},
        {"memory-limit", required_argument, 0, OPT_MEMLIMIT},
        {"buffer", required_argument, 0, OPT_BUFFER},
        {"time-limit-ms", required_argument, 0, OPT_TIME},
        {"save-snapshot", required_argument, 0, OPT_SAVE},
        {"snapshot", required_argument, 0, OPT_SNAP},
        {"eval", required_argument, 0, 'e'},
        {"core-dir", required_argument, 0, OPT_CORE},
        {"gdb", required_argument, 0, OPT_GDB},
        {"hot", no_argument, 0, OPT_HOT},
        {"hot-spin-us", required_argument, 0, OPT_HOT_SPIN},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, OPT_VER},
        {0, 0, 0, 0},
    };
    int c, rc;
    while ((c = getopt_long(argc, argv, "+e:h", longs, NULL)) != -1) {
        if (c == 'h' || c == OPT_VER) {
            fputs(c == 'h' ? usage : "hl-js (hyperlight-c) " HL_VERSION_STRING "\n", stdout);
            return -1;
        }
        if (c == '?' || (rc = parse_option(c, optarg, o)))
            return c == '?' ? usage_error("%s", "bad option") : rc;
    }
    int i = optind;
    if (o->eval)
        return i == argc ? 0 : usage_error("-e takes no other argument ('%s')", argv[i]);
    if (!o->snapshot && (o->script = i < argc ? argv[i++] : NULL) == NULL)
        return usage_error("%s", "no SCRIPT.js given");
    o->call = !o->save_snapshot || i < argc; /* --save-snapshot alone: no call */
    o->handler = i < argc ? argv[i++] : "handler";
    o->event = i < argc ? argv[i++] : "null";
    if (i < argc)
        return usage_error("too many arguments ('%s')", argv[i]);
    if (o->snapshot && o->save_snapshot)
        return usage_error("%s", "--snapshot and --save-snapshot do not go together");
    return 0;
}

/* The whole of a file, NUL-terminated; NULL with a message printed. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "hl-js: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger)
            free(buf);
        buf = bigger, cap *= 2;
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        fprintf(stderr, "hl-js: cannot read %s\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* One line: "hl-js: WHAT: TEXT" (js NULL: the failed creation's error). */
static int fail(const char *what, hl_js *js, int rc)
{
    const char *text = hl_js_last_error(js)->text;
    if (!js && rc == HL_ENOTFOUND)
        text = hl_js_guest_missing();
    if (!*text)
        text = hl_strerror(rc);
    fprintf(stderr, "hl-js: %s%s%s\n", what, *what ? ": " : "", text);
    return 1;
}

/* A JSON string of s (UTF-8 kept; quotes, backslashes and controls escaped). */
static void print_json_string(FILE *to, const char *s)
{
    fputc('"', to);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(to, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(to, "\\u%04x", *p);
        else
            fputc(*p, to);
    }
    fputc('"', to);
}

static void print_result(const hl_js_data *r)
{
    if (r->kind == HL_JS_JSON) {
        fwrite(r->data, 1, r->len, stdout);
    } else if (r->kind == HL_JS_BYTES) {
        const uint8_t *p = r->data;
        fputc('[', stdout);
        for (size_t i = 0; i < r->len; i++)
            printf(i ? ",%u" : "%u", p[i]);
        fputc(']', stdout);
    } else {
        fputs("null", stdout);
    }
    fputc('\n', stdout);
    fflush(stdout);
}

/* The module name of SCRIPT.js: its file name, as stack frames show it. */
static const char *module_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int load_script(hl_js *js, const char *path)
{
    size_t len;
    char *source = read_file(path, &len);
    if (!source)
        return 1;
    int rc = hl_js_load_module(js, module_name(path), source, len);
    free(source);
    return rc ? fail("", js, rc) : 0;
}

static int save_snapshot(hl_js *js, const char *path)
{
    hl_snapshot *snap;
    int rc = hl_js_snapshot(js, &snap);
    if (rc)
        return fail("snapshot", js, rc);
    rc = hl_snapshot_save(snap, path);
    hl_snapshot_release(snap);
    if (rc)
        fprintf(stderr, "hl-js: cannot save %s: %s\n", path, hl_last_error());
    return rc ? 1 : 0;
}

/* A sandbox with the script loaded, or from the snapshot file. NULL after a message. */
static hl_js *make_sandbox(const options *o)
{
    hl_js *js = NULL;
    int rc;
    if (o->cfg.gdb_port)
        fprintf(stderr,
                "hl-js: waiting for gdb on 127.0.0.1:%u (gdb js.elf -ex 'target remote :%u')\n",
                o->cfg.gdb_port, o->cfg.gdb_port);
    if (o->snapshot) {
        hl_snapshot *snap;
        if ((rc = hl_snapshot_load(o->snapshot, &snap))) {
            fprintf(stderr, "hl-js: %s\n", hl_last_error());
            return NULL;
        }
        rc = hl_js_new_from_snapshot(&o->cfg, snap, &js);
        hl_snapshot_release(snap);
    } else {
        rc = hl_js_new(&o->cfg, &js);
    }
    if (rc) {
        fail("cannot create a JS sandbox", NULL, rc);
        return NULL;
    }
    if (o->script && load_script(js, o->script) != 0) {
        hl_js_destroy(js);
        return NULL;
    }
    return js;
}

static int call_once(hl_js *js, const char *handler, const char *event, int answer_errors)
{
    hl_js_data ev = hl_js_json(event), result;
    int rc = hl_js_call(js, NULL, handler, &ev, &result);
    if (!rc) {
        print_result(&result);
        return 0;
    }
    if (!answer_errors)
        return fail("", js, rc);
    fputs("{\"error\":", stdout);
    print_json_string(stdout, hl_js_last_error(js)->text);
    fputs("}\n", stdout);
    fflush(stdout);
    return 1;
}

/* EVENT "-": one event per line, each answered on its own line. 1 if any failed. */
static int call_each_line(hl_js *js, const char *handler)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int status = 0;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (n == 0)
            continue;
        status |= call_once(js, handler, line, 1);
    }
    free(line);
    return status;
}

static int run(const options *o)
{
    hl_js *js = make_sandbox(o);
    if (!js)
        return 1;
    int status = 0;
    if (o->save_snapshot)
        status = save_snapshot(js, o->save_snapshot);
    if (status) {
    } else if (o->eval) {
        hl_js_data result;
        int rc = hl_js_eval(js, o->eval, strlen(o->eval), &result);
        if (rc)
            status = fail("", js, rc);
        else
            print_result(&result);
    } else if (!o->call) {
    } else if (strcmp(o->event, "-") == 0) {
        status = call_each_line(js, o->handler);
    } else {
        status = call_once(js, o->handler, o->event, 0);
    }
    hl_js_destroy(js);
    return status;
}

int main(int argc, char **argv)
{
    options o = {0};
    hl_js_config_init(&o.cfg);
    o.cfg.output_fn = write_stream;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    o.cfg.reset_after_call = o.event && strcmp(o.event, "-") == 0;
    return run(&o);
}
