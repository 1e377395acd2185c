/* bench_guest.c: the guest hl-bench measures: exactly the functions its rows need, each doing as
 * little as possible so the figures show the library's cost, not the guest's. */
#include <hyperlight/guest.h>
#include <stdint.h>

#define PAGE 4096
#define TOUCH_PAGES 256 /* TouchPages(n) accepts 0 <= n <= this */

static _Alignas(PAGE) volatile uint8_t touch_area[TOUCH_PAGES * PAGE];
static uint8_t touch_round;

/* Nop(): returns nothing: the cost of one call round trip. */
static int nop(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)args, (void)nargs, (void)ret;
    return 0;
}

/* Echo(string) -> string: the argument back (arguments stay valid until the result is sent). */
static int echo(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    *ret = args[0];
    return 0;
}

/* CallHost() -> i32: one call of the host function HostNop() -> i32, whose result it returns. */
static int call_host(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)args, (void)nargs;
    hl_value r;
    if (hlg_call_host("HostNop", NULL, 0, &r) != 0)
        return hlg_fail("HostNop failed: %s", hlg_last_error());
    *ret = r;
    return 0;
}

/* Bytes(bytes) -> i32: the length, plus the first and last byte so the data is really read. */
static int bytes(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    size_t n = args[0].as.bytes.len;
    const uint8_t *p = args[0].as.bytes.ptr;
    *ret = hl_i32((int32_t)n + (n ? p[0] + p[n - 1] : 0));
    return 0;
}

/* TouchPages(n) -> i32: writes one byte in each of n distinct pages of a static buffer, so the
 * call dirties exactly n pages of its own (plus the stack and buffer pages any call writes). */
static int touch_pages(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    int32_t n = args[0].as.i32;
    if (n < 0 || n > TOUCH_PAGES)
        return hlg_fail("TouchPages: n must be 0..%d, got %d", TOUCH_PAGES, (int)n);
    touch_round++;
    for (int32_t i = 0; i < n; i++)
        touch_area[(size_t)i * PAGE] = touch_round;
    *ret = hl_i32(n);
    return 0;
}

/* Spins until the host interrupts the call (the interrupt-latency row). */
static int spin(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)args, (void)nargs, (void)ret;
    for (volatile unsigned long i = 0;; i++)
        ;
    return 0;
}

void hlg_main(void)
{
    hlg_register("Spin", HL_TYPE_VOID, NULL, 0, spin);
    hlg_register("Nop", HL_TYPE_VOID, NULL, 0, nop);
    hlg_register("Echo", HL_TYPE_STRING, HL_PARAMS(HL_TYPE_STRING), echo);
    hlg_register("CallHost", HL_TYPE_I32, NULL, 0, call_host);
    hlg_register("Bytes", HL_TYPE_I32, HL_PARAMS(HL_TYPE_BYTES), bytes);
    hlg_register("TouchPages", HL_TYPE_I32, HL_PARAMS(HL_TYPE_I32), touch_pages);
}
