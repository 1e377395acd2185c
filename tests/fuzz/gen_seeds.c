/* gen_seeds.c: writes the seed corpora of the wire, bstack and args fuzz targets (`make
 * fuzz-seeds` -> tests/fuzz/corpus/{wire,bstack,args}/): real messages made by the encoder, the
 * same damaged in the ways a hostile guest would, buffer stacks laid out by hand, and typical
 * and boundary hl-run arguments. The elf and snapshot corpora come from their tests (test_elf
 * and kvm_test_snapshot_files, --write-corpus). Usage: gen_seeds DIR (DIR/wire, ... exist). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static const char *root;

static void put_file(const char *target, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* ---------------------------------------------------------------- wire */

static uint8_t msg[4096];

static void wire(const char *name, size_t n)
{
    if (n == 0) {
        fprintf(stderr, "gen_seeds: %s did not encode\n", name);
        exit(1);
    }
    put_file("wire", name, msg, n);
}

/* msg[0..n) with the byte at `at` changed to v. */
static void wire_damaged(const char *name, size_t n, size_t at, uint8_t v)
{
    uint8_t copy[sizeof msg];
    memcpy(copy, msg, n);
    copy[at] = v;
    put_file("wire", name, copy, n);
}

/* The first keep bytes of msg. */
static void wire_cut(const char *name, size_t keep)
{
    put_file("wire", name, msg, keep);
}

