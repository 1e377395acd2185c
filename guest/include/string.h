/* string.h: memory and string functions for guests (C11 semantics unless noted). */
#ifndef HLG_STRING_H
#define HLG_STRING_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Memory blocks. memcpy's ranges must not overlap; memmove's may. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);

/* Lengths and comparisons (bytes compared as unsigned char). */
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t maxlen);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
int strcasecmp(const char *a, const char *b);            /* ASCII case folding */
int strncasecmp(const char *a, const char *b, size_t n); /* ASCII case folding */

/* Copies. strncpy pads with NULs and does not terminate when src has n or more bytes. */
char *strcpy(char *restrict dst, const char *restrict src);
char *strncpy(char *restrict dst, const char *restrict src, size_t n);
char *strcat(char *restrict dst, const char *restrict src);
char *strncat(char *restrict dst, const char *restrict src, size_t n);

/* Searches. strstr is the simple O(len(hay) * len(needle)) scan. */
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
char *strstr(const char *hay, const char *needle);
size_t strspn(const char *s, const char *accept);
size_t strcspn(const char *s, const char *reject);

/* Tokenising. strtok keeps its position in a static variable; prefer strtok_r. */
char *strtok(char *restrict s, const char *restrict delim);
char *strtok_r(char *restrict s, const char *restrict delim, char **restrict save);

/* Copies into memory from malloc (the caller frees it); NULL with errno = ENOMEM when the heap
 * is exhausted. strndup copies at most n bytes and always terminates. */
char *strdup(const char *s);
char *strndup(const char *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
