/* js_host.c: the host of the JavaScript example: loads a handler module (examples/js/handler.js)
 * into a JS sandbox, gives it host.lookup, calls it with events and checks what comes back.
 * `js_host HANDLER.js` prints the results and exits 0 when each is what it should be. */
#include <hyperlight/js.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The host's catalogue, which handler.js reaches through host.lookup(sku). */
static const struct item {
    const char *sku;
    int cents;
} catalogue[] = {{"apple", 30}, {"pear", 45}, {"bread", 250}};

/* The one string of an argument array `["..."]` (with no escapes, which is all this example
 * needs; a real host would use a JSON parser). Returns its length, or -1. */
static int one_string(const hl_js_data *args, char *out, size_t size)
{
    const char *s = args->data;
    size_t n = args->len;
    if (n < 4 || strncmp(s, "[\"", 2) != 0 || strcmp(s + n - 2, "\"]") != 0 || n - 4 >= size ||
        memchr(s + 2, '"', n - 4) || memchr(s + 2, '\\', n - 4))
        return -1;
    memcpy(out, s + 2, n - 4);
    out[n - 4] = 0;
    return (int)(n - 4);
}

/* host.lookup(sku): {"cents": N} for a known sku, null for another; a bad argument fails, which
 * the script sees as an exception. */
static int lookup(void *user, const hl_js_data *args, const hl_js_data *parts, size_t nparts,
                  hl_js_reply *reply)
{
    (void)user, (void)parts, (void)nparts;
    char sku[64], json[64];
    if (one_string(args, sku, sizeof sku) < 0) {
        hl_js_reply_error(reply, "lookup takes one sku (a string)");
        return 1;
    }
    for (size_t i = 0; i < sizeof catalogue / sizeof catalogue[0]; i++)
        if (strcmp(catalogue[i].sku, sku) == 0) {
            int n = snprintf(json, sizeof json, "{\"cents\":%d}", catalogue[i].cents);
            return hl_js_reply_json(reply, json, (size_t)n);
        }
    return hl_js_reply_json(reply, "null", 4);
}

static void to_stdout(void *user, hl_stream stream, const uint8_t *bytes, size_t len)
{
    (void)user;
    fwrite(bytes, 1, len, stream == HL_STREAM_STDERR ? stderr : stdout);
}

static int fail(const char *what, const hl_js *js)
{
    fprintf(stderr, "js_host: %s: %s\n", what, hl_js_last_error(js)->text);
    return 1;
}

/* The whole of a file, NUL-terminated (malloc'd), or NULL. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *bigger = realloc(buf, cap *= 2);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
}

/* Calls export `handler` with the JSON `event` and checks that the result is `expected`. */
static int call(hl_js *js, const char *handler, const char *event, const char *expected)
{
    hl_js_data ev = hl_js_json(event), result;
    if (hl_js_call(js, NULL, handler, &ev, &result) != 0)
        return fail(handler, js);
    printf("%s(%s) = %.*s\n", handler, event, (int)result.len, (const char *)result.data);
    if (result.kind != HL_JS_JSON || strcmp(result.data, expected) != 0) {
        fprintf(stderr, "js_host: %s: expected %s\n", handler, expected);
        return 1;
    }
    return 0;
}

static int run(hl_js *js)
{
    static const char fruit[] = "{\"items\":[{\"sku\":\"apple\",\"qty\":3},{\"sku\":\"pear\"}]}";
    static const char bread[] = "{\"items\":[{\"sku\":\"bread\",\"qty\":2}]}";
    /* calls stays 1: every call starts from the state right after the module ran */
    if (call(js, "handler", fruit,
             "{\"lines\":[{\"sku\":\"apple\",\"qty\":3,\"cents\":90},"
             "{\"sku\":\"pear\",\"qty\":1,\"cents\":45}],\"total\":135,\"calls\":1}") ||
        call(js, "handler", bread,
             "{\"lines\":[{\"sku\":\"bread\",\"qty\":2,\"cents\":500}],"
             "\"total\":500,\"calls\":1}") ||
        call(js, "summary", bread, "\"2 items, 5.00 EUR\""))
        return 1;

    /* A JS exception: HL_EGUEST, with the error's name, message and where it was thrown. */
    hl_js_data ev = hl_js_json("{\"items\":[{\"sku\":\"kiwi\"}]}"), result;
    if (hl_js_call(js, NULL, "handler", &ev, &result) != HL_EGUEST) {
        fprintf(stderr, "js_host: an unknown sku did not fail the call\n");
        return 1;
    }
    const hl_js_error *e = hl_js_last_error(js);
    printf("unknown sku: %s\n", e->text);
    if (strcmp(e->name, "RangeError") != 0 || strcmp(e->file, "handler.js") != 0 || e->line == 0) {
        fprintf(stderr, "js_host: unexpected error %s at %s:%u\n", e->name, e->file, e->line);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "examples/js/handler.js";
    const char *slash = strrchr(path, '/');
    size_t len;
    char *source = read_file(path, &len);
    if (!source) {
        fprintf(stderr, "js_host: cannot read %s\n", path);
        return 1;
    }
    hl_js_config cfg;
    hl_js *js = NULL;
    hl_js_config_init(&cfg);
    cfg.reset_after_call = true;
    cfg.output_fn = to_stdout; /* console.log and friends */
    int rc = hl_js_new(&cfg, &js);
    if (rc != 0) {
        const char *why = rc == HL_ENOTFOUND ? hl_js_guest_missing() : hl_js_last_error(NULL)->text;
        fprintf(stderr, "js_host: create: %s\n", *why ? why : hl_strerror(rc));
        free(source);
        return 1;
    }
    /* host functions first: the first load starts QuickJS and defines the `host` object */
    if ((rc = hl_js_register(js, "lookup", lookup, NULL)) != 0) {
        fprintf(stderr, "js_host: register: %s\n", hl_strerror(rc));
        rc = 1;
    } else if (hl_js_load_module(js, slash ? slash + 1 : path, source, len) != 0) {
        rc = fail("load", js);
    } else {
        rc = run(js);
    }
    free(source);
    hl_js_destroy(js);
    return rc;
}
