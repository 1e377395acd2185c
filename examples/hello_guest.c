/* hello_guest.c: the example guest: SayHello(name) asks the host for the weekday and greets. */
#include <hyperlight/guest.h>
#include <stdio.h>

static int say_hello(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    hl_value day;
    if (hlg_call_host("GetWeekday", NULL, 0, &day) != 0)
        return hlg_fail("GetWeekday failed: %s", hlg_last_error());
    const char *fmt = "Hello, %s! Today is %s.";
    int n = snprintf(NULL, 0, fmt, args[0].as.str.ptr, day.as.str.ptr);
    char *text = hlg_scratch((size_t)n + 1); /* freed once the result has been sent */
    if (!text)
        return hlg_fail("out of memory");
    snprintf(text, (size_t)n + 1, fmt, args[0].as.str.ptr, day.as.str.ptr);
    *ret = hl_strn(text, (size_t)n);
    return 0;
}

void hlg_main(void)
{
    hlg_register("SayHello", HL_TYPE_STRING, HL_PARAMS(HL_TYPE_STRING), say_hello);
}
