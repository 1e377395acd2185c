/* ctype.h: character classes for guests, ASCII only ("C" locale); c must be EOF or 0..255. */
#ifndef HLG_CTYPE_H
#define HLG_CTYPE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Each returns non-zero when c is in the class. Bytes 128..255 and EOF are in no class. */
int isalpha(int c);
int isdigit(int c);
int isalnum(int c);
int isspace(int c); /* ' ' \t \n \v \f \r */
int isupper(int c);
int islower(int c);
int isxdigit(int c);
int isprint(int c); /* 0x20..0x7e */
int ispunct(int c); /* isgraph but not isalnum */
int iscntrl(int c); /* 0x00..0x1f and 0x7f */
int isgraph(int c); /* 0x21..0x7e */

/* Map ASCII letters to the other case; return any other c unchanged. */
int toupper(int c);
int tolower(int c);

#ifdef __cplusplus
}
#endif
#endif
