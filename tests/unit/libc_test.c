/* libc_test.c: tests the guest libc (built with hlt_-prefixed names) against glibc. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include "../../guest/libc/libc_internal.h"
#include "harness.h"

/* ---- the guest libc under its test names (see libc_rename.h) ---- */

void *hlt_memcpy(void *restrict dst, const void *restrict src, size_t n);
void *hlt_memmove(void *dst, const void *src, size_t n);
void *hlt_memset(void *dst, int c, size_t n);
int hlt_memcmp(const void *a, const void *b, size_t n);
void *hlt_memchr(const void *s, int c, size_t n);
size_t hlt_strlen(const char *s);
size_t hlt_strnlen(const char *s, size_t maxlen);
int hlt_strcmp(const char *a, const char *b);
int hlt_strncmp(const char *a, const char *b, size_t n);
int hlt_strcasecmp(const char *a, const char *b);
int hlt_strncasecmp(const char *a, const char *b, size_t n);
char *hlt_strcpy(char *restrict dst, const char *restrict src);
char *hlt_strncpy(char *restrict dst, const char *restrict src, size_t n);
char *hlt_strcat(char *restrict dst, const char *restrict src);
char *hlt_strncat(char *restrict dst, const char *restrict src, size_t n);
char *hlt_strchr(const char *s, int c);
char *hlt_strrchr(const char *s, int c);
char *hlt_strstr(const char *hay, const char *needle);
size_t hlt_strspn(const char *s, const char *accept);
size_t hlt_strcspn(const char *s, const char *reject);
char *hlt_strtok(char *restrict s, const char *restrict delim);
char *hlt_strtok_r(char *restrict s, const char *restrict delim, char **restrict save);
char *hlt_strdup(const char *s);
char *hlt_strndup(const char *s, size_t n);

int hlt_isalpha(int c);
int hlt_isdigit(int c);
int hlt_isalnum(int c);
int hlt_isspace(int c);
int hlt_isupper(int c);
int hlt_islower(int c);
int hlt_isxdigit(int c);
int hlt_isprint(int c);
int hlt_ispunct(int c);
int hlt_iscntrl(int c);
int hlt_isgraph(int c);
int hlt_toupper(int c);
int hlt_tolower(int c);

double hlt_fabs(double x);
float hlt_fabsf(float x);
double hlt_copysign(double x, double y);
double hlt_floor(double x);
float hlt_floorf(float x);
double hlt_ceil(double x);
float hlt_ceilf(float x);
double hlt_trunc(double x);
float hlt_truncf(float x);
double hlt_round(double x);
float hlt_roundf(float x);
double hlt_sqrt(double x);
float hlt_sqrtf(float x);
double hlt_fmod(double x, double y);

void *hlt_malloc(size_t size);
void *hlt_calloc(size_t nmemb, size_t size);
void *hlt_realloc(void *ptr, size_t size);
void hlt_free(void *ptr);

extern int hlt_errno;
int hlt_atoi(const char *s);
long hlt_atol(const char *s);
long hlt_strtol(const char *restrict s, char **restrict end, int base);
unsigned long hlt_strtoul(const char *restrict s, char **restrict end, int base);
long long hlt_strtoll(const char *restrict s, char **restrict end, int base);
unsigned long long hlt_strtoull(const char *restrict s, char **restrict end, int base);
int hlt_abs(int x);
long hlt_labs(long x);
long long hlt_llabs(long long x);
void hlt_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
void *hlt_bsearch(const void *key, const void *base, size_t n, size_t size,
                  int (*cmp)(const void *, const void *));
int hlt_rand(void);
void hlt_srand(unsigned seed);
_Noreturn void hlt_abort(void);

int hlt_snprintf(char *restrict buf, size_t n, const char *restrict fmt, ...);
int hlt_vsnprintf(char *restrict buf, size_t n, const char *restrict fmt, va_list ap);
int hlt_printf(const char *restrict fmt, ...);
int hlt_vprintf(const char *restrict fmt, va_list ap);
int hlt_puts(const char *s);
int hlt_putchar(int c);

int probe_assert(int v);
int probe_assert_ndebug(int v);
int probe_math_macros(void);

/* ---- stubs for what the guest runtime provides ---- */

static jmp_buf abort_jmp;
static int abort_armed, abort_code;
static char abort_msg[512];

