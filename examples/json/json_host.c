/* json_host.c: the host of the cJSON example: parses JSON inside a sandbox and checks what comes
 * back. `json_host GUEST.elf` prints the results and exits 0 when each is what it should be. */
#include <hyperlight/hyperlight.h>
#include <stdio.h>
#include <string.h>

static void to_stdout(void *user, hl_stream stream, const uint8_t *bytes, size_t len)
{
    (void)user;
    fwrite(bytes, 1, len, stream == HL_STREAM_STDERR ? stderr : stdout);
}

static int fail(const char *what)
{
    fprintf(stderr, "json_host: %s: %s\n", what, hl_last_error());
    return 1;
}

static int run(hl_sandbox *sb)
{
    static const char doc[] = "[ {\"n\": 1.5, \"tag\": \"a\"}, {\"n\": 2}, {\"other\": 7} ]";
    hl_value v;
    if (hl_sandbox_call(sb, "Minify", HL_ARGS(hl_str(doc)), &v) != 0)
        return fail("Minify");
    printf("minified: %s\n", v.as.str.ptr);
    if (strcmp(v.as.str.ptr, "[{\"n\":1.5,\"tag\":\"a\"},{\"n\":2},{\"other\":7}]") != 0)
        return fail("Minify gave the wrong text");
    if (hl_sandbox_call(sb, "Sum", HL_ARGS(hl_str(doc), hl_str("n")), &v) != 0)
        return fail("Sum");
    printf("sum of n: %g\n", v.as.f64);
    if (v.as.f64 != 3.5)
        return fail("Sum gave the wrong total");
    if (hl_sandbox_call(sb, "Minify", HL_ARGS(hl_str("{broken")), &v) != HL_EGUEST)
        return fail("Minify accepted broken JSON");
    printf("broken input: %s\n", hl_last_error());
    return 0;
}

int main(int argc, char **argv)
{
    const char *guest = argc > 1 ? argv[1] : "build/guests/json_guest.elf";
    hl_config cfg;
    hl_sandbox *sb = NULL;
    hl_config_init(&cfg);
    cfg.output_fn = to_stdout;
    if (hl_sandbox_new(&cfg, guest, &sb) != 0 || hl_sandbox_init(sb) != 0) {
        hl_sandbox_destroy(sb);
        return fail("create");
    }
    int rc = run(sb);
    hl_sandbox_destroy(sb);
    return rc;
}
