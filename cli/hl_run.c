/* hl_run.c: hl-run: create a sandbox from a guest ELF, call one function, print its result. */
#include <getopt.h>
#include <hyperlight/hyperlight.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "text.h"

#define EXIT_USAGE 2

static const char usage[] =
    "usage: hl-run [options] GUEST.elf FUNCTION [ARG...]\n"
    "       hl-run [options] --save-snapshot FILE GUEST.elf [FUNCTION [ARG...]]\n"
    "       hl-run [options] --snapshot FILE FUNCTION [ARG...]\n"
    "Creates a sandbox from GUEST.elf, runs its init, calls FUNCTION once and prints the result.\n"
    "--save-snapshot writes a snapshot taken right after init; --snapshot starts from one\n"
    "instead of an ELF (no init runs; the sizes are the snapshot's).\n"
    "\n"
    "Arguments are typed: 42 (i32), i32:N, u32:N, i64:N, u64:N, f32:X, f64:X, true, false,\n"
    "str:TEXT, bytes:HEX (e.g. bytes:0a0b), bytes:@FILE; a bare word is a string. A bare number\n"
    "takes the type FUNCTION declares for that parameter when it is numeric.\n"
    "\n"
    "options:\n"
    "  --heap SIZE         guest heap (default 1M; K, M, G suffixes)\n"
    "  --stack SIZE        guest stack (default 256K)\n"
    "  --input SIZE        host-to-guest buffer (default 64K)\n"
    "  --output SIZE       guest-to-host buffer (default 64K)\n"
    "  --timeout-ms N      time limit for init and for the call, 0 = none (default 5000)\n"
    "  --log-level LEVEL   guest logs to print on stderr: off, error, warn, info, debug, trace\n"
    "                      (default info)\n"
    "  --save-snapshot FILE  write a snapshot after init\n"
    "  --snapshot FILE     start from a snapshot file instead of GUEST.elf\n"
    "  --core-dir DIR      when init or the call faults or aborts, write an ELF core file of\n"
    "                      the guest into DIR (gdb GUEST.elf CORE opens it)\n"
    "  --gdb PORT          wait before the guest's first instruction for gdb on\n"
    "                      127.0.0.1:PORT (gdb GUEST.elf -ex 'target remote :PORT'); no time\n"
    "                      limit applies then\n"
    "  --hot               run a hot sandbox: its vCPU keeps running on its own thread and takes\n"
    "                      requests through shared memory, without VM exits (docs/HOT.md)\n"
    "  --hot-spin-us N     how long a hot guest spins for an answer before parking (default 200)\n"
    "  -h, --help          show this help\n"
    "  --version           show the version\n"
    "\n"
    "Exit status: 0 on success, 1 when the sandbox or the call fails, 2 on bad usage.\n";

/* Guest text goes to a terminal: control characters (escapes, newlines) are printed as '?'. */
/* Guest text goes out neutralised (common/text.h): no terminal controls, no invalid UTF-8. */
static void put_guest_text(const char *s)
{
    char *copy = strdup(s);
    if (copy) {
        hl__text_neutralise(copy);
        fputs(copy, stderr);
    }
    free(copy);
}