/* Runs `stmt`, expecting it to end in hlg_abort with `code`; leaves the message in abort_msg. */
#define EXPECT_ABORT(code, stmt)                                                                   \
    do {                                                                                           \
        abort_code = -1;                                                                           \
        if (setjmp(abort_jmp) == 0) {                                                              \
            abort_armed = 1;                                                                       \
            stmt;                                                                                  \
            abort_armed = 0;                                                                       \
            hl_test_fail(__FILE__, __LINE__, "%s did not abort", #stmt);                           \
        }                                                                                          \
        abort_armed = 0;                                                                           \
        CHECK_EQ(abort_code, (code));                                                              \
    } while (0)

void hlg_abort(int32_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(abort_msg, sizeof(abort_msg), fmt, ap);
    va_end(ap);
    if (!abort_armed)
        hl_test_fail(__FILE__, __LINE__, "unexpected hlg_abort(%d, \"%s\")", (int)code, abort_msg);
    abort_code = code;
    longjmp(abort_jmp, 1);
}

void hlg__assert_fail(const char *expr, const char *file, int line)
{
    hlg_abort(HLG_ASSERT_CODE, "assertion failed: %s (%s:%d)", expr, file, line);
}

static char printed[8192];
static size_t printed_len;
static int print_calls;

void hlg__print(const char *s, size_t len)
{
    CHECK(printed_len + len < sizeof(printed));
    memcpy(printed + printed_len, s, len);
    printed_len += len;
    printed[printed_len] = '\0';
    print_calls++;
}

/* ---- helpers ---- */

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double bits_to_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

static uint64_t double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static int sign_of(int x)
{
    return (x > 0) - (x < 0);
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- string.h ---- */

TEST(test_string_mem)
{
    unsigned char src[300], a[300], b[300];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (unsigned char)(i * 7 + 3);
    for (size_t off = 0; off < 9; off++) {
        for (size_t n = 0; n < 260; n += 1 + n / 8) {
            memset(a, 0xee, sizeof(a));
            memset(b, 0xee, sizeof(b));
            CHECK(hlt_memcpy(a + off, src + (n % 5), n) == a + off);
            memcpy(b + off, src + (n % 5), n);
            CHECK_MEMEQ(a, b, sizeof(a));
            CHECK(hlt_memset(a + off, 0x1c5, n) == a + off); /* only the low byte counts */
            memset(b + off, 0xc5, n);
            CHECK_MEMEQ(a, b, sizeof(a));
            for (int shift = -9; shift <= 9; shift++) { /* overlapping both ways */
                memcpy(a, src, sizeof(a));
                memcpy(b, src, sizeof(b));
                CHECK(hlt_memmove(a + 20 + off + shift, a + 20 + off, n) == a + 20 + off + shift);
                memmove(b + 20 + off + shift, b + 20 + off, n);
                CHECK_MEMEQ(a, b, sizeof(a));
            }
        }
    }
    memcpy(a, src, sizeof(a));
    memcpy(b, src, sizeof(b));
    CHECK_EQ(hlt_memcmp(a, b, sizeof(a)), 0);
    CHECK_EQ(hlt_memcmp(a, b, 0), 0);
    b[100] = 0xff;
    a[100] = 0x01;
    CHECK(hlt_memcmp(a, b, sizeof(a)) < 0); /* compared as unsigned char */
    CHECK(hlt_memcmp(b, a, sizeof(a)) > 0);
    CHECK_EQ(hlt_memcmp(a, b, 100), 0);
    CHECK(hlt_memchr(src, src[77], sizeof(src)) == memchr(src, src[77], sizeof(src)));
    CHECK(hlt_memchr(src, src[77] + 256, sizeof(src)) == memchr(src, src[77], sizeof(src)));
    CHECK(hlt_memchr(src, src[77], 77) == memchr(src, src[77], 77));
    CHECK(hlt_memchr(src, 0, 0) == NULL);
}

TEST(test_string_str)
{
    /* clang-format off */
    static const char *const strs[] = {"", "a", "abc", "abd", "ab", "ABC", "aBc", "abc\xff",
                                       "abc\x01", "hello world", "Hello World", "zzz"};
    /* clang-format on */
    for (size_t i = 0; i < ARRAY_LEN(strs); i++) {
        const char *s = strs[i];
        CHECK_EQ(hlt_strlen(s), strlen(s));
        for (size_t n = 0; n < 14; n++)
            CHECK_EQ(hlt_strnlen(s, n), strnlen(s, n));
        for (size_t j = 0; j < ARRAY_LEN(strs); j++) {
            const char *t = strs[j];
            CHECK_EQ(sign_of(hlt_strcmp(s, t)), sign_of(strcmp(s, t)));
            CHECK_EQ(sign_of(hlt_strcasecmp(s, t)), sign_of(strcasecmp(s, t)));
            for (size_t n = 0; n < 6; n++) {
                CHECK_EQ(sign_of(hlt_strncmp(s, t, n)), sign_of(strncmp(s, t, n)));
                CHECK_EQ(sign_of(hlt_strncasecmp(s, t, n)), sign_of(strncasecmp(s, t, n)));
            }
            CHECK(hlt_strstr(s, t) == strstr(s, t));
            CHECK_EQ(hlt_strspn(s, t), strspn(s, t));
            CHECK_EQ(hlt_strcspn(s, t), strcspn(s, t));
        }
        for (int c = 0; c < 256; c++) {
            CHECK(hlt_strchr(s, c) == strchr(s, c));
            CHECK(hlt_strrchr(s, c) == strrchr(s, c));
        }
        CHECK(hlt_strchr(s, 'b' + 256) == strchr(s, 'b'));
    }
    CHECK(hlt_strstr("aaab", "aab") == strstr("aaab", "aab"));
    CHECK(hlt_strrchr("abcabc", 'b') == strrchr("abcabc", 'b'));
}

TEST(test_string_copy)
{
    char a[32], b[32];
    memset(a, 'x', sizeof(a));
    memset(b, 'x', sizeof(b));
    CHECK(hlt_strcpy(a, "hello") == a);
    strcpy(b, "hello");
    CHECK_MEMEQ(a, b, sizeof(a));
    CHECK(hlt_strcat(a, ", world") == a);
    strcat(b, ", world");
    CHECK_MEMEQ(a, b, sizeof(a));
    for (size_t n = 0; n < 12; n++) {
        memset(a, 'x', sizeof(a));
        memset(b, 'x', sizeof(b));
        CHECK(hlt_strncpy(a, "hello", n) == a);
        strncpy(b, "hello", n);
        CHECK_MEMEQ(a, b, sizeof(a));
        strcpy(a, "ab");
        strcpy(b, "ab");
        CHECK(hlt_strncat(a, "cdefg", n) == a);
        strncat(b, "cdefg", n);
        CHECK_MEMEQ(a, b, sizeof(a));
    }
}

TEST(test_string_tok_dup)
{
    static char heap_mem[4096] __attribute__((aligned(16)));
    hlg__heap_init(heap_mem, sizeof(heap_mem));
    char a[] = ",,one,two;;three,", b[] = ",,one,two;;three,";
    char *sa, *sb;
    char *ta = hlt_strtok_r(a, ",;", &sa), *tb = strtok_r(b, ",;", &sb);
    for (; ta || tb; ta = hlt_strtok_r(NULL, ",;", &sa), tb = strtok_r(NULL, ",;", &sb)) {
        CHECK(ta && tb);
        CHECK_EQ(ta - a, tb - b);
        CHECK_STREQ(ta, tb);
    }
    CHECK(hlt_strtok_r(NULL, ",", &sa) == NULL);
    CHECK(hlt_strtok(NULL, " ") == NULL); /* no string yet */
    char c[] = "  x y  ";
    CHECK_STREQ(hlt_strtok(c, " "), "x");
    CHECK_STREQ(hlt_strtok(NULL, " "), "y");
    CHECK(hlt_strtok(NULL, " ") == NULL);
    CHECK(hlt_strtok(NULL, " ") == NULL);
    char *d = hlt_strdup("duplicate me");
    CHECK_STREQ(d, "duplicate me");
    char *e = hlt_strndup("duplicate me", 9);
    CHECK_STREQ(e, "duplicate");
    char *f = hlt_strndup("ab", 9);
    CHECK_STREQ(f, "ab");
    hlt_free(d);
    hlt_free(e);
    hlt_free(f);
    CHECK_EQ(hlg__heap_used(), 0);
    static char big[8192];
    memset(big, 'a', sizeof(big) - 1);
    CHECK(hlt_strdup(big) == NULL); /* larger than the heap */
    CHECK_EQ(hlt_errno, ENOMEM);
}

/* ---- ctype.h ---- */

TEST(test_ctype)
{
    static int (*const ours[])(int) = {hlt_isalpha, hlt_isdigit, hlt_isalnum,  hlt_isspace,
                                       hlt_isupper, hlt_islower, hlt_isxdigit, hlt_isprint,
                                       hlt_ispunct, hlt_iscntrl, hlt_isgraph};
    static int (*const theirs[])(int) = {isalpha,  isdigit, isalnum, isspace, isupper, islower,
                                         isxdigit, isprint, ispunct, iscntrl, isgraph};
    for (int c = -1; c < 256; c++) { /* glibc's "C" locale; -1 is EOF */
        for (size_t f = 0; f < ARRAY_LEN(ours); f++)
            if (!ours[f](c) != !theirs[f](c))
                hl_test_fail(__FILE__, __LINE__, "class %zu differs for %d", f, c);
        CHECK_EQ(hlt_toupper(c), toupper(c));
        CHECK_EQ(hlt_tolower(c), tolower(c));
    }
}

/* ---- math.h ---- */

static void check_same(double got, double want, const char *what, double x)
{
    if (double_bits(got) != double_bits(want) && !(isnan(got) && isnan(want)))
        hl_test_fail(__FILE__, __LINE__, "%s(%a) = %a, glibc %a", what, x, got, want);
}

/* clang-format off */
static const double math_special[] = {
    0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994,
    -0.49999999999999994, 4503599627370495.5, -4503599627370495.5, 4503599627370496.0,
    9007199254740993.0, 1e300, -1e300, 5e-324, -5e-324, 2.2250738585072014e-308, INFINITY,
    -INFINITY, NAN, 3.0, 4.0, 2.0, 1e-300, 0.1, 7.0};
/* clang-format on */

/* A random double: any bit pattern, or a short binary fraction (near integers and halves). */
static double math_random(void)
{
    uint64_t r = rng();
    if (r & 1)
        return bits_to_double(rng());
    return (double)((int64_t)r >> 20) / (double)(1u << (r >> 1) % 32);
}

static void check_unary(double x)
{
    float f = (float)x;
    check_same(hlt_fabs(x), fabs(x), "fabs", x);
    check_same(hlt_floor(x), floor(x), "floor", x);
    check_same(hlt_ceil(x), ceil(x), "ceil", x);
    check_same(hlt_trunc(x), trunc(x), "trunc", x);
    check_same(hlt_round(x), round(x), "round", x);
    check_same(hlt_sqrt(x), sqrt(x), "sqrt", x);
    check_same(hlt_fabsf(f), fabsf(f), "fabsf", f);
    check_same(hlt_floorf(f), floorf(f), "floorf", f);
    check_same(hlt_ceilf(f), ceilf(f), "ceilf", f);
    check_same(hlt_truncf(f), truncf(f), "truncf", f);
    check_same(hlt_roundf(f), roundf(f), "roundf", f);
    check_same(hlt_sqrtf(f), sqrtf(f), "sqrtf", f);
}

static void check_binary(double x, double y)
{
    check_same(hlt_copysign(x, y), copysign(x, y), "copysign", x);
    check_same(hlt_fmod(x, y), fmod(x, y), "fmod", x);
}

TEST(test_math)
{
    for (size_t i = 0; i < ARRAY_LEN(math_special); i++) {
        check_unary(math_special[i]);
        for (size_t j = 0; j < ARRAY_LEN(math_special); j++)
            check_binary(math_special[i], math_special[j]);
    }
    for (int i = 0; i < 200000; i++) {
        check_unary(math_random());
        check_binary(math_random(), math_random());
    }
    check_binary(1e308, 3e-308);
    check_binary(-1e308, 5e-324);
    check_same(hlt_fmod(7.0, -2.0), 1.0, "fmod", 7.0);
    check_same(hlt_fmod(-6.0, 2.0), -0.0, "fmod", -6.0);
    CHECK_EQ(probe_math_macros(), 0x7ff);
}

/* ---- stdlib.h: heap ---- */

static char arena[1 << 20] __attribute__((aligned(16)));

TEST(test_malloc_basic)
{
    hlg__heap_init(arena + 8, sizeof(arena) - 8); /* a misaligned base is aligned up */
    CHECK_EQ(hlg__heap_used(), 0);
    void *z1 = hlt_malloc(0), *z2 = hlt_malloc(0);
    CHECK(z1 && z2 && z1 != z2); /* malloc(0): unique pointers */
    hlt_free(z1);
    hlt_free(z2);
    hlt_free(NULL);
    for (size_t n = 1; n < 100; n++) {
        char *p = hlt_malloc(n);
        CHECK(p != NULL);
        CHECK_EQ((uintptr_t)p % 16, 0);
        memset(p, 0x5a, n);
        hlt_free(p);
    }
    unsigned char *c = hlt_calloc(100, 7);
    CHECK(c != NULL);
    for (int i = 0; i < 700; i++)
        CHECK_EQ(c[i], 0);
    hlt_errno = 0;
    CHECK(hlt_calloc(SIZE_MAX / 2, 3) == NULL); /* nmemb * size overflows */
    CHECK_EQ(hlt_errno, ENOMEM);
    void *c0 = hlt_calloc(0, 5); /* like malloc(0) */
    CHECK(c0 != NULL);
    hlt_free(c0);
    char *r = hlt_realloc(NULL, 10); /* realloc(NULL, n) = malloc(n) */
    CHECK(r != NULL);
    memcpy(r, "123456789", 10);
    r = hlt_realloc(r, 5000);
    CHECK_STREQ(r, "123456789");
    r = hlt_realloc(r, 0); /* shrinks, never frees */
    CHECK(r != NULL && r[0] == '1');
    hlt_free(r);
    hlt_free(c);
    CHECK_EQ(hlg__heap_used(), 0);
    hlg__heap_init(NULL, 0); /* no heap: everything fails softly */
    CHECK(hlt_malloc(1) == NULL);
    hlg__heap_init(arena, 40);
    CHECK(hlt_malloc(1) == NULL);
    hlg__heap_init(arena, 48); /* exactly one minimum block */
    void *one = hlt_malloc(16);
    CHECK(one != NULL);
    CHECK(hlt_malloc(0) == NULL);
    hlt_free(one);
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i * 31);
}

static void check_fill(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i * 31))
            hl_test_fail(__FILE__, __LINE__, "block %u damaged at byte %zu of %zu", seed, i, n);
}

