/* errno.h: the guest's single errno (guests are single-threaded) and the codes the libc sets. */
#ifndef HLG_ERRNO_H
#define HLG_ERRNO_H

/* Set by strto* (ERANGE, EINVAL), malloc/calloc/realloc/strdup (ENOMEM) and vsnprintf
 * (EOVERFLOW); never cleared by the library. The numbers match Linux. */
extern int errno;

#define ENOMEM 12
#define EINVAL 22
#define EDOM 33
#define ERANGE 34
#define EOVERFLOW 75

#endif
