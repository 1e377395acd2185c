/* ctype.c: ASCII character classes ("C" locale) for guests. */
#include <ctype.h>

static int in_range(int c, int lo, int hi)
{
    return c >= lo && c <= hi;
}

int isupper(int c)
{
    return in_range(c, 'A', 'Z');
}

int islower(int c)
{
    return in_range(c, 'a', 'z');
}

int isalpha(int c)
{
    return isupper(c) || islower(c);
}

int isdigit(int c)
{
    return in_range(c, '0', '9');
}

int isalnum(int c)
{
    return isalpha(c) || isdigit(c);
}

int isxdigit(int c)
{
    return isdigit(c) || in_range(c, 'a', 'f') || in_range(c, 'A', 'F');
}

int isspace(int c)
{
    return c == ' ' || in_range(c, '\t', '\r');
}

int isprint(int c)
{
    return in_range(c, 0x20, 0x7e);
}

int isgraph(int c)
{
    return in_range(c, 0x21, 0x7e);
}

int ispunct(int c)
{
    return isgraph(c) && !isalnum(c);
}

int iscntrl(int c)
{
    return in_range(c, 0x00, 0x1f) || c == 0x7f;
}

int toupper(int c)
{
    return islower(c) ? c - ('a' - 'A') : c;
}

int tolower(int c)
{
    return isupper(c) ? c + ('a' - 'A') : c;
}