static size_t random_size(void)
{
    uint64_t r = rng();
    return (r & 7) == 0 ? (size_t)(r >> 8) % 40000 : (size_t)(r >> 8) % 300;
}

TEST(test_malloc_stress)
{
    enum { SLOTS = 400 };
    static unsigned char *ptr[SLOTS];
    static size_t size[SLOTS];
    size_t live = 0, nulls = 0;
    hlg__heap_init(arena + 3, sizeof(arena) - 3);
    for (int step = 0; step < 300000; step++) {
        unsigned s = (unsigned)(rng() % SLOTS);
        size_t n = random_size();
        unsigned char *p;
        if (!ptr[s]) {
            p = hlt_malloc(n);
        } else if (rng() & 1) {
            check_fill(ptr[s], size[s], s);
            hlt_free(ptr[s]);
            live -= size[s];
            ptr[s] = NULL;
            continue;
        } else {
            check_fill(ptr[s], size[s], s);
            p = hlt_realloc(ptr[s], n);
            if (!p) { /* the old block must be intact */
                check_fill(ptr[s], size[s], s);
                nulls++;
                continue;
            }
            check_fill(p, n < size[s] ? n : size[s], s);
            live -= size[s];
        }
        if (!p) {
            nulls++;
            ptr[s] = NULL;
            continue;
        }
        CHECK_EQ((uintptr_t)p % 16, 0);
        CHECK(p >= (unsigned char *)arena && p + n <= (unsigned char *)arena + sizeof(arena));
        fill(p, n, s);
        ptr[s] = p;
        size[s] = n;
        live += n;
        CHECK(hlg__heap_used() >= live);
    }
    for (unsigned s = 0; s < SLOTS; s++) {
        if (ptr[s])
            check_fill(ptr[s], size[s], s);
        hlt_free(ptr[s]);
    }
    CHECK_EQ(hlg__heap_used(), 0);
    void *all = hlt_malloc(sizeof(arena) - 64); /* everything merged back into one block */
    CHECK(all != NULL);
    hlt_free(all);
    printf("    %zu allocations hit out-of-memory\n", nulls);
}