static void log_to_stderr(void *user, const hl_log_record *rec)
{
    static const char *const levels[] = {"", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"};
    (void)user;
    fprintf(stderr, "[guest %s", levels[rec->level]);
    if (rec->file[0]) {
        fputc(' ', stderr);
        put_guest_text(rec->file);
        fprintf(stderr, ":%u", rec->line);
    }
    fputs("] ", stderr);
    put_guest_text(rec->message);
    fputc('\n', stderr);
}

/* The guest's stdout and stderr, byte for byte, to ours. */
static void write_guest_stream(void *user, hl_stream stream, const uint8_t *bytes, size_t len)
{
    (void)user;
    FILE *to = stream == HL_STREAM_STDERR ? stderr : stdout;
    fwrite(bytes, 1, len, to);
    fflush(to);
}

static void print_value(const hl_value *v)
{
    switch (v->type) {
    case HL_TYPE_VOID:
        break;
    case HL_TYPE_BOOL:
        puts(v->as.b ? "true" : "false");
        break;
    case HL_TYPE_I32:
        printf("%d\n", v->as.i32);
        break;
    case HL_TYPE_U32:
        printf("%u\n", v->as.u32);
        break;
    case HL_TYPE_I64:
        printf("%lld\n", (long long)v->as.i64);
        break;
    case HL_TYPE_U64:
        printf("%llu\n", (unsigned long long)v->as.u64);
        break;
    case HL_TYPE_F32:
        printf("%.9g\n", v->as.f32);
        break;
    case HL_TYPE_F64:
        printf("%.17g\n", v->as.f64);
        break;
    case HL_TYPE_STRING:
        fwrite(v->as.str.ptr, 1, v->as.str.len, stdout);
        putchar('\n');
        break;
    case HL_TYPE_BYTES:
        for (size_t i = 0; i < v->as.bytes.len; i++)
            printf("%02x", v->as.bytes.ptr[i]);
        putchar('\n');
        break;
    }
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "hl-run: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try --help)\n");
    return EXIT_USAGE;
}

typedef struct run_options {
    hl_config cfg;
    const char *save_snapshot; /* --save-snapshot FILE */
    const char *snapshot;      /* --snapshot FILE */
} run_options;

/* Parses options; returns the index of the first positional argument, or -1 after printing why. */
static int parse_options(int argc, char **argv, run_options *o, int *exit_now)
{
    hl_config *cfg = &o->cfg;
    static const struct option opts[] = {{"save-snapshot", required_argument, 0, 'W'},
                                         {"snapshot", required_argument, 0, 'R'},
                                         {"heap", required_argument, 0, 'H'},
                                         {"stack", required_argument, 0, 'S'},
                                         {"input", required_argument, 0, 'I'},
                                         {"output", required_argument, 0, 'O'},
                                         {"timeout-ms", required_argument, 0, 'T'},
                                         {"log-level", required_argument, 0, 'L'},
                                         {"core-dir", required_argument, 0, 'C'},
                                         {"gdb", required_argument, 0, 'G'},
                                         {"hot", no_argument, 0, 'X'},
                                         {"hot-spin-us", required_argument, 0, 'Y'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    int c, idx = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, &idx)) != -1) {
        int bad = 0;
        switch (c) {
        case 'H':
            bad = hl_cli_parse_size(optarg, &cfg->heap_size);
            break;
        case 'S':
            bad = hl_cli_parse_size(optarg, &cfg->stack_size);
            break;
        case 'I':
            bad = hl_cli_parse_size(optarg, &cfg->input_size);
            break;
        case 'O':
            bad = hl_cli_parse_size(optarg, &cfg->output_size);
            break;
        case 'T':
            bad = hl_cli_parse_u32(optarg, &cfg->time_limit_ms);
            break;
        case 'L':
            bad = hl_cli_parse_log_level(optarg, &cfg->log_level);
            break;
        case 'C':
            cfg->core_dir = optarg;
            bad = !optarg[0];
            break;
        case 'G':
            bad = hl_cli_parse_port(optarg, &cfg->gdb_port);
            break;
        case 'X':
            cfg->hot = true;
            break;
        case 'Y':
            bad = hl_cli_parse_u32(optarg, &cfg->hot_spin_us) || !cfg->hot_spin_us;
            break;
        case 'W':
            o->save_snapshot = optarg;
            break;
        case 'R':
            o->snapshot = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            *exit_now = 1;
            return -1;
        case 'V':
            printf("hl-run (hyperlight-c) %s\n", hl_version());
            *exit_now = 1;
            return -1;
        default:
            usage_error("unknown option '%s'", argv[optind - 1]);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "hl-run: bad value '%s' for --%s (try --help)\n", optarg,
                    opts[idx].name);
            return -1;
        }
    }
    return optind;
}

static int fail(const char *what)
{
    (void)what;
    fprintf(stderr, "hl-run: %s\n", hl_last_error());
    return 1;
}

