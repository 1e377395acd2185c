/* hello_host.c: the example host: creates a sandbox, gives the guest GetWeekday, calls SayHello. */
#include <hyperlight/hyperlight.h>
#include <stdio.h>
#include <time.h>

static int get_weekday(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    static const char *const days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
    (void)user, (void)args, (void)nargs;
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    *ret = hl_str(days[tm.tm_wday]); /* static storage: valid after we return */
    return 0;
}

static int fail(const char *what)
{
    fprintf(stderr, "hello_host: %s: %s\n", what, hl_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    const char *guest = argc > 1 ? argv[1] : "build/guests/hello_guest.elf";
    const char *name = argc > 2 ? argv[2] : "World";
    hl_sandbox *sb = NULL;
    hl_value greeting;

    if (hl_sandbox_new(NULL, guest, &sb) != 0)
        return fail("create");
    if (hl_sandbox_register(sb, "GetWeekday", HL_TYPE_STRING, NULL, 0, get_weekday, NULL) != 0 ||
        hl_sandbox_init(sb) != 0 ||
        hl_sandbox_call(sb, "SayHello", HL_ARGS(hl_str(name)), &greeting) != 0) {
        int rc = fail("run");
        hl_sandbox_destroy(sb);
        return rc;
    }
    printf("%s\n", greeting.as.str.ptr); /* owned by the sandbox until its next call */
    hl_sandbox_destroy(sb);
    return 0;
}