TEST(test_malloc_oom)
{
    enum { MAXB = 2000 };
    static void *blocks[MAXB];
    hlg__heap_init(arena, 256 * 1024);
    hlt_errno = 0;
    CHECK(hlt_malloc(SIZE_MAX) == NULL);
    CHECK_EQ(hlt_errno, ENOMEM);
    CHECK(hlt_malloc(SIZE_MAX - 16) == NULL);
    CHECK(hlt_malloc(256 * 1024) == NULL);
    int n = 0;
    while (n < MAXB && (blocks[n] = hlt_malloc(1000)) != NULL)
        n++;
    CHECK(n > 200 && n < MAXB);
    size_t full = hlg__heap_used();
    for (int i = 0; i < n; i += 2)
        hlt_free(blocks[i]);
    CHECK(hlg__heap_used() < full);
    CHECK(hlt_malloc(3000) == NULL); /* only 1000-byte holes between live blocks */
    void *small = hlt_malloc(500);
    CHECK(small != NULL);
    void *grown = hlt_realloc(blocks[1], 100000);
    CHECK(grown == NULL);
    CHECK(hlt_realloc(blocks[1], SIZE_MAX) == NULL);
    hlt_free(small);
    for (int i = 1; i < n; i += 2)
        hlt_free(blocks[i]);
    CHECK_EQ(hlg__heap_used(), 0);
    void *all = hlt_malloc(256 * 1024 - 64);
    CHECK(all != NULL);
    hlt_free(all);
}

/* The heap grows upwards on demand: memory past what it handed out stays untouched (a guest
 * page is only faulted in once used), and the top block grows in place. */
TEST(test_malloc_touches_only_what_it_hands_out)
{
    enum { SIZE = 64 * 1024 };
    memset(arena, 0xee, SIZE);
    hlg__heap_init(arena, SIZE);
    char *a = hlt_malloc(100);
    CHECK(a == arena + 16);
    for (size_t i = 256; i < SIZE; i++)
        if ((unsigned char)arena[i] != 0xee)
            hl_test_fail(__FILE__, __LINE__, "byte %zu of the heap was written", i);
    char *b = hlt_realloc(a, 10000); /* the top block grows where it is */
    CHECK(b == a);
    char *c = hlt_malloc(100);
    hlt_free(c);
    char *d = hlt_malloc(1000); /* a free top block is taken in and grown */
    CHECK(d == c);
    CHECK((unsigned char)arena[16 + 10016 + 1040 + 64] == 0xee);
    hlt_free(b);
    hlt_free(d);
    CHECK_EQ(hlg__heap_used(), 0);
    void *all = hlt_malloc(SIZE - 64); /* everything merged back into one block */
    CHECK(all != NULL);
    hlt_free(all);
}

