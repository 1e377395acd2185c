/* libc_rename.h: -include'd when the guest libc is built for the hosted unit test, so every public
 * libc symbol gets an hlt_ prefix and cannot clash with glibc. Keep in step with guest/include. */
#ifndef HLT_LIBC_RENAME_H
#define HLT_LIBC_RENAME_H

#define memcpy hlt_memcpy
#define memmove hlt_memmove
#define memset hlt_memset
#define memcmp hlt_memcmp
#define memchr hlt_memchr
#define strlen hlt_strlen
#define strnlen hlt_strnlen
#define strcmp hlt_strcmp
#define strncmp hlt_strncmp
#define strcasecmp hlt_strcasecmp
#define strncasecmp hlt_strncasecmp
#define strcpy hlt_strcpy
#define strncpy hlt_strncpy
#define strcat hlt_strcat
#define strncat hlt_strncat
#define strchr hlt_strchr
#define strrchr hlt_strrchr
#define strstr hlt_strstr
#define strspn hlt_strspn
#define strcspn hlt_strcspn
#define strtok hlt_strtok
#define strtok_r hlt_strtok_r
#define strdup hlt_strdup
#define strndup hlt_strndup
#define isalpha hlt_isalpha
#define isdigit hlt_isdigit
#define isalnum hlt_isalnum
#define isspace hlt_isspace
#define isupper hlt_isupper
#define islower hlt_islower
#define isxdigit hlt_isxdigit
#define isprint hlt_isprint
#define ispunct hlt_ispunct
#define iscntrl hlt_iscntrl
#define isgraph hlt_isgraph
#define toupper hlt_toupper
#define tolower hlt_tolower
#define fabs hlt_fabs
#define fabsf hlt_fabsf
#define copysign hlt_copysign
#define floor hlt_floor
#define floorf hlt_floorf
#define ceil hlt_ceil
#define ceilf hlt_ceilf
#define trunc hlt_trunc
#define truncf hlt_truncf
#define round hlt_round
#define roundf hlt_roundf
#define sqrt hlt_sqrt
#define sqrtf hlt_sqrtf
#define fmod hlt_fmod
#define malloc hlt_malloc
#define calloc hlt_calloc
#define realloc hlt_realloc
#define free hlt_free
#define atoi hlt_atoi
#define atol hlt_atol
#define strtol hlt_strtol
#define strtoul hlt_strtoul
#define strtoll hlt_strtoll
#define strtoull hlt_strtoull
#define abs hlt_abs
#define labs hlt_labs
#define llabs hlt_llabs
#define qsort hlt_qsort
#define bsearch hlt_bsearch
#define rand hlt_rand
#define srand hlt_srand
#define abort hlt_abort
#define errno hlt_errno
#define snprintf hlt_snprintf
#define vsnprintf hlt_vsnprintf
/* Function-like, so that __attribute__((format(printf, ...))) keeps naming the real printf. */
#define printf(...) hlt_printf(__VA_ARGS__)
#define vprintf hlt_vprintf
#define puts hlt_puts
#define putchar hlt_putchar

#endif