static int call_and_print(hl_sandbox *sb, const char *fn, int argc, char **argv)
{
    hl_value args[HL_MAX_PARAMS];
    void *owned[HL_MAX_PARAMS] = {0};
    const hl_type *params = NULL;
    size_t nparams = 0;
    char err[256];
    int rc = 0, n = 0;
    if (argc > HL_MAX_PARAMS) {
        fprintf(stderr, "hl-run: at most %d arguments\n", HL_MAX_PARAMS);
        return EXIT_USAGE;
    }
    if (hl_sandbox_guest_function(sb, fn, NULL, &params, &nparams) != 0)
        nparams = 0; /* the types are only hints: the call itself reports an unknown function */
    for (; n < argc && rc == 0; n++) {
        hl_type hint = (size_t)n < nparams ? params[n] : HL_TYPE_VOID;
        if (hl_cli_parse_value(argv[n], hint, &args[n], &owned[n], err, sizeof err)) {
            fprintf(stderr, "hl-run: argument %d: %s\n", n + 1, err);
            rc = EXIT_USAGE;
        }
    }
    hl_value result;
    if (rc == 0 && hl_sandbox_call(sb, fn, args, (size_t)argc, &result) != 0)
        rc = fail("call");
    if (rc == 0)
        print_value(&result);
    for (int i = 0; i < n; i++)
        free(owned[i]);
    return rc;
}

/* With --gdb: the sandbox listens; the guest waits for gdb before its first instruction. */
static void say_waiting(const run_options *o, const char *elf)
{
    if (o->cfg.gdb_port)
        fprintf(stderr,
                "hl-run: waiting for gdb on 127.0.0.1:%u (gdb %s -ex 'target remote :%u')\n",
                o->cfg.gdb_port, elf ? elf : "GUEST.elf", o->cfg.gdb_port);
}

/* Creates the sandbox from the ELF (running init) or from --snapshot; saves --save-snapshot. */
static int open_sandbox(const run_options *o, const char *elf, hl_sandbox **sb)
{
    hl_snapshot *snap = NULL;
    if (o->snapshot) {
        int rc =
            hl_snapshot_load(o->snapshot, &snap) || hl_sandbox_new_from_snapshot(&o->cfg, snap, sb);
        hl_snapshot_release(snap);
        if (!rc)
            say_waiting(o, NULL);
        return rc ? fail("load") : 0;
    }
    if (hl_sandbox_new(&o->cfg, elf, sb) != 0)
        return fail("create");
    say_waiting(o, elf);
    if (hl_sandbox_init(*sb) != 0)
        return fail("init");
    if (o->save_snapshot) {
        int rc = hl_sandbox_snapshot(*sb, &snap) || hl_snapshot_save(snap, o->save_snapshot);
        hl_snapshot_release(snap);
        if (rc)
            return fail("save");
    }
    return 0;
}

int main(int argc, char **argv)
{
    run_options o = {0};
    int exit_now = 0;
    hl_config_init(&o.cfg);
    o.cfg.log_fn = log_to_stderr;
    o.cfg.output_fn = write_guest_stream;
    int first = parse_options(argc, argv, &o, &exit_now);
    if (first < 0)
        return exit_now ? 0 : EXIT_USAGE;
    if (o.snapshot && o.save_snapshot)
        return usage_error("%s", "--snapshot and --save-snapshot exclude each other");
    const char *elf = o.snapshot ? NULL : argv[first++];
    if (!o.snapshot && !elf)
        return usage_error("%s", "expected GUEST.elf FUNCTION [ARG...]");
    if (first >= argc && !o.save_snapshot)
        return usage_error("%s", o.snapshot ? "expected FUNCTION [ARG...] after --snapshot FILE"
                                            : "expected GUEST.elf FUNCTION [ARG...]");
    hl_sandbox *sb = NULL;
    int rc = open_sandbox(&o, elf, &sb);
    if (rc == 0 && first < argc)
        rc = call_and_print(sb, argv[first], argc - first - 1, argv + first + 1);
    hl_sandbox_destroy(sb);
    return rc;
}