TEST(test_malloc_corrupt)
{
    static long on_stack_like[8];
    hlg__heap_init(arena, 64 * 1024);
    char *p = hlt_malloc(100), *q = hlt_malloc(100);
    hlt_free(p);
    EXPECT_ABORT(HLG_LIBC_HEAP_CORRUPT, hlt_free(p));
    CHECK_CONTAINS(abort_msg, "double free");
    EXPECT_ABORT(HLG_LIBC_HEAP_CORRUPT, hlt_free(q + 16));
    EXPECT_ABORT(HLG_LIBC_HEAP_CORRUPT, hlt_free(q + 8));
    CHECK_CONTAINS(abort_msg, "not from malloc");
    EXPECT_ABORT(HLG_LIBC_HEAP_CORRUPT, hlt_free(&on_stack_like[2]));
    EXPECT_ABORT(HLG_LIBC_HEAP_CORRUPT, hlt_realloc(&on_stack_like[2], 10));
    memset(q - 16, 0xaa, 16); /* an overrun from the block below */
    EXPECT_ABORT(HLG_LIBC_HEAP_CORRUPT, hlt_free(q));

    hlg__heap_init(arena, 64 * 1024);
    p = hlt_malloc(100);
    q = hlt_malloc(100);
    char *r = hlt_malloc(100);
    hlt_free(p);
    hlt_free(q); /* merged into p: q's header is gone */
    EXPECT_ABORT(HLG_LIBC_HEAP_CORRUPT, hlt_free(q));
    memset(p, 0x41, 16); /* use after free: smashes the free-list links */
    EXPECT_ABORT(HLG_LIBC_HEAP_CORRUPT, hlt_malloc(50));
    CHECK_CONTAINS(abort_msg, "free list");
    (void)r;
}

/* ---- stdlib.h: numbers, sorting, rand, abort ---- */

/* An invalid base is not compared for endptr: glibc leaves it alone, ours sets it to s. */
static void check_strto(const char *s, int base)
{
    if (base == 1 || base < 0 || base > 36) {
        char *end = NULL;
        hlt_errno = 0;
        CHECK_EQ(hlt_strtoll(s, &end, base), 0);
        CHECK_EQ(hlt_errno, EINVAL);
        CHECK(end == s);
        hlt_errno = 0;
        CHECK_EQ(hlt_strtoul(s, NULL, base), 0);
        CHECK_EQ(hlt_errno, EINVAL);
        return;
    }
    char *e1, *e2;
    errno = 0;
    hlt_errno = 0;
    long long a = hlt_strtoll(s, &e1, base);
    int ea = hlt_errno;
    long long b = strtoll(s, &e2, base);
    if (a != b || e1 != e2 || ea != errno)
        hl_test_fail(__FILE__, __LINE__,
                     "strtoll(\"%s\", %d) = %lld end+%td errno %d, glibc %lld end+%td errno %d", s,
                     base, a, e1 - s, ea, b, e2 - s, errno);
    errno = hlt_errno = 0;
    unsigned long long c = hlt_strtoull(s, &e1, base);
    ea = hlt_errno;
    unsigned long long d = strtoull(s, &e2, base);
    if (c != d || e1 != e2 || ea != errno)
        hl_test_fail(__FILE__, __LINE__,
                     "strtoull(\"%s\", %d) = %llu end+%td errno %d, glibc %llu end+%td errno %d", s,
                     base, c, e1 - s, ea, d, e2 - s, errno);
    errno = hlt_errno = 0;
    CHECK_EQ(hlt_strtol(s, &e1, base), strtol(s, &e2, base));
    CHECK(e1 == e2);
    CHECK_EQ(hlt_errno, errno);
    errno = hlt_errno = 0;
    CHECK_U64_EQ(hlt_strtoul(s, &e1, base), strtoul(s, &e2, base));
    CHECK(e1 == e2);
    CHECK_EQ(hlt_errno, errno);
    CHECK_EQ(hlt_strtoll(s, NULL, base), strtoll(s, NULL, base));
}

TEST(test_strto)
{
    /* clang-format off */
    static const char *const strs[] = {
        "0", "1", "-1", "+1", "  42", "\t\n\v\f\r 42xyz", "42 ", "", "   ", "-", "+", "0x",
        "0X", "0x1f", "0X1F", "0x1g", "0xg", "-0x10", " +0x7fffffffffffffff", "0x-1", "1f", "ff",
        "FF", "z", "Z", "zz", "077", "08", "0b101", "101", "--1", "+-1", "- 1", "1e5",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "-9223372036854775809", "18446744073709551615", "18446744073709551616",
        "-18446744073709551615", "-18446744073709551616", "99999999999999999999999999x",
        "-99999999999999999999999", "2147483647", "2147483648", "-2147483649", "4294967295",
        "4294967296", "1234567890123456789012345678901234567890", "0xffffffffffffffff",
        "0x10000000000000000", "01777777777777777777777", "02000000000000000000000",
        "zzzzzzzzzzzzz", "3w5e11264sgsf", "3w5e11264sgsg", "-3w5e11264sgsg", "1y2p0ij32e8e7",
        "1111111111111111111111111111111111111111111111111111111111111111",
        "10000000000000000000000000000000000000000000000000000000000000000", "0x0", "00", "0 1",
        "\3771", "9", "7", "a", "A", "_1", "1_000"};
    /* clang-format on */
    static const int bases[] = {0, 2, 8, 10, 16, 36, 3, 35, 1, 37, -1};
    for (size_t i = 0; i < ARRAY_LEN(strs); i++)
        for (size_t j = 0; j < ARRAY_LEN(bases); j++)
            check_strto(strs[i], bases[j]);
    CHECK_EQ(hlt_atoi("  -123abc"), -123);
    CHECK_EQ(hlt_atoi("2147483647"), INT_MAX);
    CHECK_EQ(hlt_atol("-9223372036854775808"), LONG_MIN);
    CHECK_EQ(hlt_atol("junk"), 0);
    CHECK_EQ(hlt_abs(-5), 5);
    CHECK_EQ(hlt_abs(INT_MAX), INT_MAX);
    CHECK_EQ(hlt_labs(LONG_MIN + 1), LONG_MAX);
    CHECK_EQ(hlt_llabs(-7LL), 7);
}

typedef struct triple {
    unsigned char b[3];
} triple;

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_triple(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(triple));
}