static void wire_seeds(void)
{
    static const uint8_t blob[] = {0, 1, 2, 0xff, 0x80, 0};
    float nan32;
    uint32_t nan_bits = 0x7fc00123u;
    memcpy(&nan32, &nan_bits, 4);
    hl_value all[] = {hl_bool(true),
                      hl_i32(-42),
                      hl_u32(4000000000u),
                      hl_i64(-1),
                      hl_u64(1ull << 63),
                      hl_f32(nan32),
                      hl_f64(-0.0),
                      hl_str("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"),
                      hl_bytes(blob, sizeof blob)};
    hl_value two[] = {hl_i32(2), hl_i32(40)};
    hl_value bob = hl_str("Bob");
    hl_value many[HL_MAX_PARAMS];
    for (int i = 0; i < HL_MAX_PARAMS; i++)
        many[i] = hl_u32((uint32_t)i);
    size_t n;

    wire("call_add.bin", hl__wire_encode_call(msg, sizeof msg, "Add", 3, two, 2));
    wire("call_greet.bin", hl__wire_encode_call(msg, sizeof msg, "Greet", 5, &bob, 1));
    wire("call_no_args.bin", hl__wire_encode_call(msg, sizeof msg, "Ping", 4, NULL, 0));
    wire("call_32_args.bin", hl__wire_encode_call(msg, sizeof msg, "Many", 4, many, HL_MAX_PARAMS));
    n = hl__wire_encode_call(msg, sizeof msg, "AllTypes", 8, all, sizeof all / sizeof all[0]);
    wire("call_all_types.bin", n);
    wire_cut("call_truncated.bin", n / 2);
    wire_damaged("call_trailing_byte.bin", n + 1, n, 0);
    n = hl__wire_encode_call(msg, sizeof msg, "Greet", 5, &bob, 1);
    wire_damaged("call_string_without_nul.bin", n, n - 1, 'x');
    wire_damaged("call_string_len_huge.bin", n, 12, 0xff);
    wire_damaged("call_name_with_space.bin", n, 5, ' ');
    wire_damaged("call_33_args.bin", n, 1, HL_MAX_PARAMS + 1);
    wire_damaged("call_unknown_type.bin", n, 9, HL_TYPE_COUNT);
    wire_damaged("call_void_arg.bin", n, 9, HL_TYPE_VOID);
    wire_damaged("call_bad_utf8.bin", n, 15, 0xc0);
    wire_damaged("call_nul_in_string.bin", n, 15, 0);

    hl_value v = hl_void();
    wire("result_void.bin", hl__wire_encode_result(msg, sizeof msg, &v));
    v = hl_i32(42);
    wire("result_i32.bin", hl__wire_encode_result(msg, sizeof msg, &v));
    v = hl_f64(3.141592653589793);
    wire("result_f64.bin", hl__wire_encode_result(msg, sizeof msg, &v));
    v = hl_bytes(blob, sizeof blob);
    wire("result_bytes.bin", hl__wire_encode_result(msg, sizeof msg, &v));
    v = hl_str("hi Bob");
    wire("result_string.bin", n = hl__wire_encode_result(msg, sizeof msg, &v));
    memcpy(msg + 6, "\xed\xa0\x80", 3); /* U+D800 */
    wire("result_surrogate.bin", n);
    v = hl_bool(true);
    wire("result_bool.bin", n = hl__wire_encode_result(msg, sizeof msg, &v));
    wire_damaged("result_bool_2.bin", n, 2, 2);

    wire("error.bin", n = hl__wire_encode_error(msg, sizeof msg, -7, "out of memory", 13));
    wire_cut("error_truncated.bin", 7);
    wire("log.bin", n = hl__wire_encode_log(msg, sizeof msg, HL_ABI_LOG_INFO, 42, "guest.c", 7,
                                            "greeting Bob", 12));
    wire_damaged("log_level_0.bin", n, 1, 0);
    wire_damaged("log_level_6.bin", n, 1, 6);

    hl__wire_writer w;
    hl_type i32x2[] = {HL_TYPE_I32, HL_TYPE_I32}, str[] = {HL_TYPE_STRING};
    hl__wire_writer_init(&w, msg, sizeof msg);
    hl__wire_begin_sigs_writer(&w, 3);
    hl__wire_put_sig(&w, "Add", 3, HL_TYPE_I32, i32x2, 2);
    hl__wire_put_sig(&w, "Greet", 5, HL_TYPE_STRING, str, 1);
    hl__wire_put_sig(&w, "Nothing", 7, HL_TYPE_VOID, NULL, 0);
    wire("sigs.bin", n = w.len);
    wire_damaged("sigs_count_over_1024.bin", n, 2, 4); /* count 0x0403 */
    wire_damaged("sigs_void_param.bin", n, 10, HL_TYPE_VOID);
    wire_cut("sigs_missing_one.bin", n - 11);
    hl__wire_writer_init(&w, msg, sizeof msg);
    hl__wire_begin_sigs_writer(&w, 0);
    wire("sigs_empty.bin", w.len);

    put_file("wire", "empty.bin", msg, 0);
    for (uint8_t k = 0; k <= 6; k++) {
        char name[32];
        snprintf(name, sizeof name, "kind_%u_only.bin", k);
        put_file("wire", name, &k, 1);
    }
}

/* ---------------------------------------------------------------- bstack */

/* Header: cap, gpa (u16), size (u16), 8 operations (see fuzz_bstack.c); then the region bytes. */
static void bstack(const char *name, uint8_t cap, uint16_t gpa, uint16_t size, const char *ops,
                   const uint64_t *words, size_t nwords)
{
    uint8_t buf[13 + 64 * 8] = {cap, (uint8_t)gpa, (uint8_t)(gpa >> 8), (uint8_t)size,
                                (uint8_t)(size >> 8)};
    memcpy(buf + 5, ops, 8);
    memcpy(buf + 13, words, nwords * 8);
    put_file("bstack", name, buf, 13 + nwords * 8);
}

