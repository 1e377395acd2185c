/* peer_echo.c: the process-sandbox peer of hl-bench: a tiny static program doing the Echo work
 * (its argument out, to /dev/null) that hl-bench starts with fork+exec and with posix_spawn. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *text = argc > 1 ? argv[1] : "";
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    size_t n = strlen(text);
    int ok = write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
    close(fd);
    return ok ? 0 : 1;
}