TEST(test_qsort_bsearch)
{
    static int a[3000], b[3000];
    for (size_t n = 0; n < ARRAY_LEN(a); n = n * 3 + 1) {
        for (size_t i = 0; i < n; i++)
            a[i] = b[i] = (int)(rng() % (n + 1)) - (int)(n / 2);
        hlt_qsort(a, n, sizeof(int), cmp_int);
        qsort(b, n, sizeof(int), cmp_int);
        CHECK_MEMEQ(a, b, n * sizeof(int));
        for (int key = -(int)n / 2 - 2; key < (int)n / 2 + 2; key++) {
            int *got = hlt_bsearch(&key, a, n, sizeof(int), cmp_int);
            int *want = bsearch(&key, b, n, sizeof(int), cmp_int);
            CHECK(!got == !want);
            CHECK(!got || *got == key);
        }
    }
    static triple t[500], u[500];
    for (size_t i = 0; i < ARRAY_LEN(t); i++)
        for (int k = 0; k < 3; k++)
            t[i].b[k] = u[i].b[k] = (unsigned char)(rng() % 4);
    hlt_qsort(t, ARRAY_LEN(t), sizeof(triple), cmp_triple);
    qsort(u, ARRAY_LEN(u), sizeof(triple), cmp_triple);
    CHECK_MEMEQ(t, u, sizeof(t));
    hlt_qsort(NULL, 0, 8, cmp_int);
    CHECK(hlt_bsearch(&a[0], NULL, 0, sizeof(int), cmp_int) == NULL);
}

TEST(test_rand)
{
    int first[8];
    for (int i = 0; i < 8; i++)
        first[i] = hlt_rand(); /* unseeded: as srand(1) */
    hlt_srand(1);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(hlt_rand(), first[i]);
    hlt_srand(12345);
    int again = hlt_rand();
    hlt_srand(12345);
    CHECK_EQ(hlt_rand(), again);
    hlt_srand(12346);
    CHECK(hlt_rand() != again);
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        int r = hlt_rand();
        CHECK(r >= 0 && r <= 0x7fffffff);
        sum += r;
    }
    double mean = sum / 100000 / 0x7fffffff;
    CHECK(mean > 0.49 && mean < 0.51);
}

TEST(test_abort_assert)
{
    EXPECT_ABORT(HLG_LIBC_ABORT_CODE, hlt_abort());
    CHECK_STREQ(abort_msg, "abort() called");
    CHECK_EQ(probe_assert(3), 3);
    EXPECT_ABORT(HLG_ASSERT_CODE, probe_assert(0));
    CHECK_CONTAINS(abort_msg, "assertion failed: v > 0 (");
    CHECK_CONTAINS(abort_msg, "libc_probe.c:");
    CHECK_EQ(probe_assert_ndebug(0), 0); /* NDEBUG: no check */
}

/* ---- stdio.h ---- */

/* Formats with both snprintf's and fails on any difference in text or return value. */
#define CMP_FMT(fmt, ...)                                                                          \
    do {                                                                                           \
        char a_[4096], b_[4096];                                                                   \
        int ra_ = hlt_snprintf(a_, sizeof(a_), (fmt), __VA_ARGS__);                                \
        int rb_ = snprintf(b_, sizeof(b_), (fmt), __VA_ARGS__);                                    \
        if (ra_ != rb_ || strcmp(a_, b_) != 0)                                                     \
            hl_test_fail(__FILE__, __LINE__, "format \"%s\": got \"%s\" (%d), glibc \"%s\" (%d)",  \
                         (fmt), a_, ra_, b_, rb_);                                                 \
    } while (0)

TEST(test_snprintf_int)
{
    /* clang-format off */
    static const char *const ifmt[] = {
        "%d", "%i", "%5d", "%-5d|", "%05d", "%+d", "% d", "%+05d", "% 05d", "%.3d", "%8.3d",
        "%-8.3d|", "%08.3d", "%.0d", "%5.0d", "%u", "%x", "%X", "%#x", "%#X", "%o", "%#o",
        "%#.0o", "%.0x", "%#08x", "%-#8x|", "%hhd", "%hd", "%hhu", "%hu", "%hhx", "%+.0d",
        "% .0d", "%#.3x", "%#5o", "%- 6d|", "%+-6d|", "%-06d|", "%#.3o", "%+u", "% x",
        "a%db%dc", "%%%d%%", "%12.10x", "%#12.10o", "%#-12.10X|", "%c%d"};
    /* clang-format on */
    /* clang-format off */
    static const int ival[] = {0, 1, -1, 7, 8, 42, -42, 255, 256, -128, 127, 32767, -32768,
                               65535, 100000, 0x12345678, INT_MAX, INT_MIN, 0x41};
    /* clang-format on */
    for (size_t f = 0; f < ARRAY_LEN(ifmt); f++)
        for (size_t v = 0; v < ARRAY_LEN(ival); v++)
            CMP_FMT(ifmt[f], ival[v], ival[(v + 3) % ARRAY_LEN(ival)]);
    /* clang-format off */
    static const char *const lfmt[] = {
        "%lld", "%lli", "%llu", "%llx", "%llX", "%#llo", "%+lld", "%20lld", "%-20lld|",
        "%020lld", "%.25lld", "%jd", "%ju", "%jx", "%ld", "%lu", "%lx", "%#lx", "%zu", "%zd",
        "%zx", "%td", "%tu", "%tx", "% lld", "%+.30lld", "%-+30lld|"};
    /* clang-format on */
    /* clang-format off */
    static const long long lval[] = {0, 1, -1, LLONG_MAX, LLONG_MIN, (long long)ULLONG_MAX,
                                     1000000000000000000LL, -999999999999LL, 0x123456789abcdefLL,
                                     INT_MAX + 1LL, INT_MIN - 1LL};
    /* clang-format on */
    for (size_t f = 0; f < ARRAY_LEN(lfmt); f++)
        for (size_t v = 0; v < ARRAY_LEN(lval); v++)
            CMP_FMT(lfmt[f], lval[v]);
    for (int w = -12; w <= 12; w += 3) {
        CMP_FMT("%*d|", w, 42);
        CMP_FMT("%-*d|", w, -42);
        CMP_FMT("%.*d|", w, 42);
        CMP_FMT("%*.*d|", w, w + 4, -42);
        CMP_FMT("%0*d|", w, -42);
        CMP_FMT("%*.*f|", w, w, 3.25);
        CMP_FMT("%.*s|", w, "truncate me");
    }
}