static void bstack_seeds(void)
{
    static const char pops[8] = {0},
                      pushes[8] = {(char)0x84, 0, (char)0x81, (char)0x90, 0, 0, (char)0xff, 0};
    /* Two elements: 8 bytes "AAAAAAAA" at 8 (back-pointer 8 at 16), 16 bytes at 24 (back 24). */
    uint64_t two[] = {48, 0x4141414141414141ull, 8, 0x4242424242424242ull, 0x4343434343434343ull,
                      24};
    uint64_t empty[] = {8};
    uint64_t zero_len[] = {16, 8}; /* an empty element */
    uint64_t sp_huge[] = {1ull << 40, 8};
    uint64_t sp_in_header[] = {12, 8};
    uint64_t back_loop[] = {24, 8, 16};    /* back-pointer pointing at itself */
    uint64_t back_below[] = {24, 0, 0};    /* back-pointer below the first element */
    uint64_t back_huge[] = {24, 0, ~0ull}; /* length would wrap */
    uint64_t back_over_sp[] = {24, 0, 23};
    bstack("two_elements.bin", 64, 4096, 4096, pops, two, 6);
    bstack("two_elements_small_cap.bin", 4, 4096, 4096, pops, two, 6);
    bstack("empty.bin", 16, 0, 4096, pops, empty, 1);
    bstack("push_pop.bin", 200, 8192, 512, pushes, empty, 1);
    bstack("push_until_full.bin", 0, 100, 80, "\xff\xff\xff\xff\xff\xff\xff\xff", empty, 1);
    bstack("zero_length_element.bin", 0, 64, 64, pops, zero_len, 2);
    bstack("sp_outside_region.bin", 16, 0, 4096, pops, sp_huge, 2);
    bstack("sp_in_header.bin", 16, 0, 4096, pushes, sp_in_header, 2);
    bstack("back_pointer_loop.bin", 16, 0, 4096, pops, back_loop, 3);
    bstack("back_pointer_below.bin", 16, 0, 4096, pops, back_below, 3);
    bstack("back_pointer_huge.bin", 16, 0, 4096, pops, back_huge, 3);
    bstack("back_pointer_above_sp.bin", 16, 0, 4096, pops, back_over_sp, 3);
    bstack("region_at_memory_end.bin", 16, 16380, 4, pops, empty, 1);
    bstack("region_smaller_than_sp.bin", 16, 0, 40, pops, two, 6);
}

/* ---------------------------------------------------------------- args */

static void args_seeds(void)
{
    static const char *const seeds[][2] = {
        {"bare_int", "42"},
        {"bare_negative", "-7"},
        {"bare_hex", "0x10"},
        {"bare_too_big", "4294967296"},
        {"bare_float", "1.5e300"},
        {"bare_word", "hello world"},
        {"i32_max", "i32:2147483647"},
        {"i32_overflow", "i32:-2147483649"},
        {"u32_max", "u32:4294967295"},
        {"u32_negative", "u32:-1"},
        {"u64_max", "u64:18446744073709551615"},
        {"i64_min", "i64:-9223372036854775808"},
        {"f32", "f32:3.5"},
        {"f64_negative_zero", "f64:-0.0"},
        {"f64_denormal", "f64:1e-320"},
        {"f64_nan", "f64:nan"},
        {"f64_hex", "f64:0x1.8p1"},
        {"bool_true", "true"},
        {"bool_prefixed", "bool:false"},
        {"str", "str:hello"},
        {"str_empty", "str:"},
        {"bytes_hex", "bytes:00ff10AB"},
        {"bytes_odd", "bytes:0"},
        {"bytes_bad_digit", "bytes:zz"},
        {"bytes_file", "bytes:@x"},
        {"size_k", "64K"},
        {"size_m", "16M"},
        {"size_g", "1g"},
        {"size_too_big", "17179869184G"},
        {"level_off", "off"},
        {"level_trace", "trace"},
        {"level_info", "info"},
        /* found by fuzz_args: strtoull skipped the whitespace and negated, so "u64:\t-1" was
         * UINT64_MAX and "\t-1" a size of SIZE_MAX (fixed in cli/args.c) */
        {"regress_tab_minus_one", "\t-1"},
        {"regress_u64_tab_minus_one", "u64:\t-1"},
        {"regress_vt_digit", "\v1"},
        {"empty", ""},
        {"leading_space", " 5"},
        {"plus", "+5"}};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        put_file("args", seeds[i][0], seeds[i][1], strlen(seeds[i][1]));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds DIR\n");
        return 2;
    }
    root = argv[1];
    wire_seeds();
    bstack_seeds();
    args_seeds();
    return 0;
}
