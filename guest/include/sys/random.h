/* sys/random.h: getrandom, as Linux declares it (newlib has no such header). The guest runtime
 * implements it over the CPU's RDRAND (guest/entropy.c); flags are accepted and ignored. */
#ifndef HLG_SYS_RANDOM_H
#define HLG_SYS_RANDOM_H

#include <sys/types.h>

#define GRND_NONBLOCK 0x01
#define GRND_RANDOM 0x02

ssize_t getrandom(void *buf, size_t n, unsigned flags);

#endif