TEST(test_snprintf_str)
{
    /* clang-format off */
    static const char *const sfmt[] = {"%s", "%10s|", "%-10s|", "%.2s", "%10.2s|", "%.0s|",
                                       "%.10s", "%-3.1s|", "%05s", "[%s]"};
    /* clang-format on */
    static const char *const sval[] = {"hello", "", "a longer string here", "x"};
    for (size_t f = 0; f < ARRAY_LEN(sfmt); f++)
        for (size_t v = 0; v < ARRAY_LEN(sval); v++)
            CMP_FMT(sfmt[f], sval[v]);
    static const char *const nfmt[] = {"%s", "%.3s|", "%.6s|", "%10s|", "%-10.8s|"};
    for (size_t f = 0; f < ARRAY_LEN(nfmt); f++)
        CMP_FMT(nfmt[f], (char *)NULL);
    static const char *const cfmt[] = {"%c", "%5c|", "%-5c|", "%05c", "%lc"};
    for (size_t f = 0; f < ARRAY_LEN(cfmt); f++) {
        CMP_FMT(cfmt[f], 'a');
        CMP_FMT(cfmt[f], '~');
    }
    char buf[32];
    CHECK_EQ(hlt_snprintf(buf, sizeof(buf), "%c%c", 0, 'x'), 2); /* a NUL char is output too */
    CHECK(buf[0] == 0 && buf[1] == 'x');
    /* clang-format off */
    static const char *const pfmt[] = {"%p", "%20p|", "%-20p|", "%020p", "%.8p", "%+p", "% p",
                                       "%#p", "%5p"};
    /* clang-format on */
    static void *const pval[] = {NULL, (void *)1, (void *)0x1234, (void *)-1};
    for (size_t f = 0; f < ARRAY_LEN(pfmt); f++)
        for (size_t v = 0; v < ARRAY_LEN(pval); v++)
            CMP_FMT(pfmt[f], pval[v]);
    /* clang-format off */
    static const char *const lit[] = {"%%", "100%%", "%y", "%5y", "%-k|",
                                      "no conversions", ""};
    /* clang-format on */
    for (size_t f = 0; f < ARRAY_LEN(lit); f++)
        CMP_FMT(lit[f], 0);
    CHECK_EQ(hlt_snprintf(buf, sizeof(buf), "%5%|%-5%"), 3); /* as glibc: %% takes no width */
    CHECK_STREQ(buf, "%|%");
    int n = 77;
    CHECK_EQ(hlt_snprintf(buf, sizeof(buf), "a%nb", &n), 2); /* %n stores nothing */
    CHECK_STREQ(buf, "ab");
    CHECK_EQ(n, 77);
    CHECK_EQ(hlt_snprintf(buf, sizeof(buf), "%a|%d", 1.0, 5), 4); /* %a: printed as is */
    CHECK_STREQ(buf, "%a|5");
    CHECK_EQ(hlt_snprintf(buf, sizeof(buf), "ab%"), 3); /* a lone % at the end */
    CHECK_STREQ(buf, "ab%");
    CHECK_EQ(hlt_snprintf(buf, sizeof(buf), "%Lf", 1.5L), 8);
    CHECK_STREQ(buf, "1.500000");
}

/* clang-format off */
static const double dval[] = {
    0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.3, 0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 0.125, 0.375,
    0.625, 123.456, -123.456, 9.9999999, 99.995, 0.05, 0.15, 0.25, 0.35, 0.45, 1e-5, 1e-4,
    0.0001234, 123456.0, 1234567.0, 1e15, 1e16, 1e17, 1e21, 1e22, 1e23, 1e300, -1e300, 1e-300,
    1.7976931348623157e308, 2.2250738585072014e-308, 4.9406564584124654e-324, 1.5e-323,
    3.141592653589793, 2.718281828459045, 1.0 / 3, 2.0 / 3, 999999.5, 0.9999995, 9.5, 99.5,
    1e-7, 5e-7, 1e100, 123e-20, 2.675, 1.005, 9007199254740992.0, 18446744073709551616.0,
    0.000099999, 0.00009999949999, 999.9999, 99999.95, 1e-310, 65536.0, 1024.0009765625,
    NAN, -NAN, INFINITY, -INFINITY};
/* clang-format on */

TEST(test_snprintf_double)
{
    /* clang-format off */
    static const char *const dfmt[] = {
        "%f", "%.0f", "%.1f", "%.2f", "%.3f", "%.10f", "%.17f", "%.20f", "%.30f", "%#.0f",
        "%10.3f|", "%-10.3f|", "%010.3f", "%+f", "% f", "%+010.2f", "% 012.1f", "%F", "%e",
        "%.0e", "%.1e", "%.3e", "%.10e", "%.16e", "%.20e", "%#.0e", "%E", "%12.4e|", "%-12.4e|",
        "%012.4e", "%+e", "% .2e", "%g", "%.0g", "%.1g", "%.2g", "%.3g", "%.10g", "%.15g",
        "%.17g", "%.20g", "%G", "%10g|", "%-10g|", "%010g", "%+g",
        "% g", "%.40f", "%.60e", "%.350f", "%.1100f", "%.800e", "%.800g", "%#10.0f|",
        "%-+#12.0e|", "%5.3G", "%lf", "%.400g"};
    /* clang-format on */
    for (size_t f = 0; f < ARRAY_LEN(dfmt); f++)
        for (size_t v = 0; v < ARRAY_LEN(dval); v++)
            CMP_FMT(dfmt[f], dval[v]);
    CMP_FMT("%.0f %.0f %.0f %.0f %.2f %.3f", 0.5, 1.5, 2.5, 3.5, 0.125, 9.9999999);
}

/* %#.Pg as C11 defines it, built from glibc's %e and %f: glibc's own %#g loses the zeros when
 * rounding carries into a new power of ten (it prints 999.9999 as "1.e+03" under %#.3g). */
static void alt_g_oracle(char *out, size_t n, int prec, double x)
{
    int p = prec == 0 ? 1 : prec;
    char e[64];
    snprintf(e, sizeof(e), "%.*e", p - 1, x);
    const char *ep = strchr(e, 'e');
    int exp10 = ep ? atoi(ep + 1) : 0; /* no exponent: inf or nan, printed alike by %e and %g */
    if (!ep)
        snprintf(out, n, "%#g", x);
    else if (p > exp10 && exp10 >= -4)
        snprintf(out, n, "%#.*f", p - 1 - exp10, x);
    else
        snprintf(out, n, "%#.*e", p - 1, x);
}

