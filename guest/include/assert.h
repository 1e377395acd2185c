/* assert.h: assert() for guests: a failed assertion aborts the call with file and line. */
/* No include guard on purpose: C lets a translation unit re-include assert.h after changing
 * NDEBUG, and the new definition of assert must then take effect. */

/* Also declared in hyperlight/guest.h: aborts with HLG_ASSERT_CODE (134) and
 * "assertion failed: EXPR (FILE:LINE)". */
_Noreturn void hlg__assert_fail(const char *expr, const char *file, int line);

#undef assert
#ifdef NDEBUG
#define assert(e) ((void)0)
#else
#define assert(e) ((e) ? (void)0 : hlg__assert_fail(#e, __FILE__, __LINE__))
#endif

#ifndef static_assert
#define static_assert _Static_assert
#endif