static void check_alt_g(double x)
{
    static const int precs[] = {0, 1, 2, 3, 6, 10, 17, 20};
    for (size_t i = 0; i < ARRAY_LEN(precs); i++) {
        char got[512], want[512];
        hlt_snprintf(got, sizeof(got), "%#.*g", precs[i], x);
        alt_g_oracle(want, sizeof(want), precs[i], x);
        if (strcmp(got, want) != 0)
            hl_test_fail(__FILE__, __LINE__, "%%#.%dg of %.17g: got \"%s\", want \"%s\"", precs[i],
                         x, got, want);
    }
}

TEST(test_snprintf_alt_g)
{
    for (size_t v = 0; v < ARRAY_LEN(dval); v++)
        check_alt_g(dval[v]);
    for (int i = 0; i < 20000; i++) {
        check_alt_g(bits_to_double(rng()));
        check_alt_g((double)(int64_t)(rng() % 2000001 - 1000000) / 1000.0);
    }
    char buf[32];
    hlt_snprintf(buf, sizeof(buf), "%#.3g|%#g|%#.0g", 999.9999, 999999.5, 9.5);
    CHECK_STREQ(buf, "1.00e+03|1.00000e+06|1.e+01");
}

TEST(test_snprintf_double_random)
{
    /* clang-format off */
    static const char *const dfmt[] = {"%.17g", "%.20e", "%f", "%.0f", "%.3f", "%g", "%.15g",
                                       "%e", "%.0e", "%.1g", "%.25f"};
    /* clang-format on */
    for (int i = 0; i < 20000; i++) {
        double x = bits_to_double(rng());
        for (size_t f = 0; f < ARRAY_LEN(dfmt); f++)
            CMP_FMT(dfmt[f], x);
    }
    for (int i = 0; i < 50000; i++) { /* short decimals: many exact ties and near-ties */
        uint64_t r = rng();
        double x = (double)(int64_t)(r % 2000001 - 1000000) / (double)(1 << (r >> 40) % 12);
        double y = (double)(int64_t)(r % 200001 - 100000) / 1000.0;
        CMP_FMT("%.0f %.1f %.2f %.3f %.0e %.1e %.2g %.3g", x, x, x, x, x, x, x, x);
        CMP_FMT("%.0f %.1f %.2f %.3f %.0e %.1e %.2g %.3g", y, y, y, y, y, y, y, y);
    }
}

TEST(test_snprintf_truncation)
{
    char want[64], got[64];
    int wr = snprintf(want, sizeof(want), "%s-%d-%.3f|%5x", "abc", -12345, 2.71828, 255);
    for (size_t n = 0; n < 40; n++) {
        memset(got, '#', sizeof(got));
        int r = hlt_snprintf(n ? got : NULL, n, "%s-%d-%.3f|%5x", "abc", -12345, 2.71828, 255);
        CHECK_EQ(r, wr);
        if (n == 0)
            continue;
        size_t kept = n - 1 < (size_t)wr ? n - 1 : (size_t)wr;
        CHECK_MEMEQ(got, want, kept);
        CHECK_EQ(got[kept], '\0');
        for (size_t i = kept + 1; i < sizeof(got); i++)
            CHECK_EQ(got[i], '#');
    }
    CHECK_EQ(hlt_snprintf(NULL, 0, "%.3000f", 1.0), 3002);
}

static int via_vprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = hlt_vprintf(fmt, ap);
    va_end(ap);
    return r;
}

static int via_vsnprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = hlt_vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

TEST(test_printf_console)
{
    CHECK_EQ(hlt_printf("x=%d %s\n", 5, "ok"), 7);
    CHECK_STREQ(printed, "x=5 ok\n");
    CHECK_EQ(print_calls, 1);
    CHECK_EQ(via_vprintf("[%5.1f]", 2.25), 7);
    CHECK_EQ(hlt_puts("line"), 0);
    CHECK_EQ(hlt_putchar('!'), '!');
    CHECK_EQ(hlt_putchar(0x1ff), 0xff);
    CHECK_EQ(print_calls, 5);
    CHECK_MEMEQ(printed, "x=5 ok\n[  2.2]line\n!\xff", printed_len);
    CHECK_EQ(printed_len, 21);
    CHECK_EQ(hlt_printf("%s", ""), 0); /* nothing to send */
    CHECK_EQ(print_calls, 5);
    printed_len = 0;
    CHECK_EQ(hlt_printf("%5000d|", 1), 4000); /* cut off at 4000 bytes, sent in one piece */
    CHECK_EQ(printed_len, 4000);
    CHECK_EQ(print_calls, 6);
    char buf[16];
    CHECK_EQ(via_vsnprintf(buf, sizeof(buf), "%d-%s", 12, "ab"), 5);
    CHECK_STREQ(buf, "12-ab");
}

int main(int argc, char **argv)
{
    /* clang-format off */
    static const hl_test tests[] = {
        TEST_ENTRY(test_string_mem),     TEST_ENTRY(test_string_str),
        TEST_ENTRY(test_string_copy),    TEST_ENTRY(test_string_tok_dup),
        TEST_ENTRY(test_ctype),          TEST_ENTRY(test_math),
        TEST_ENTRY(test_malloc_basic),   TEST_ENTRY(test_malloc_stress),
        TEST_ENTRY(test_malloc_oom),     TEST_ENTRY(test_malloc_corrupt),
        TEST_ENTRY(test_malloc_touches_only_what_it_hands_out),
        TEST_ENTRY(test_strto),          TEST_ENTRY(test_qsort_bsearch),
        TEST_ENTRY(test_rand),           TEST_ENTRY(test_abort_assert),
        TEST_ENTRY(test_snprintf_int),   TEST_ENTRY(test_snprintf_str),
        TEST_ENTRY(test_snprintf_double), TEST_ENTRY(test_snprintf_double_random),
        TEST_ENTRY(test_snprintf_alt_g),
        TEST_ENTRY(test_snprintf_truncation), TEST_ENTRY(test_printf_console),
    };
    /* clang-format on */
    return hl_test_main(argc, argv, tests, ARRAY_LEN(tests));
}
